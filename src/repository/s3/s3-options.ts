// S3RepositoryOptions and parseS3Url: an `s3://BUCKET[/PREFIX]` URL plus the standard AWS environment variables.

import { invalid } from '../../core/errors.ts';
import { isSegment } from '../object-keys.ts';

/** Static credentials; without them the SDK's default chain (profiles, SSO, instance roles…) is used. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Everything an S3Repository needs. `parseS3Url` builds it from a URL and the environment. */
export interface S3RepositoryOptions {
  bucket: string;
  /** Key prefix with no leading or trailing '/', '' for the bucket root; the object of key K is `PREFIX/K`. */
  prefix: string;
  /** Custom endpoint of an S3-compatible server (MinIO, Ceph, s3rver…); absent = AWS itself. */
  endpoint?: string;
  region: string;
  /** Address the bucket in the path (`endpoint/bucket/key`) instead of the host name (`bucket.endpoint/key`). */
  forcePathStyle: boolean;
  credentials?: S3Credentials;
  /** Where downloaded objects are cached, as `<cacheDir>/sha256/<hash>` (created when needed). */
  cacheDir: string;
  /** Keys per ListObjectsV2 page, 1..1000 (default 1000). */
  listPageSize?: number;
  /** Downloads of one object before `localPath` gives up (default 3). */
  downloadAttempts?: number;
  /** Milliseconds to establish a connection before the attempt fails (default 5000). */
  connectTimeoutMs?: number;
  /** Milliseconds a connection may stay silent mid-request before it is dropped (default 60000). */
  idleTimeoutMs?: number;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS = /^\d+\.\d+\.\d+\.\d+$/;

/**
 * Parses `s3://BUCKET[/PREFIX]` and the AWS environment: endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL,
 * region from AWS_REGION or AWS_DEFAULT_REGION (default us-east-1), static credentials from AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Path-style addressing is used with a custom endpoint (most
 * S3-compatible servers have no per-bucket host names) or when INFAAS_S3_FORCE_PATH_STYLE=true. Rejects a bad
 * URL or setting with INVALID_ARGUMENT.
 */
export function parseS3Url(url: string, env: NodeJS.ProcessEnv, cacheDir: string): S3RepositoryOptions {
  const m = /^s3:\/\/([^/?#]*)(?:\/([^?#]*))?$/.exec(url);
  if (!m) throw invalid(`invalid S3 repository URL '${url}': expected s3://BUCKET or s3://BUCKET/PREFIX`, { url });
  const bucket = m[1];
  checkBucketName(bucket, url);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '') {
    for (const seg of prefix.split('/')) {
      if (seg === '.' || seg === '..') throw invalid(`invalid S3 repository URL '${url}': the prefix may not contain '.' or '..' segments`, { url });
      if (!isSegment(seg)) throw invalid(`invalid S3 repository URL '${url}': the prefix must be [A-Za-z0-9._-] segments joined by '/'`, { url });
    }
  }
  const endpoint = parseEndpoint(env);
  const forceVar = env.INFAAS_S3_FORCE_PATH_STYLE ?? '';
  if (!['', 'true', 'false'].includes(forceVar)) throw invalid(`INFAAS_S3_FORCE_PATH_STYLE must be 'true' or 'false', not '${forceVar}'`);
  return {
    bucket,
    prefix,
    ...(endpoint ? { endpoint } : {}),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: endpoint !== undefined || forceVar === 'true',
    ...credentialsFrom(env),
    cacheDir,
  };
}

/** S3's bucket naming rules (3–63 of a–z 0–9 . -, letter or digit at both ends, no '..', not an IP address). */
export function checkBucketName(bucket: string, url = `s3://${bucket}`): void {
  const why =
    !BUCKET.test(bucket) ? 'a bucket name is 3 to 63 characters of a-z, 0-9, \'.\' and \'-\', starting and ending with a letter or digit'
    : bucket.includes('..') ? "a bucket name may not contain '..'"
    : IP_ADDRESS.test(bucket) ? 'a bucket name may not look like an IP address'
    : bucket.startsWith('xn--') || bucket.endsWith('-s3alias') ? "a bucket name may not start with 'xn--' or end with '-s3alias'"
    : undefined;
  if (why) throw invalid(`invalid S3 repository URL '${url}': bucket '${bucket}': ${why}`, { url, bucket });
}

function parseEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  const name = env.AWS_ENDPOINT_URL_S3 ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  const raw = env[name];
  if (!raw) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw invalid(`${name} '${raw}' is not a URL (expected e.g. http://127.0.0.1:9000)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalid(`${name} '${raw}' must be an http:// or https:// URL`);
  return raw.replace(/\/+$/, '');
}

function credentialsFrom(env: NodeJS.ProcessEnv): { credentials?: S3Credentials } {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId && !secretAccessKey) return {};
  if (!accessKeyId || !secretAccessKey) throw invalid('set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (to use the default credential chain)');
  return { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } };
}
