// EmbeddedStore: the default, durable MetadataStore with no server — a Map in front of an append-only,
// fsync'd log file in the data directory (record format in log-format.ts).
//
// Writes: a mutation changes the Map at once (so it is atomic and ordered within the process) and queues
// its record; one flush loop appends every queued record with a single write + fdatasync and only then
// resolves their promises (group commit: all writers waiting in a batch share one fsync). Reads see the
// Map, so a value can be read before its writer's promise resolves. If a write or fsync fails, the Map
// may be ahead of the disk, so the store fails every later call with UNAVAILABLE until reopened.
//
// Open: take `<dir>/meta.lock`, replay `<dir>/meta.log`, cut off a torn tail, and compact when the log is
// several times the live data. The log is also compacted while running, between batches.
//
// Expiring keys (ttlMs) live in the Map only: their write logs a delete of the key instead, so that after a
// restart the key is absent rather than holding an older permanent value; compaction leaves them out.

import { mkdir, open as openFile, readFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InfaasError, unavailable } from '../../core/errors.ts';
import type { MetadataStore, SetOptions, StoreChange } from '../metadata-store.ts';
import { checkKey, closedError, decodeValue, encodeValue, listDecoded } from '../json-value.ts';
import { Expiry, ttlOf, Watchers } from '../local-keys.ts';
import { deleteRecord, recordSize, replay, setRecord } from './log-format.ts';
import { acquireDirLock, type DirLock } from './lock-file.ts';

export interface EmbeddedStoreOptions {
  /** Compact when the log is more than this many times the live data (default 4). */
  compactRatio?: number;
  /** ... and larger than this many bytes (default 1 MiB). */
  compactMinBytes?: number;
}

/** Counters for tests, benchmarks and the status page. */
export interface EmbeddedStoreStats {
  keys: number;
  logBytes: number;
  liveBytes: number;
  /** Batches written (each one write + one fdatasync). */
  fsyncs: number;
  compactions: number;
  /** Bytes cut off the log's tail at open (a torn write). */
  truncatedBytes: number;
  /** Intact records found after a bad one at open; they were saved to `meta.log.discarded-<time>`. */
  discardedRecords: number;
}

interface Waiter {
  record?: string;
  resolve: () => void;
  reject: (e: Error) => void;
}

const LOG = 'meta.log';

export class EmbeddedStore implements MetadataStore {
  private pending: Waiter[] = [];
  private flushing = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private failure: InfaasError | undefined;
  private readonly counters = { fsyncs: 0, compactions: 0 };
  private readonly expiry = new Expiry();
  private readonly watchers = new Watchers();

  private constructor(
    private readonly dir: string,
    private fh: FileHandle,
    private readonly lock: DirLock,
    private readonly data: Map<string, string>,
    private liveBytes: number,
    private logBytes: number,
    private readonly options: Required<EmbeddedStoreOptions>,
    private readonly recovered: { truncatedBytes: number; discardedRecords: number },
  ) {}

  /** Opens (creating if needed) the store in `dir`. Rejects with UNAVAILABLE if another live process holds it. */
  static async open(dir: string, options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    const opts: Required<EmbeddedStoreOptions> = { compactRatio: 4, compactMinBytes: 1 << 20, ...options };
    await mkdir(dir, { recursive: true });
    const lock = await acquireDirLock(dir);
    try {
      const path = join(dir, LOG);
      await unlink(`${path}.compact`).catch(() => undefined);
      const image = await readFile(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return Buffer.alloc(0);
        throw e;
      });
      const r = replay(image);
      const recovered = { truncatedBytes: image.length - r.validBytes, discardedRecords: r.discardedRecords };
      if (r.discardedRecords > 0) await writeFile(`${path}.discarded-${Date.now()}`, image.subarray(r.validBytes), { flush: true });
      if (recovered.truncatedBytes > 0) {
        await truncate(path, r.validBytes);
        await syncFile(path);
      }
      const fh = await openFile(path, 'a');
      if (image.length === 0) await syncFile(dir);
      const store = new EmbeddedStore(dir, fh, lock, r.data, r.liveBytes, r.validBytes, opts, recovered);
      try {
        if (store.shouldCompact()) await store.compact();
      } catch (e) {
        await store.fh.close().catch(() => undefined);
        throw e;
      }
      return store;
    } catch (e) {
      await lock.release().catch(() => undefined);
      throw e;
    }
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    this.check();
    checkKey(key);
    const text = this.current(key);
    return text === undefined ? undefined : decodeValue<T>(text);
  }

  async list<T = unknown>(prefix: string): Promise<Array<{ key: string; value: T }>> {
    this.check();
    for (const key of [...this.expiry.allExpired()]) this.apply(key, undefined);
    return listDecoded<T>(this.data, prefix);
  }

  async set(key: string, value: unknown, opts?: SetOptions): Promise<void> {
    this.check();
    checkKey(key);
    const text = encodeValue(key, value);
    await this.write(key, text, ttlOf(opts));
  }

  async setIfAbsent(key: string, value: unknown, opts?: SetOptions): Promise<boolean> {
    this.check();
    checkKey(key);
    const text = encodeValue(key, value);
    const ttl = ttlOf(opts);
    if (this.current(key) !== undefined) {
      await this.enqueue(); // the value we lost to may still be on its way to disk
      return false;
    }
    await this.write(key, text, ttl);
    return true;
  }

  async compareAndSet(key: string, expected: unknown, value: unknown, opts?: SetOptions): Promise<boolean> {
    this.check();
    checkKey(key);
    const want = expected === undefined ? undefined : encodeValue(key, expected);
    const text = value === undefined ? undefined : encodeValue(key, value);
    const ttl = ttlOf(opts);
    const current = this.current(key);
    if (current !== want || (current === undefined && text === undefined)) {
      await this.enqueue(); // the value we lost to (or found absent) may still be on its way to disk
      return current === want;
    }
    await this.write(key, text, ttl);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    this.check();
    checkKey(key);
    if (this.current(key) === undefined) {
      await this.enqueue(); // a concurrent delete of it may still be on its way to disk
      return false;
    }
    await this.write(key, undefined, undefined);
    return true;
  }

  watch(prefix: string, listener: (change: StoreChange) => void): () => void {
    return this.watchers.add(prefix, listener);
  }

  /** Waits for every call already made, then releases the log and the lock. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.enqueue().catch(() => undefined);
      await this.fh.close().catch(() => undefined);
      await this.lock.release();
    })();
    return this.closing;
  }

  stats(): EmbeddedStoreStats {
    return { keys: this.data.size, logBytes: this.logBytes, liveBytes: this.liveBytes, ...this.counters, ...this.recovered };
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw closedError();
  }

  /** The key's value text, or undefined when it is absent or has expired (then it is dropped from the Map). */
  private current(key: string): string | undefined {
    if (this.expiry.expired(key)) this.apply(key, undefined);
    return this.data.get(key);
  }

  /** Applies a mutation (text undefined: delete), tells the watchers, and resolves once it is durable. */
  private write(key: string, text: string | undefined, ttl: number | undefined): Promise<void> {
    this.apply(key, text, ttl);
    this.watchers.emit(text === undefined ? { type: 'delete', key } : { type: 'set', key, text });
    // An expiring key is not logged: its write logs a delete, so a restart finds it absent.
    return this.enqueue(text === undefined || ttl !== undefined ? deleteRecord(key) : setRecord(key, text));
  }

  /** Changes the Map; only permanent keys count as live data for compaction. */
  private apply(key: string, text: string | undefined, ttl?: number): void {
    const old = this.data.get(key);
    if (old !== undefined && !this.expiry.has(key)) this.liveBytes -= recordSize(key, old);
    if (text === undefined) {
      this.data.delete(key);
      this.expiry.clear(key);
    } else {
      this.data.set(key, text);
      this.expiry.set(key, ttl);
      if (ttl === undefined) this.liveBytes += recordSize(key, text);
    }
  }

  /** Queues a record (or, without one, a barrier) and resolves once it and everything before it is durable. */
  private enqueue(record?: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flushLoop()); // lets every write made in this tick join the batch
      }
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.writeBatch(batch);
        } catch (e) {
          this.failure ??= unavailable(`metadata log ${join(this.dir, LOG)} could not be written: ${(e as Error).message}`);
          for (const w of batch) w.reject(this.failure);
          continue;
        }
        for (const w of batch) w.resolve();
        if (!this.closed && this.shouldCompact()) await this.compact().catch(() => undefined);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async writeBatch(batch: Waiter[]): Promise<void> {
    if (this.failure) throw this.failure;
    const text = batch.map((w) => w.record ?? '').join('');
    if (text === '') return;
    const buf = Buffer.from(text, 'utf8');
    try {
      for (let off = 0; off < buf.length; ) off += (await this.fh.write(buf, off, buf.length - off)).bytesWritten;
      await this.fh.datasync();
    } catch (e) {
      await this.fh.truncate(this.logBytes).catch(() => undefined); // keep garbage out of the middle of the log
      throw e;
    }
    this.logBytes += buf.length;
    this.counters.fsyncs++;
  }

  private shouldCompact(): boolean {
    return this.logBytes > this.options.compactMinBytes && this.logBytes > this.options.compactRatio * this.liveBytes;
  }

  /**
   * Rewrites the live keys to `meta.log.compact`, fsyncs it and renames it over the log. Runs inside the
   * flush loop (or before the store is handed out), so no batch is written meanwhile. The Map may already
   * hold mutations whose records are still queued; they are appended after, and replaying them again is
   * harmless because every record is last-writer-wins.
   */
  private async compact(): Promise<void> {
    const path = join(this.dir, LOG);
    const temp = `${path}.compact`;
    const parts: string[] = [];
    for (const [key, text] of this.data) if (!this.expiry.has(key)) parts.push(setRecord(key, text));
    const buf = Buffer.from(parts.join(''), 'utf8');
    let next: FileHandle | undefined;
    try {
      await writeFile(temp, buf, { flush: true });
      next = await openFile(temp, 'a'); // the handle follows the file through the rename
      await rename(temp, path);
    } catch (e) {
      await next?.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw e;
    }
    const old = this.fh;
    this.fh = next;
    this.logBytes = buf.length;
    this.counters.compactions++;
    await old.close().catch(() => undefined);
    try {
      await syncFile(this.dir); // until the rename is durable, nothing written to the new file may be acknowledged
    } catch (e) {
      this.failure ??= unavailable(`metadata log ${path} could not be compacted: ${(e as Error).message}`);
      throw e;
    }
  }
}

/** fsyncs a file or directory by path. */
async function syncFile(path: string): Promise<void> {
  const fh = await openFile(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
