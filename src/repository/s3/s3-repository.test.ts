// Runs the shared ModelRepository conformance suite against S3Repository on a real S3-compatible server
// (s3rver), plus S3 specifics: verified downloads through a proxy that spoils responses, the cache, listing
// pages, prefixes, objects uploaded by other tools, and the errors of an unreachable or misconfigured server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { InfaasError } from '../../core/errors.ts';
import { startS3, startS3Proxy, type S3Proxy, type S3TestServer } from '../../testing/s3-server.ts';
import { runModelRepositoryConformance } from '../conformance.ts';
import type { S3RepositoryOptions } from './s3-options.ts';
import { createS3Client, S3Repository } from './s3-repository.ts';

let s3: S3TestServer;
let proxy: S3Proxy;
let scratch: string;
const repos: S3Repository[] = [];
before(async () => {
  s3 = await startS3();
  proxy = await startS3Proxy(s3);
  scratch = await mkdtemp(join(tmpdir(), 'infaas-s3-test-'));
});
after(async () => {
  for (const r of repos) r.close();
  await proxy.stop();
  await s3.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** A repository over `bucket` (through the proxy unless told otherwise), with its own cache directory. */
function repoOn(bucket: string, o: Partial<S3RepositoryOptions> = {}): S3Repository {
  const r = new S3Repository({ bucket, prefix: 'models/v1', endpoint: proxy.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials, cacheDir: join(scratch, `cache-${repos.length}`), ...o });
  repos.push(r);
  return r;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const isCode = (code: string, message?: RegExp) => (e: unknown) => e instanceof InfaasError && e.code === code && (!message || message.test(e.message));
const blob = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 7 + seed) & 0xff);
const cacheEntries = async (r: S3Repository) => [...(await readdir(join(r.cache.dir, 'sha256')).catch(() => [])), ...(await readdir(join(r.cache.dir, 'incoming')).catch(() => []))];
/** Reset the proxy's counters and faults. */
const resetProxy = () => Object.assign(proxy, { objectGets: 0, listings: 0, fault: () => undefined });

runModelRepositoryConformance('S3Repository on s3rver', async () => {
  const bucket = await s3.createBucket();
  const dir = await mkdtemp(join(scratch, 'conformance-'));
  const opts = { endpoint: s3.endpoint, cacheDir: join(dir, 'a') };
  return { repo: repoOn(bucket, opts), reopen: async () => repoOn(bucket, { ...opts, cacheDir: join(dir, 'b') }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('S3Repository downloads', () => {
  it('fetches a corrupt or cut-off download again and returns a file with the right bytes', async () => {
    const repo = repoOn(await s3.createBucket());
    const data = blob(300_000, 1);
    await repo.put('net.onnx', data);
    for (const fault of ['flip-byte', 'truncate'] as const) {
      await rm(repo.cache.dir, { recursive: true, force: true });
      resetProxy();
      proxy.fault = (n) => (n === 1 ? fault : undefined);
      const path = await repo.localPath('net.onnx', { sha256: sha256(data) });
      assert.ok((await readFile(path)).equals(data), fault);
      assert.equal(proxy.objectGets, 2, fault);
    }
    resetProxy();
    proxy.fault = (n) => (n === 1 ? 'flip-byte' : undefined);
    assert.ok(Buffer.from(await repo.get('net.onnx')).equals(data), 'get checks the recorded hash too');
    assert.equal(proxy.objectGets, 2);
    resetProxy();
  });

  it('rejects when every download is spoilt, leaving nothing in the cache', async () => {
    const repo = repoOn(await s3.createBucket());
    const data = blob(100_000, 2);
    await repo.put('net.onnx', data);
    const cases = [['flip-byte', 'INVALID_MODEL', /every one of 3 downloads/], ['truncate', 'UNAVAILABLE', /could not download .* in 3 downloads/]] as const;
    for (const [fault, code, message] of cases) {
      resetProxy();
      proxy.fault = () => fault;
      await assert.rejects(repo.localPath('net.onnx'), isCode(code, message), fault);
      await assert.rejects(repo.localPath('net.onnx', { sha256: sha256(data) }), isCode(code), fault);
      assert.equal(proxy.objectGets, 6, fault);
      assert.deepEqual(await cacheEntries(repo), [], fault);
    }
    resetProxy();
  });

  it('serves a cached object with no GET, shares one download among concurrent callers, and rejects a replaced object', async () => {
    const bucket = await s3.createBucket();
    const repo = repoOn(bucket);
    const data = blob(200_000, 3);
    await repo.put('a/net.onnx', data);
    resetProxy();
    const paths = await Promise.all(Array.from({ length: 5 }, () => repo.localPath('a/net.onnx', { sha256: sha256(data) })));
    assert.equal(new Set(paths).size, 1);
    assert.equal(paths[0], join(repo.cache.dir, 'sha256', sha256(data)));
    assert.equal(proxy.objectGets, 1);
    assert.equal(await repo.localPath('a/net.onnx'), paths[0]);
    assert.equal(await repoOn(bucket, { cacheDir: repo.cache.dir }).localPath('a/net.onnx'), paths[0], 'another instance over the same cache');
    assert.equal(proxy.objectGets, 1);

    await repo.put('a/net.onnx', blob(10, 4));
    await assert.rejects(repo.localPath('a/net.onnx', { sha256: sha256(data) }), isCode('INVALID_MODEL', /does not match the registered hash/));
    assert.equal(proxy.objectGets, 1, 'the recorded hash already says the object changed');
  });

  it('notices bytes changed on the server behind the repository, and caches nothing', async () => {
    const bucket = await s3.createBucket();
    const repo = repoOn(bucket);
    const data = blob(1000, 5);
    await repo.put('x.onnx', data);
    await writeFile(join(s3.directory, bucket, 'models', 'v1', 'x.onnx._S3rver_object'), blob(1000, 6));
    await assert.rejects(repo.localPath('x.onnx', { sha256: sha256(data) }), isCode('INVALID_MODEL', /does not match the registered hash/));
    await assert.rejects(repo.localPath('x.onnx'), isCode('INVALID_MODEL', /does not match the sha256 recorded with it/));
    await assert.rejects(repo.get('x.onnx'), isCode('INVALID_MODEL'));
    assert.deepEqual(await cacheEntries(repo), []);
  });

  it('hashes objects uploaded without sha256 metadata as they download, and checks them against the expected hash', async () => {
    const bucket = await s3.createBucket();
    const repo = repoOn(bucket);
    const data = blob(5000, 7);
    const other = createS3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials });
    await other.send(new PutObjectCommand({ Bucket: bucket, Key: 'models/v1/foreign.onnx', Body: data }));
    other.destroy();
    resetProxy();
    proxy.fault = (n) => (n === 1 ? 'flip-byte' : undefined);
    const path = await repo.localPath('foreign.onnx', { sha256: sha256(data) });
    assert.equal(path, join(repo.cache.dir, 'sha256', sha256(data)));
    assert.ok((await readFile(path)).equals(data));
    assert.equal(proxy.objectGets, 2);
    assert.equal(await repo.localPath('foreign.onnx'), path, 'the hash is remembered for this version of the object');
    assert.equal(proxy.objectGets, 2);
    await assert.rejects(repo.localPath('foreign.onnx', { sha256: sha256(blob(1, 0)) }), isCode('INVALID_MODEL', /does not match the registered hash/));
    resetProxy();
  });
});

describe('S3Repository keys and listing', () => {
  it('keeps objects under its prefix and lists across pages', async () => {
    const bucket = await s3.createBucket();
    const repo = repoOn(bucket, { listPageSize: 2 });
    const root = repoOn(bucket, { prefix: '' });
    await root.put('outside', new Uint8Array([1]));
    await root.put('models/v10/near', new Uint8Array([1]));
    // s3rver pages in its directory-walk order, which differs from key order where '-' or '.' sits next to
    // a '/'; S3 pages in key order. These keys are in the same order both ways.
    const keys = ['k0', 'k1', 'k2', 's/k3', 's/k4', 's/t/k5', 'z'];
    for (const k of keys) await repo.put(k, new Uint8Array([2]));
    resetProxy();
    assert.deepEqual(await repo.list(''), keys);
    assert.equal(proxy.listings, 4);
    assert.deepEqual(await repo.list('s/'), ['s/k3', 's/k4', 's/t/k5']);
    assert.deepEqual(await root.list('models/'), [...keys.map((k) => `models/v1/${k}`), 'models/v10/near']);
    assert.equal(await repo.exists('outside'), false);
    assert.throws(() => repoOn(bucket, { prefix: 'a/../b' }), isCode('INVALID_ARGUMENT'));
  });
});

describe('S3Repository errors', () => {
  it('reports an unreachable endpoint as UNAVAILABLE, quickly, naming endpoint and bucket', async () => {
    const port = await closedPort();
    const repo = repoOn('some-bucket', { endpoint: `http://127.0.0.1:${port}` });
    const started = Date.now();
    const unreachable = isCode('UNAVAILABLE', new RegExp(`unreachable .*127\\.0\\.0\\.1:${port}.*some-bucket`));
    await assert.rejects(repo.get('m.onnx'), unreachable);
    await assert.rejects(repo.localPath('m.onnx'), unreachable);
    await assert.rejects(repo.list(''), unreachable);
    await assert.rejects(repo.put('m.onnx', new Uint8Array(1)), unreachable);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  it('reports a missing bucket and refused credentials as UNAVAILABLE with what to fix', async () => {
    const gone = repoOn('no-such-bucket-here');
    const noBucket = isCode('UNAVAILABLE', /bucket 'no-such-bucket-here' does not exist/);
    for (const op of [() => gone.exists('k'), () => gone.get('k'), () => gone.localPath('k'), () => gone.list(''), () => gone.put('k', new Uint8Array(1)), () => gone.delete('k')]) {
      await assert.rejects(op(), noBucket);
    }
    const bucket = await s3.createBucket();
    const denied = repoOn(bucket, { credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' } });
    const refused = isCode('UNAVAILABLE', /check the credentials/);
    for (const op of [() => denied.exists('k'), () => denied.get('k'), () => denied.list(''), () => denied.put('k', new Uint8Array(1))]) await assert.rejects(op(), refused);
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
