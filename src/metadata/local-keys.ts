// What the in-process stores (memory, embedded) share beyond the JSON rules: expiring keys checked lazily
// against a wall clock, and watchers served from a queue drained asynchronously, in order.

import { invalid } from '../core/errors.ts';
import type { SetOptions, StoreChange } from './metadata-store.ts';
import { decodeValue } from './json-value.ts';

/** The ttl of a write, validated (a positive integer of milliseconds), or undefined for a permanent key. */
export function ttlOf(opts: SetOptions | undefined): number | undefined {
  const ttl = opts?.ttlMs;
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0) throw invalid(`metadata ttlMs must be a positive integer of milliseconds, got ${String(ttl)}`);
  return ttl;
}

/** Expiry times of the keys written with a ttl (ms since epoch). */
export class Expiry {
  readonly #at = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Records the key's ttl, or makes it permanent when `ttlMs` is undefined. */
  set(key: string, ttlMs: number | undefined): void {
    if (ttlMs === undefined) this.#at.delete(key);
    else this.#at.set(key, this.#now() + ttlMs);
  }

  clear(key: string): void {
    this.#at.delete(key);
  }

  has(key: string): boolean {
    return this.#at.has(key);
  }

  /** Whether the key had a ttl that has run out. */
  expired(key: string): boolean {
    const at = this.#at.get(key);
    return at !== undefined && at <= this.#now();
  }

  /** The keys whose ttl has run out. */
  *allExpired(): Iterable<string> {
    const now = this.#now();
    for (const [key, at] of this.#at) if (at <= now) yield key;
  }
}

interface Watcher {
  prefix: string;
  listener: (change: StoreChange) => void;
}

/** A change as a store records it: a set carries the value's stored JSON text (decoded afresh for each listener). */
export type RecordedChange = { type: 'set'; key: string; text: string } | { type: 'delete'; key: string };

/** The watchers of one in-process store. */
export class Watchers {
  readonly #watchers = new Set<Watcher>();
  #queue: RecordedChange[] = [];
  #scheduled = false;

  add(prefix: string, listener: (change: StoreChange) => void): () => void {
    const w: Watcher = { prefix, listener };
    this.#watchers.add(w);
    return () => void this.#watchers.delete(w);
  }

  /** Queues a change for delivery after the current call returns. */
  emit(change: RecordedChange): void {
    if (this.#watchers.size === 0) return;
    this.#queue.push(change);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#drain());
  }

  #drain(): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    for (const c of queue) {
      for (const w of this.#watchers) {
        if (!c.key.startsWith(w.prefix)) continue;
        try {
          w.listener(c.type === 'set' ? { type: 'set', key: c.key, value: decodeValue(c.text) } : c);
        } catch {
          // a listener's bug is its own; the store and the other listeners go on
        }
      }
    }
  }
}
