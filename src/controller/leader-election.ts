// Which controller runs the autoscaling loop: the one holding the `autoscaler` lease in the metadata store.
// Every controller calls update() about three times per lease ttl; the holder renews, the others take the lease
// once it expires (the holder died or lost the store). A holder that cannot renew (the store is unreachable)
// steps down on its own before its lease can have expired, so two controllers never run the loop at once.

import { Lease } from '../metadata/lease.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';

export interface LeaderElectionOptions {
  store: MetadataStore;
  /** This controller's id. */
  id: string;
  /** Lease ttl, ms: how soon another controller takes over after the leader dies. */
  ttlMs: number;
  onElected: () => void;
  onDeposed: () => void;
  now?: () => number;
}

/** What GET /v1/workers shows about leadership. */
export interface LeadershipStatus {
  controller: string;
  leader: boolean;
  /** The holder of the lease as last read, if known. */
  leaderId?: string;
  /** When this controller last became leader (ms since epoch). */
  since?: number;
}

export class LeaderElection {
  readonly #o: LeaderElectionOptions;
  readonly #lease: Lease;
  readonly #now: () => number;
  #leader = false;
  #since?: number;
  #renewedAt = -Infinity;
  #leaderId?: string;

  constructor(opts: LeaderElectionOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#lease = new Lease(opts.store, 'autoscaler', opts.id, opts.ttlMs, this.#now);
  }

  /** The period at which update() should run. */
  get everyMs(): number {
    return Math.max(50, Math.floor(this.#o.ttlMs / 3));
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  status(): LeadershipStatus {
    return { controller: this.#o.id, leader: this.#leader, ...(this.#leaderId ? { leaderId: this.#leaderId } : {}), ...(this.#since !== undefined ? { since: this.#since } : {}) };
  }

  /** Takes or renews the lease, or steps down; rejects only with the store's error after stepping down if need be. */
  async update(): Promise<void> {
    const started = this.#now();
    let held: boolean;
    try {
      held = await this.#lease.acquire();
    } catch (e) {
      // Unsure whether we still hold it: step down before it could have passed to someone else.
      if (this.#leader && this.#now() - this.#renewedAt > this.#o.ttlMs * 0.6) this.#set(false);
      throw e;
    }
    if (held) this.#renewedAt = started;
    this.#leaderId = held ? this.#o.id : (await this.#lease.holder().catch(() => undefined))?.holder;
    this.#set(held);
  }

  /** Gives the lease up (at shutdown), so another controller takes over at once. */
  async resign(): Promise<void> {
    this.#set(false);
    await this.#lease.release().catch(() => undefined);
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    if (leader) {
      this.#since = this.#now();
      this.#o.onElected();
    } else this.#o.onDeposed();
  }
}
