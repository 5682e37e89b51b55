// With several controllers, the autoscaling leader needs what every dispatcher saw, not only its own: each
// follower publishes its dispatch window (variants that wanted a replica nobody could take, each variant's
// tightest SLO) to the metadata store every second, and the leader merges the latest window of each other
// controller into its own at every tick. The leader follows the windows through the store's change feed, so a
// tick never waits for the store.

import { keys, type MetadataStore } from '../metadata/metadata-store.ts';
import type { DispatchWindow, VariantDemand } from './dispatcher.ts';

/** A window as stored: the SLO map as entries. */
interface StoredWindow {
  unplaced: string[];
  slo: Array<[string, VariantDemand]>;
  at: number;
}

export class SharedWindows {
  readonly #store: MetadataStore;
  readonly #id: string;
  readonly #take: () => DispatchWindow;
  readonly #others = new Map<string, StoredWindow>();
  readonly #ttlMs: number;
  #stop?: () => void;

  /** `take`: drains this controller's own dispatcher window (Dispatcher.takeWindow). */
  constructor(opts: { store: MetadataStore; controllerId: string; take: () => DispatchWindow; ttlMs?: number }) {
    this.#store = opts.store;
    this.#id = opts.controllerId;
    this.#take = opts.take;
    this.#ttlMs = opts.ttlMs ?? 5000;
  }

  /** Follows the other controllers' windows. */
  start(): void {
    this.#stop = this.#store.watch(keys.dispatchWindowPrefix, (c) => {
      if (c.type === 'reset') return;
      const id = c.key.slice(keys.dispatchWindowPrefix.length);
      if (id === this.#id) return;
      if (c.type === 'set') this.#others.set(id, c.value as StoredWindow);
      else this.#others.delete(id);
    });
  }

  /** A follower's task: drains its own window into the store for the leader. */
  async publish(): Promise<void> {
    const w = this.#take();
    if (!w.unplaced.length && !w.slo.size) return;
    const stored: StoredWindow = { unplaced: w.unplaced, slo: [...w.slo], at: Date.now() };
    await this.#store.set(keys.dispatchWindow(this.#id), stored, { ttlMs: this.#ttlMs });
  }

  /** The leader's window for a tick: its own, merged with each other controller's latest (each used once). */
  merged(): DispatchWindow {
    const own = this.#take();
    if (!this.#others.size) return own;
    const unplaced = new Set(own.unplaced);
    const slo = new Map(own.slo);
    const fresh = Date.now() - this.#ttlMs;
    for (const w of this.#others.values()) {
      if (w.at < fresh) continue;
      for (const v of w.unplaced) unplaced.add(v);
      for (const [v, d] of w.slo) {
        const mine = slo.get(v);
        slo.set(v, mine ? { minSloMs: Math.min(mine.minSloMs, d.minSloMs), maxMinAccuracy: Math.max(mine.maxMinAccuracy, d.maxMinAccuracy) } : d);
      }
    }
    this.#others.clear();
    return { ...own, unplaced: [...unplaced], slo };
  }

  close(): void {
    this.#stop?.();
  }
}
