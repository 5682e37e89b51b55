// The client a worker pool hands out: the worker's own client, plus a status refresh after anything that changes
// the worker's replicas (load, unload, cold start), and close() meaning "remove this worker from the pool".

import type { Tensor, WorkerStatus } from '../core/types.ts';
import type { InferOptions, InferReply, VariantSpec, WorkerClient } from '../protocol/worker-protocol.ts';

/** What a pooled client needs of its pool. */
export interface PoolHooks {
  refreshSoon(id: string): void;
  remove(id: string): Promise<void>;
}

/**
 * The client handed out by the pool: the worker's client, plus a status refresh after anything that changes
 * replicas (load, unload, cold start). `close()` removes the worker from the pool.
 */
export class PooledClient implements WorkerClient {
  readonly #inner: WorkerClient;
  readonly #pool: PoolHooks;

  constructor(inner: WorkerClient, pool: PoolHooks) {
    this.#inner = inner;
    this.#pool = pool;
  }

  get id(): string {
    return this.#inner.id;
  }

  get address(): string {
    return this.#inner.address;
  }

  get closed(): Promise<void> {
    return this.#inner.closed;
  }

  infer(spec: VariantSpec, input: Tensor, opts?: InferOptions): Promise<InferReply> {
    const p = this.#inner.infer(spec, input, opts);
    p.then((r) => r.coldStart && this.#pool.refreshSoon(this.id), () => undefined);
    return p;
  }

  load(spec: VariantSpec): Promise<{ loadMs: number; alreadyLoaded: boolean }> {
    return this.#after(this.#inner.load(spec));
  }

  unload(variant: string): Promise<boolean> {
    return this.#after(this.#inner.unload(variant));
  }

  status(): Promise<WorkerStatus> {
    return this.#inner.status();
  }

  /** Removes this worker from the pool (stopped, not restarted). */
  close(): void {
    void this.#pool.remove(this.id);
  }

  #after<T>(p: Promise<T>): Promise<T> {
    p.then(() => this.#pool.refreshSoon(this.id), () => undefined);
    return p;
  }
}
