// Test kit: a real S3-compatible server (s3rver, in a child process) on a free loopback port over a temp
// directory, and a proxy in front of it that counts requests and spoils downloads on demand.

import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../repository/s3/s3-repository.ts';
import type { S3Credentials } from '../repository/s3/s3-options.ts';

export interface StartS3Options {
  /** Buckets to create before the server answers. */
  buckets?: string[];
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
}

/** A running server: point an S3 client at `endpoint` (path-style) with `credentials` and `region`. */
export interface S3TestServer {
  endpoint: string;
  port: number;
  region: string;
  credentials: S3Credentials;
  /** The directory s3rver keeps its buckets in (removed by stop); `<directory>/<bucket>/<key>._S3rver_object`. */
  directory: string;
  /** Creates a bucket through the S3 API; with no name, a fresh random one. Returns its name. */
  createBucket(name?: string): Promise<string>;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** What the proxy does to one object GET: pass it, flip a byte of the body, or cut the body short mid-way. */
export type GetFault = 'flip-byte' | 'truncate' | undefined;

/** A proxy in front of a test server that counts requests and spoils object downloads on demand. */
export interface S3Proxy {
  /** Point path-style S3 clients here instead of at the server. */
  endpoint: string;
  /** Object GETs (downloads, not listings) so far. */
  objectGets: number;
  /** Bucket listings (GET on a bucket) so far. */
  listings: number;
  /** Decides what happens to the n-th object GET (1-based); passes everything by default. */
  fault: (n: number, path: string) => GetFault;
  stop(): Promise<void>;
}

/** A fresh, valid bucket name. */
export const randomBucketName = (): string => `infaas-${randomBytes(6).toString('hex')}`;

/**
 * Starts s3rver (s3rver-child.ts) on 127.0.0.1 (or `host`), port chosen by the system; resolves once it listens. It runs in
 * a child process with OpenSSL's legacy provider, which its ListObjectsV2 continuation tokens need.
 */
export async function startS3(opts: StartS3Options = {}): Promise<S3TestServer> {
  // The SDK warns once per process that its 2027 releases will need Node 22; in test output that is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const base = await mkdtemp(join(tmpdir(), 'infaas-s3rver-'));
  const directory = join(base, 'data');
  const child = fork(fileURLToPath(new URL('./s3rver-child.ts', import.meta.url)), [base, ...(opts.buckets ?? [])], {
    execArgv: ['--openssl-legacy-provider', '--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, INFAAS_S3RVER_HOST: opts.host ?? '127.0.0.1' },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port));
      child.once('error', reject);
      void exited.then((code) => reject(new Error(`s3rver exited with code ${code} before it listened`)));
    });
  } catch (e) {
    child.kill();
    await rm(base, { recursive: true, force: true });
    throw e;
  }
  // A forgotten stop() must not keep the test process alive; the child exits when its parent does.
  child.unref();
  child.channel?.unref();
  const endpoint = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const region = 'us-east-1';
  const client = createS3Client({ endpoint, region, forcePathStyle: true, credentials });
  return {
    endpoint,
    port,
    region,
    credentials,
    directory,
    async createBucket(name = randomBucketName()) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      client.destroy();
      if (child.connected) child.send('stop');
      child.ref();
      await exited;
      await rm(base, { recursive: true, force: true });
    },
  };
}

/**
 * Starts an HTTP proxy on a free loopback port that forwards every request to `target` unchanged (the Host
 * header too, so signatures still match) and applies `fault` to successful object GETs.
 */
export async function startS3Proxy(target: Pick<S3TestServer, 'port'>): Promise<S3Proxy> {
  const proxy: S3Proxy = { endpoint: '', objectGets: 0, listings: 0, fault: () => undefined, stop: async () => undefined };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const objectGet = req.method === 'GET' && /^\/[^/]+\/./.test(path);
    if (req.method === 'GET' && !objectGet) proxy.listings++;
    const fault = objectGet ? proxy.fault(++proxy.objectGets, path) : undefined;
    const upstream = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      if (!fault || up.statusCode !== 200) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => spoil(res, up.headers, Buffer.concat(chunks), fault));
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = async () => {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  };
  return proxy;
}

function spoil(res: ServerResponse, headers: IncomingHttpHeaders, body: Buffer, fault: NonNullable<GetFault>): void {
  res.writeHead(200, headers);
  if (fault === 'flip-byte') {
    if (body.length > 0) body[body.length >> 1] ^= 0xff;
    res.end(body);
  } else {
    res.write(body.subarray(0, body.length >> 1), () => res.destroy());
  }
}
