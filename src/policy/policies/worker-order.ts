// Workers kept sorted by a key that placement changes as it books compute on them (the compute left), so that
// finding the workers with the most compute left costs a walk from the front instead of a sort of every worker
// for every family that needs replicas.

import type { WorkerSnapshot } from '../scaling-policy.ts';

/**
 * A fixed set of workers (or of records, one per worker) sorted under `cmp`, which must be a strict total order
 * (0 only for the same worker). Change a member's key only inside `update(w, change)`: it takes the worker out by
 * binary search under its old key and puts it back under the new one (moving the array's tail), instead of sorting
 * everything again.
 */
export class WorkerOrder<T = WorkerSnapshot> {
  readonly #items: T[];
  readonly #members: ReadonlySet<T>;
  readonly #cmp: (a: T, b: T) => number;

  constructor(workers: readonly T[], cmp: (a: T, b: T) => number) {
    this.#cmp = cmp;
    this.#items = [...workers].sort(cmp);
    this.#members = new Set(workers);
  }

  /** The workers in order. Do not hold across an update. */
  get items(): readonly T[] {
    return this.#items;
  }

  /** Runs `change`, which changes w's key (and no other member's), keeping w in its place in the order. */
  update(w: T, change: () => void): void {
    if (!this.#members.has(w)) {
      change();
      return;
    }
    const i = this.#lowerBound(w);
    this.#items.splice(this.#items[i] === w ? i : this.#items.indexOf(w), 1);
    change();
    this.#items.splice(this.#lowerBound(w), 0, w);
  }

  /** The first index whose worker does not come before `w`. */
  #lowerBound(w: T): number {
    let lo = 0;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#cmp(this.#items[mid], w) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Worker ids in ascending order (0 only for the same id). */
export function byId(a: WorkerSnapshot, b: WorkerSnapshot): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
