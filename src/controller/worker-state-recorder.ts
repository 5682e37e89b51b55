// Keeps the workers' latest status in the metadata store (at most once per interval), so operators and other
// controllers can see the fleet, and a restarted controller knows what ran before it stopped.

import type { WorkerStatus } from '../core/types.ts';
import { keys, type MetadataStore } from '../metadata/metadata-store.ts';

export class WorkerStateRecorder {
  readonly #store: MetadataStore;
  readonly #intervalMs: number;
  #latest: WorkerStatus[] | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(store: MetadataStore, intervalMs = 1000) {
    this.#store = store;
    this.#intervalMs = intervalMs;
  }

  /** Notes a snapshot; it is written within the interval. */
  record(snapshot: WorkerStatus[]): void {
    if (this.#closed) return;
    this.#latest = snapshot;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#writing = this.#writing.then(() => this.#flush()).catch(() => undefined);
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Workers recorded by an earlier run of the controller. */
  async previous(): Promise<WorkerStatus[]> {
    return (await this.#store.list<WorkerStatus>(keys.workerPrefix)).map((e) => e.value);
  }

  /** Writes the last snapshot now and stops recording. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    await this.#flush();
  }

  async #flush(): Promise<void> {
    const snap = this.#latest;
    if (!snap) return;
    this.#latest = undefined;
    const live = new Set(snap.map((w) => w.id));
    for (const w of snap) await this.#store.set(keys.worker(w.id), w);
    for (const { key, value } of await this.#store.list<WorkerStatus>(keys.workerPrefix)) {
      if (!live.has(value.id)) await this.#store.delete(key);
    }
  }
}
