// S3Repository: the ModelRepository over an S3-compatible bucket, with a verified local cache for localPath.
//
// The object of key K is `PREFIX/K`. `put` records the SHA-256 of the bytes as object metadata
// (x-amz-meta-sha256). `localPath` HEADs the object for that hash and returns `<cacheDir>/sha256/<hash>` when
// the cache holds it; otherwise it downloads the object into the cache (ContentCache), checking the bytes
// against the recorded hash and the caller's expected one, and refetches a corrupt or cut-off download (up to
// `downloadAttempts` in all). Objects that other tools uploaded without the metadata are hashed as they download
// and their hash remembered per ETag. Concurrent calls for one object share one download. `get` checks the
// bytes against the recorded hash too. S3 errors become InfaasErrors in s3-errors.ts.

import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
  type GetObjectCommandOutput, type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { invalid, invalidModel, notFound, unavailable } from '../../core/errors.ts';
import { expectedSha256, registeredHashMismatch, type ExpectedContent, type ModelRepository } from '../model-repository.ts';
import { checkObjectKey, checkObjectPrefix, isSegment } from '../object-keys.ts';
import { ContentCache } from './content-cache.ts';
import { describePlace, isMissingObject, noSuchBucket, s3Failure } from './s3-errors.ts';
import type { S3RepositoryOptions } from './s3-options.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;

type Body = NonNullable<GetObjectCommandOutput['Body']>;

/** The S3 client for these options (also used by the test kit, so both talk to a server the same way). */
export function createS3Client(o: Pick<S3RepositoryOptions, 'endpoint' | 'region' | 'forcePathStyle' | 'credentials' | 'connectTimeoutMs' | 'idleTimeoutMs'>): S3Client {
  return new S3Client({
    region: o.region,
    forcePathStyle: o.forcePathStyle,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
    // Since SDK 3.729 uploads carry a CRC32 checksum by default (a streamed body goes as aws-chunked with the
    // checksum in a trailer) and downloads ask for one. Servers that predate these flexible checksums ignore
    // them at best; s3rver stores a streamed upload's chunk framing as the object's bytes. Checksums are sent
    // only where an operation requires one: model bytes are checked end to end with x-amz-meta-sha256.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: { connectionTimeout: o.connectTimeoutMs ?? 5000, socketTimeout: o.idleTimeoutMs ?? 60_000 },
  });
}

/**
 * A ModelRepository over `s3://bucket/prefix` (options usually from parseS3Url). Each instance keeps its own
 * client; several instances and processes may share one bucket and one cache directory. `close()` when done.
 */
export class S3Repository implements ModelRepository {
  readonly options: Readonly<S3RepositoryOptions>;
  /** The verified download cache under `options.cacheDir`. */
  readonly cache: ContentCache;
  readonly #client: S3Client;
  readonly #attempts: number;
  /** Downloads in progress, by object version and expected hash, so concurrent callers share one. */
  readonly #downloads = new Map<string, Promise<string>>();
  /** Hashes of downloaded objects that carry no sha256 metadata, by object version (key, ETag, size). */
  readonly #hashByVersion = new Map<string, string>();
  #bucketSeen = false;

  constructor(options: S3RepositoryOptions) {
    const prefix = options.prefix.replace(/^\/+|\/+$/g, '');
    if (prefix !== '' && !prefix.split('/').every(isSegment)) throw invalid(`invalid S3 key prefix '${options.prefix}': use [A-Za-z0-9._-] segments joined by '/', no '.' or '..'`);
    this.options = { ...options, prefix };
    this.cache = new ContentCache(options.cacheDir);
    this.#client = createS3Client(options);
    this.#attempts = Math.max(1, options.downloadAttempts ?? 3);
  }

  /** Closes the client's connections. */
  close(): void {
    this.#client.destroy();
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const Key = this.#objectKey(key);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const input = { Bucket: this.options.bucket, Key, Body: data, ContentLength: data.length, ContentType: 'application/octet-stream', Metadata: { sha256 } };
    await this.#call(`put '${key}'`, () => this.#client.send(new PutObjectCommand(input)));
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.#objectKey(key);
    const receive = async (body: Body, length?: number) => {
      const value = await body.transformToByteArray();
      if (length !== undefined && value.length !== length) throw new Error(`the download ended after ${value.length} of ${length} bytes`);
      return { value, sha256: createHash('sha256').update(value).digest('hex') };
    };
    return this.#fetch(key, Key, undefined, receive, async () => undefined);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.#head(key, this.#objectKey(key))) !== undefined;
  }

  async delete(key: string): Promise<boolean> {
    const Key = this.#objectKey(key);
    if (!(await this.#head(key, Key))) return false;
    await this.#call(`delete '${key}'`, () => this.#client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key })));
    return true;
  }

  async list(prefix: string): Promise<string[]> {
    checkObjectPrefix(prefix);
    const base = this.options.prefix ? `${this.options.prefix}/` : '';
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const input = { Bucket: this.options.bucket, Prefix: base + prefix, ContinuationToken: token, MaxKeys: this.options.listPageSize };
      const page = await this.#call(`list '${prefix}'`, () => this.#client.send(new ListObjectsV2Command(input)));
      for (const o of page.Contents ?? []) {
        const key = o.Key?.slice(base.length);
        if (key !== undefined && o.Key!.startsWith(base) && isKey(key)) keys.push(key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async localPath(key: string, expect?: ExpectedContent): Promise<string> {
    const Key = this.#objectKey(key);
    const expected = expectedSha256(expect);
    const head = await this.#head(key, Key);
    if (!head) throw missing(key);
    const version = `${Key}\0${head.ETag ?? ''}\0${head.ContentLength ?? ''}`;
    const known = recordedSha256(head.Metadata) ?? this.#hashByVersion.get(version);
    if (known !== undefined) {
      if (expected !== undefined && known !== expected) throw registeredHashMismatch(key, expected, known, `the object in ${this.#place()} was replaced or changed after it was registered`);
      const cached = await this.cache.lookup(known);
      if (cached) return cached;
    }
    const flight = `${version}\0${expected ?? ''}`;
    let download = this.#downloads.get(flight);
    if (!download) {
      download = this.#download(key, Key, expected, known === undefined ? version : undefined).finally(() => this.#downloads.delete(flight));
      this.#downloads.set(flight, download);
    }
    return download;
  }

  /** Downloads into the cache; `version`, for an object without recorded hash, remembers the hash found. */
  async #download(key: string, Key: string, expected: string | undefined, version: string | undefined): Promise<string> {
    const receive = async (body: Body, length?: number) => {
      const value = await this.cache.receive(body as Readable, length);
      return { value, sha256: value.sha256 };
    };
    const received = await this.#fetch(key, Key, expected, receive, (r) => this.cache.discard(r.temp));
    const path = await this.cache.publish(received);
    if (version !== undefined) this.#hashByVersion.set(version, received.sha256);
    return path;
  }

  /**
   * GETs the object until what `receive` got hashes to the object's recorded sha256 (when it has one) and to
   * `expected` (when given), up to the attempt limit. A cut-off or failed transfer, or bytes that match
   * neither, are discarded and fetched again; when the object itself holds other bytes than `expected`, or
   * every attempt got bytes that differ from its recorded hash, it rejects with INVALID_MODEL, and after
   * repeated transfer failures with UNAVAILABLE.
   */
  async #fetch<T>(key: string, Key: string, expected: string | undefined, receive: (body: Body, length?: number) => Promise<{ value: T; sha256: string }>, discard: (value: T) => Promise<void>): Promise<T> {
    const failures: string[] = [];
    let mismatches = 0;
    let lastHash = '';
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      const res = await this.#getObject(key, Key);
      const recorded = recordedSha256(res.Metadata);
      let got: { value: T; sha256: string };
      try {
        got = await receive(res.Body!, res.ContentLength);
      } catch (e) {
        failures.push(`attempt ${attempt}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      if ((recorded === undefined || got.sha256 === recorded) && (expected === undefined || got.sha256 === expected)) return got.value;
      await discard(got.value);
      if (recorded !== undefined && recorded === got.sha256) {
        throw registeredHashMismatch(key, expected!, got.sha256, `the object in ${this.#place()} was replaced or changed after it was registered`);
      }
      mismatches++;
      lastHash = got.sha256;
      failures.push(`attempt ${attempt}: the bytes received hash to ${got.sha256}, not ${recorded ?? expected}`);
    }
    const tries = `${this.#attempts} download${this.#attempts === 1 ? '' : 's'}`;
    if (mismatches === this.#attempts) {
      const why = `every one of ${tries} from ${this.#place()} got other bytes`;
      if (expected !== undefined) throw registeredHashMismatch(key, expected, lastHash, why);
      throw invalidModel(`repository object '${key}' does not match the sha256 recorded with it: ${why} (${failures.join('; ')})`, { key });
    }
    throw unavailable(`could not download repository object '${key}' from ${this.#place()} in ${tries}: ${failures.join('; ')}`, { key, bucket: this.options.bucket });
  }

  async #getObject(key: string, Key: string): Promise<GetObjectCommandOutput> {
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key }));
      this.#bucketSeen = true;
      return res;
    } catch (e) {
      if (isMissingObject(e)) throw missing(key);
      throw s3Failure(e, this.options, `get '${key}'`);
    }
  }

  /** HEADs the object; undefined when it does not exist (after making sure the bucket does). */
  async #head(key: string, Key: string): Promise<HeadObjectCommandOutput | undefined> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key }));
      this.#bucketSeen = true;
      return head;
    } catch (e) {
      if (!isMissingObject(e)) throw s3Failure(e, this.options, `look up '${key}'`);
    }
    if (!this.#bucketSeen) {
      try {
        await this.#client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
      } catch (e) {
        throw isMissingObject(e) ? noSuchBucket(this.options) : s3Failure(e, this.options, `look up the bucket`);
      }
      this.#bucketSeen = true;
    }
    return undefined;
  }

  /** Runs one S3 call, turning its failure into an InfaasError. */
  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      const out = await run();
      this.#bucketSeen = true;
      return out;
    } catch (e) {
      throw s3Failure(e, this.options, what);
    }
  }

  #objectKey(key: string): string {
    checkObjectKey(key);
    return this.options.prefix ? `${this.options.prefix}/${key}` : key;
  }

  #place(): string {
    return describePlace(this.options);
  }
}

/** The x-amz-meta-sha256 an object was stored with, if it is a well-formed hash. */
function recordedSha256(metadata: Record<string, string> | undefined): string | undefined {
  const v = metadata?.sha256?.toLowerCase();
  return v !== undefined && SHA256_HEX.test(v) ? v : undefined;
}

function isKey(key: string): boolean {
  try {
    checkObjectKey(key);
    return true;
  } catch {
    return false;
  }
}

const missing = (key: string) => notFound(`no object '${key}' in the model repository`, { key });
