// Tests parseS3Url: s3:// URLs and the AWS environment variables into S3RepositoryOptions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../../core/errors.ts';
import { parseS3Url } from './s3-options.ts';

const invalidWith = (message: RegExp) => (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_ARGUMENT' && message.test(e.message);

describe('parseS3Url', () => {
  it('reads bucket and prefix, with AWS defaults when the environment says nothing', () => {
    assert.deepEqual(parseS3Url('s3://models', {}, '/c'), { bucket: 'models', prefix: '', region: 'us-east-1', forcePathStyle: false, cacheDir: '/c' });
    assert.equal(parseS3Url('s3://models/', {}, '/c').prefix, '');
    assert.equal(parseS3Url('s3://my.models-1/zoo/v2/', {}, '/c').prefix, 'zoo/v2');
    assert.equal(parseS3Url('s3://b12/a..b/.x', {}, '/c').prefix, 'a..b/.x');
  });

  it('takes endpoint, region and credentials from the environment, and forces path style for a custom endpoint', () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9000/', AWS_DEFAULT_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK', AWS_SESSION_TOKEN: 'ST' };
    assert.deepEqual(parseS3Url('s3://bkt/p', env, '/c'), {
      bucket: 'bkt', prefix: 'p', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', forcePathStyle: true, credentials: { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'ST' }, cacheDir: '/c',
    });
    const o = parseS3Url('s3://bkt', { AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_S3: 'https://s3.example.com', AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'eu-west-3' }, '/c');
    assert.equal(o.endpoint, 'https://s3.example.com');
    assert.equal(o.region, 'ap-south-1');
    assert.equal(o.credentials, undefined, 'no keys: the SDK default chain');
    assert.equal(parseS3Url('s3://bkt', { INFAAS_S3_FORCE_PATH_STYLE: 'true' }, '/c').forcePathStyle, true);
    assert.equal(parseS3Url('s3://bkt', { INFAAS_S3_FORCE_PATH_STYLE: 'false' }, '/c').forcePathStyle, false);
  });

  it('rejects bad URLs, bucket names, prefixes and settings with INVALID_ARGUMENT saying why', () => {
    for (const url of ['models', 'http://b/x', 's3:/b', 's3://b/x?y=1', '']) assert.throws(() => parseS3Url(url, {}, '/c'), invalidWith(/expected s3:\/\/BUCKET/), url);
    for (const url of ['s3://', 's3://ab', 's3://Upper', 's3://under_score', 's3://-lead', 's3://trail-', `s3://${'a'.repeat(64)}`]) {
      assert.throws(() => parseS3Url(url, {}, '/c'), invalidWith(/bucket .*3 to 63 characters/), url);
    }
    assert.throws(() => parseS3Url('s3://a..b', {}, '/c'), invalidWith(/may not contain '\.\.'/));
    assert.throws(() => parseS3Url('s3://192.168.1.1', {}, '/c'), invalidWith(/IP address/));
    for (const url of ['s3://bkt/../x', 's3://bkt/a/./b', 's3://bkt/a/..']) assert.throws(() => parseS3Url(url, {}, '/c'), invalidWith(/prefix may not contain '\.' or '\.\.'/), url);
    for (const url of ['s3://bkt/a//b', 's3://bkt/sp ace', 's3://bkt/é']) assert.throws(() => parseS3Url(url, {}, '/c'), invalidWith(/prefix must be/), url);
    assert.throws(() => parseS3Url('s3://bkt', { AWS_ENDPOINT_URL: 'localhost:9000' }, '/c'), invalidWith(/AWS_ENDPOINT_URL 'localhost:9000' must be an http/));
    assert.throws(() => parseS3Url('s3://bkt', { AWS_ENDPOINT_URL_S3: 'not a url' }, '/c'), invalidWith(/AWS_ENDPOINT_URL_S3 .* is not a URL/));
    assert.throws(() => parseS3Url('s3://bkt', { AWS_ACCESS_KEY_ID: 'AK' }, '/c'), invalidWith(/both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/));
    assert.throws(() => parseS3Url('s3://bkt', { INFAAS_S3_FORCE_PATH_STYLE: 'yes' }, '/c'), invalidWith(/INFAAS_S3_FORCE_PATH_STYLE/));
  });
});
