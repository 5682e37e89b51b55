// A replica's throughput from its variant's profile: at a batch, at the largest batch whose p95 fits a latency
// budget (the SLO batch), and the latter remembered per catalogue entry for the passes that ask it for every
// replica at every tick.

import { p50At, p95At, type Catalogue, type CatalogueEntry } from './catalogue.ts';

/** Samples per second one replica of `e` completes at `batch` (from the profile's p50). */
export function replicaThroughput(e: CatalogueEntry, batch: number): number {
  const b = Math.max(1, Math.min(batch, e.maxBatch));
  return (b * 1000) / p50At(e, b);
}

/**
 * The largest batch ≤ maxBatch whose profiled p95 fits within `budgetMs` (at least 1), among 1, 2, 3, 4, 8, 16, …
 * and maxBatch (the entry's searchBatches, with p95 there already interpolated).
 */
export function sloBatch(e: CatalogueEntry, budgetMs: number): number {
  const bs = e.searchBatches;
  const ps = e.searchP95;
  if (bs.length === 0) return searchSloBatch(e, budgetMs);
  let best = 1;
  for (let i = 0; i < bs.length; i++) if (ps[i] <= budgetMs) best = bs[i];
  return best;
}

function searchSloBatch(e: CatalogueEntry, budgetMs: number): number {
  let best = 1;
  for (let b = 1; b <= e.maxBatch; b = b < 4 ? b + 1 : b * 2) {
    if (p95At(e, b) <= budgetMs) best = b;
  }
  if (p95At(e, e.maxBatch) <= budgetMs) best = e.maxBatch;
  return best;
}

/**
 * `replicaThroughput(e, sloBatch(e, budgetMs))` for the entries of one catalogue, the last answer per entry kept in
 * flat arrays indexed by entry: a pass over a hundred thousand replicas of tens of thousands of variants reads
 * two numbers per replica from them instead of each variant's profile arrays, scattered over the heap.
 */
export class SloThroughput {
  readonly #entries: readonly CatalogueEntry[];
  readonly #budget: Float64Array;
  readonly #thr: Float64Array;

  constructor(catalogue: Catalogue) {
    this.#entries = catalogue.entries();
    this.#budget = new Float64Array(this.#entries.length).fill(NaN);
    this.#thr = new Float64Array(this.#entries.length);
  }

  of(e: CatalogueEntry, budgetMs: number): number {
    const i = e.index;
    if (this.#entries[i] !== e) return replicaThroughput(e, sloBatch(e, budgetMs));
    if (this.#budget[i] === budgetMs) return this.#thr[i];
    const thr = replicaThroughput(e, sloBatch(e, budgetMs));
    this.#budget[i] = budgetMs;
    this.#thr[i] = thr;
    return thr;
  }
}

const memos = new WeakMap<Catalogue, SloThroughput>();

/** The catalogue's SloThroughput (made on first use, dropped with the catalogue). */
export function sloThroughput(catalogue: Catalogue): SloThroughput {
  let m = memos.get(catalogue);
  if (!m) memos.set(catalogue, (m = new SloThroughput(catalogue)));
  return m;
}
