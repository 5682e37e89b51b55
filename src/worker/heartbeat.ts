// A worker's heartbeat in distributed mode: writes its WorkerRecord to the metadata store every interval with
// an expiry of a few intervals, so controllers find it and a worker that dies vanishes from the store by itself.
// A failed write (the store is down) is logged once per outage and retried at the next beat.

import { keys, type MetadataStore } from '../metadata/metadata-store.ts';
import type { WorkerRecord } from '../protocol/worker-record.ts';

export interface HeartbeatOptions {
  store: MetadataStore;
  /** The record to write now. */
  record: () => WorkerRecord;
  /** Beat period, ms (default 1000). */
  intervalMs?: number;
  /** Expiry of each write, ms (default 5000). */
  ttlMs?: number;
  log?: (line: string) => void;
}

export class WorkerHeartbeat {
  readonly #o: HeartbeatOptions;
  #timer?: NodeJS.Timeout;
  #beating?: Promise<void>;
  #failing = false;
  #stopped = false;

  constructor(opts: HeartbeatOptions) {
    this.#o = opts;
  }

  /** Writes the first beat (rejects when the store cannot be reached), then beats every interval. */
  async start(): Promise<void> {
    await this.#write();
    this.#timer = setInterval(() => void this.beat(), this.#o.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** One beat now (never overlapping another); never rejects. */
  beat(): Promise<void> {
    this.#beating ??= this.#write()
      .then(() => {
        if (this.#failing) this.#o.log?.('heartbeat: the metadata store is reachable again');
        this.#failing = false;
      })
      .catch((e: Error) => {
        if (!this.#failing) this.#o.log?.(`heartbeat: could not write to the metadata store (${e.message}); retrying every beat`);
        this.#failing = true;
      })
      .finally(() => (this.#beating = undefined));
    return this.#beating;
  }

  /** Stops beating and removes the record (best effort), so controllers stop using the worker at once. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#beating;
    await this.#o.store.delete(keys.worker(this.#o.record().id)).catch(() => undefined);
  }

  async #write(): Promise<void> {
    if (this.#stopped) return;
    const r = this.#o.record();
    await this.#o.store.set(keys.worker(r.id), r, { ttlMs: this.#o.ttlMs ?? 5000 });
  }
}
