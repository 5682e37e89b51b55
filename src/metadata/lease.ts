// A lease over any MetadataStore: a named, expiring claim that one holder at a time renews (leader election of
// the autoscaling loop, a registration being profiled). Built on the contract's atomic setIfAbsent and
// compareAndSet with ttlMs, so it holds across controllers sharing one Redis as it does in one process.

import { keys, type MetadataStore } from './metadata-store.ts';

/** What a lease key holds. */
export interface LeaseRecord {
  holder: string;
  /** When this holder took the lease, ms since epoch (its clock). */
  acquiredAt: number;
  /** Its last renewal, ms since epoch. */
  renewedAt: number;
}

export class Lease {
  readonly key: string;
  readonly #store: MetadataStore;
  readonly #holder: string;
  readonly #ttlMs: number;
  readonly #now: () => number;

  /** `ttlMs`: how long the lease outlives its holder's last renewal. */
  constructor(store: MetadataStore, name: string, holder: string, ttlMs: number, now: () => number = Date.now) {
    this.key = keys.lease(name);
    this.#store = store;
    this.#holder = holder;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /**
   * Takes the lease when nobody holds it (or the last holder's ttl ran out), or renews it when this holder has
   * it; resolves to whether this holder holds it now. Rejects (UNAVAILABLE) when the store cannot be reached:
   * the caller must then assume it lost the lease once the ttl has passed since its last successful renewal.
   */
  async acquire(): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.#now();
      if (await this.#store.setIfAbsent(this.key, { holder: this.#holder, acquiredAt: now, renewedAt: now } satisfies LeaseRecord, { ttlMs: this.#ttlMs })) return true;
      const current = await this.#store.get<LeaseRecord>(this.key);
      if (current === undefined) continue; // expired between the two calls: try to take it again
      if (current.holder !== this.#holder) return false;
      if (await this.#store.compareAndSet(this.key, current, { ...current, renewedAt: now }, { ttlMs: this.#ttlMs })) return true;
    }
    return false;
  }

  /** Gives the lease up at once if this holder has it (another holder may take it right away). */
  async release(): Promise<void> {
    const current = await this.#store.get<LeaseRecord>(this.key);
    if (current?.holder === this.#holder) await this.#store.compareAndSet(this.key, current, undefined);
  }

  /** Who holds the lease now, if anyone. */
  async holder(): Promise<LeaseRecord | undefined> {
    return this.#store.get<LeaseRecord>(this.key);
  }
}
