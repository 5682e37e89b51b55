// Distributed mode: the cluster's workers as the metadata store lists them (each worker's heartbeat record,
// src/protocol/worker-record.ts). Every record of a worker that speaks this controller's protocol is handed to
// the pool to connect to; a worker of another protocol version is refused once, with a log line that says so,
// and listed by `refused()` for the status page. Reads the store at start and after a reconnect ('reset'),
// and otherwise follows its change feed: nothing here is on the query path.

import type { WorkerClass } from '../core/types.ts';
import { keys, type MetadataStore, type StoreChange } from '../metadata/metadata-store.ts';
import { PROTOCOL_VERSION } from '../protocol/worker-protocol.ts';
import type { WorkerRecord } from '../protocol/worker-record.ts';
import type { KnownWorker, PoolLogger } from './worker-pool.ts';

export interface WorkerDirectoryOptions {
  store: MetadataStore;
  /** Connects to a listed worker (WorkerPool.adopt); must not reject. */
  adopt: (w: KnownWorker) => Promise<void>;
  log: PoolLogger;
}

/** A listed worker this controller will not use, and why. */
export interface RefusedWorker {
  id: string;
  address: string;
  protocol: unknown;
  reason: string;
}

export class WorkerDirectory {
  readonly #o: WorkerDirectoryOptions;
  readonly #refused = new Map<string, RefusedWorker>();
  #stop?: () => void;

  constructor(opts: WorkerDirectoryOptions) {
    this.#o = opts;
  }

  /** Lists the workers now and follows changes from then on. */
  async start(): Promise<void> {
    this.#stop = this.#o.store.watch(keys.workerPrefix, (c) => this.#onChange(c));
    await this.#relist();
  }

  /** Workers listed with a protocol this controller does not speak. */
  refused(): RefusedWorker[] {
    return [...this.#refused.values()];
  }

  close(): void {
    this.#stop?.();
  }

  #onChange(c: StoreChange): void {
    if (c.type === 'reset') void this.#relist().catch((e: Error) => this.#o.log.warn(`cannot list the cluster's workers: ${e.message}`));
    else if (c.type === 'set') this.#consider(c.value as WorkerRecord);
    else this.#refused.delete(c.key.slice(keys.workerPrefix.length));
  }

  async #relist(): Promise<void> {
    const listed = await this.#o.store.list<WorkerRecord>(keys.workerPrefix);
    const ids = new Set(listed.map((e) => e.value?.id));
    for (const id of this.#refused.keys()) if (!ids.has(id)) this.#refused.delete(id);
    for (const { value } of listed) this.#consider(value);
  }

  #consider(r: WorkerRecord): void {
    if (!r || typeof r.id !== 'string' || typeof r.address !== 'string') return;
    if (r.protocol !== PROTOCOL_VERSION) {
      if (this.#refused.get(r.id)?.protocol === r.protocol) return;
      const reason = `speaks worker protocol ${JSON.stringify(r.protocol)} and this controller speaks ${PROTOCOL_VERSION}: run controllers and workers of the same release`;
      this.#refused.set(r.id, { id: r.id, address: r.address, protocol: r.protocol, reason });
      this.#o.log.warn(`not using worker ${r.id} at ${r.address}: it ${reason}`);
      return;
    }
    this.#refused.delete(r.id);
    const workerClass: WorkerClass = { name: r.workerClass, threads: r.threads, memoryMB: r.memoryBudgetMB, pricePerHour: r.pricePerHour };
    void this.#o.adopt({ id: r.id, address: r.address, workerClass, startedAt: r.startedAt });
  }
}
