// The child process of startS3 (s3-server.ts): runs s3rver on a free loopback port and reports the port over IPC.
//
// It runs in its own process because s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with single DES,
// which OpenSSL 3 (Node ≥ 17) only offers through its legacy provider: startS3 starts this process with
// --openssl-legacy-provider, which the test runner's own process has no reason to carry.
//
// s3rver also writes an uploaded object over the old file in place and answers the PUT before the bytes are
// on disk, so a GET during or just after a PUT can see a mix or a cut-off body. S3 replaces an object
// atomically, and the ModelRepository contract relies on that, so `makeAtomic` replaces the store's object
// writes with write-to-temp + rename, committed (with the metadata) under a lock that GET and HEAD also take
// while they open the file. Everything else (HTTP, signatures, XML, listing) is s3rver's own.
//
// Environment: INFAAS_S3RVER_HOST, the address to listen on (default 127.0.0.1).
// argv: BASE [BUCKET...]; s3rver keeps buckets in BASE/data, uploads land in BASE/incoming. Messages out:
// { port } once listening. In: 'stop'. On 'stop', or when the parent goes away, it removes BASE and exits.

import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The parts of s3rver 3.x (a CommonJS module without types) used here. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
  store: FilesystemStore;
}
interface S3rverObject {
  bucket: string;
  key: string;
  content: Readable | Buffer;
  metadata: Record<string, string>;
}
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  getObject(bucket: string, key: string, options?: unknown): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** Makes the store's PUT atomic and complete before it answers (see the top of this file). */
function makeAtomic(store: FilesystemStore, incoming: string): void {
  let lock: Promise<unknown> = Promise.resolve();
  const locked = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lock.then(fn, fn);
    lock = run.catch(() => undefined);
    return run;
  };
  const { getObject, deleteObject } = store;
  store.putObject = async (object) => {
    await mkdir(incoming, { recursive: true });
    const temp = join(incoming, randomBytes(8).toString('hex'));
    const md5 = createHash('md5');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(content, count, createWriteStream(temp));
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    const digest = md5.digest('hex');
    const path = store.getResourcePath(object.bucket, object.key, 'object');
    await locked(async () => {
      await mkdir(dirname(path), { recursive: true });
      await rename(temp, path);
      await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    });
    return { size, md5: digest };
  };
  store.getObject = (bucket, key, options) => locked(() => getObject.call(store, bucket, key, options));
  store.deleteObject = (bucket, key) => locked(() => deleteObject.call(store, bucket, key));
}

async function main(): Promise<void> {
  const [base, ...buckets] = process.argv.slice(2);
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const server = new S3rver({ address: process.env.INFAAS_S3RVER_HOST || '127.0.0.1', port: 0, silent: true, directory: join(base, 'data'), configureBuckets: buckets.map((name) => ({ name })) });
  makeAtomic(server.store, join(base, 'incoming'));
  const { port } = await server.run();
  const stop = async () => {
    const closed = server.close();
    server.httpServer?.closeAllConnections();
    await closed;
    await rm(base, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('message', (m) => void (m === 'stop' && stop()));
  process.on('disconnect', () => void stop());
  process.send!({ port });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
