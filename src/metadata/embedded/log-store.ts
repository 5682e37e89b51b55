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

import { mkdir, open as openFile, readFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InfaasError, unavailable } from '../../core/errors.ts';
import type { MetadataStore } from '../metadata-store.ts';
import { checkKey, closedError, decodeValue, encodeValue, listDecoded } from '../json-value.ts';
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
    const text = this.data.get(key);
    return text === undefined ? undefined : decodeValue<T>(text);
  }

  async list<T = unknown>(prefix: string): Promise<Array<{ key: string; value: T }>> {
    this.check();
    return listDecoded<T>(this.data, prefix);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.check();
    checkKey(key);
    const text = encodeValue(key, value);
    this.apply(key, text);
    await this.enqueue(setRecord(key, text));
  }

  async setIfAbsent(key: string, value: unknown): Promise<boolean> {
    this.check();
    checkKey(key);
    const text = encodeValue(key, value);
    if (this.data.has(key)) {
      await this.enqueue(); // the value we lost to may still be on its way to disk
      return false;
    }
    this.apply(key, text);
    await this.enqueue(setRecord(key, text));
    return true;
  }

  async delete(key: string): Promise<boolean> {
    this.check();
    checkKey(key);
    if (!this.data.has(key)) {
      await this.enqueue(); // a concurrent delete of it may still be on its way to disk
      return false;
    }
    this.apply(key, undefined);
    await this.enqueue(deleteRecord(key));
    return true;
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

  private apply(key: string, text: string | undefined): void {
    const old = this.data.get(key);
    if (old !== undefined) this.liveBytes -= recordSize(key, old);
    if (text === undefined) this.data.delete(key);
    else {
      this.data.set(key, text);
      this.liveBytes += recordSize(key, text);
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
    for (const [key, text] of this.data) parts.push(setRecord(key, text));
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
