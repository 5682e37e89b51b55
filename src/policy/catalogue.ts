// An immutable, indexed view of the registered variants: lookups by name, architecture and use case,
// per-group arrays pre-sorted for fast selection, and latency at any batch interpolated from the profile.
// Built once from Variant[] and rebuilt (a new Catalogue) whenever registrations change. Pure: no I/O.

import type { BatchLatency, Variant } from '../core/types.ts';

/**
 * One variant with the numbers selection reads on its hot path, flattened out of the profile.
 * Entries are frozen in spirit: never mutate one (the catalogue shares them between its indexes).
 */
export interface CatalogueEntry {
  /** Position in `Catalogue.entries()`. */
  readonly index: number;
  readonly variant: Variant;
  readonly name: string;
  readonly arch: string;
  /** `variant.artifactId`, one string shared by every entry of the artifact (a cheap key for grouping by family). */
  readonly artifact: string;
  readonly useCase: string;
  readonly maxBatch: number;
  /** `variant.config.threads`: the threads one replica runs on. */
  readonly threads: number;
  /** Percent, 0..100. */
  readonly accuracy: number;
  readonly costPer1k: number;
  readonly loadMs: number;
  readonly memoryMB: number;
  /** Profiled batch sizes, ascending, deduplicated. */
  readonly batches: Float64Array;
  /** p50 / p95 latency (ms) at `batches[i]`. */
  readonly p50: Float64Array;
  readonly p95: Float64Array;
  /** Least-squares fit latency(b) = slope·b + intercept (INFaaS), used beyond the last profiled batch. */
  readonly fit50: LinearFit;
  readonly fit95: LinearFit;
  /** p95 at batch 1 (or at the smallest profiled batch), for cheap ordering. */
  readonly p95b1: number;
  /** The smallest profiled batch and p50 there: latency at any batch up to it, without reading the arrays. */
  readonly firstBatch: number;
  readonly p50b1: number;
  /** The smallest profiled p95: a lower bound of p95 at any batch (lets a scan skip without interpolating). */
  readonly minP95: number;
  /**
   * The batches an SLO-batch search tries (1, 2, 3, 4, 8, 16, … up to maxBatch, then maxBatch) and p95 at each:
   * the search reads them instead of interpolating the profile again (see sloBatch in throughput.ts).
   */
  readonly searchBatches: Float64Array;
  readonly searchP95: Float64Array;
}

/**
 * A group (one use case or one architecture) sorted by cost, with its hot fields as parallel typed arrays
 * so that a selection scan touches contiguous memory: `entries[i]` has cost `cost[i]`, and so on.
 */
export interface CostIndex {
  readonly entries: readonly CatalogueEntry[];
  readonly cost: Float64Array;
  readonly accuracy: Float64Array;
  readonly maxBatch: Float64Array;
  readonly loadMs: Float64Array;
  readonly minP95: Float64Array;
  /** min over the group of loadMs + minP95: below this SLO no cold start can meet it including its load. */
  readonly minColdMs: number;
}

export interface LinearFit {
  readonly slope: number;
  readonly intercept: number;
}

/** A variant the catalogue refused to index (e.g. a profile without latencies) and why. */
export interface RejectedVariant {
  name: string;
  reason: string;
}

const EMPTY: readonly CatalogueEntry[] = Object.freeze([]);
const EMPTY_INDEX: CostIndex = costIndex([]);

/**
 * Indexed, read-only set of variants.
 *
 * Orders (all ties broken by name, so every order is deterministic):
 * - `byCost*`: ascending cost per 1k queries, then ascending p95 at batch 1;
 * - `byAccuracy*`: descending accuracy, then ascending cost.
 */
export class Catalogue {
  private readonly list: readonly CatalogueEntry[];
  private readonly byName = new Map<string, CatalogueEntry>();
  private readonly archCost = new Map<string, CatalogueEntry[]>();
  private readonly archAcc = new Map<string, CatalogueEntry[]>();
  private readonly ucCost = new Map<string, CatalogueEntry[]>();
  private readonly ucAcc = new Map<string, CatalogueEntry[]>();
  private readonly ucArchs = new Map<string, string[]>();
  private readonly archIndex = new Map<string, CostIndex>();
  private readonly ucIndex = new Map<string, CostIndex>();
  /**
   * By entry index: the entries of its architecture (the arrays of archCost), and those of them with its artifact,
   * cheapest first: lookups by entry that need no hashing of names.
   */
  private readonly ownArchCost: Array<readonly CatalogueEntry[]> = [];
  private readonly artifactCost: Array<readonly CatalogueEntry[]> = [];
  /** By entry index: the position of its artifact among the catalogue's artifact ids sorted as strings. */
  private readonly artifactRank: Int32Array;
  /** Variants that could not be indexed; they are invisible to every lookup. */
  readonly rejected: readonly RejectedVariant[];

  constructor(variants: readonly Variant[]) {
    const list: CatalogueEntry[] = [];
    const rejected: RejectedVariant[] = [];
    // One string object per artifact, architecture and use case, shared by their entries: lookups keyed by them
    // then compare pointers, not characters.
    const strings = new Map<string, string>();
    const canonical = (x: string) => {
      const s = strings.get(x);
      if (s !== undefined) return s;
      strings.set(x, x);
      return x;
    };
    for (const v of variants) {
      if (this.byName.has(v.name)) {
        rejected.push({ name: v.name, reason: 'duplicate variant name' });
        continue;
      }
      const built = buildEntry(v, list.length, canonical(v.artifactId), canonical(v.arch), canonical(v.useCase));
      if (typeof built === 'string') {
        rejected.push({ name: v.name, reason: built });
        continue;
      }
      list.push(built);
      this.byName.set(v.name, built);
      push(this.archCost, built.arch, built);
      push(this.ucCost, built.useCase, built);
    }
    this.list = list;
    this.rejected = rejected;
    const ranks = new Map([...new Set(list.map((e) => e.artifact))].sort().map((a, i) => [a, i]));
    this.artifactRank = Int32Array.from(list, (e) => ranks.get(e.artifact)!);
    for (const [arch, es] of this.archCost) {
      es.sort(costOrder);
      this.archAcc.set(arch, es.slice().sort(accuracyOrder));
      this.archIndex.set(arch, costIndex(es));
      const byArtifact = new Map<string, CatalogueEntry[]>();
      for (const e of es) push(byArtifact, e.artifact, e);
      for (const e of es) {
        this.ownArchCost[e.index] = es;
        this.artifactCost[e.index] = byArtifact.get(e.artifact)!;
      }
    }
    for (const [uc, es] of this.ucCost) {
      es.sort(costOrder);
      this.ucAcc.set(uc, es.slice().sort(accuracyOrder));
      this.ucIndex.set(uc, costIndex(es));
      this.ucArchs.set(uc, [...new Set(es.map((e) => e.arch))].sort());
    }
  }

  static empty(): Catalogue {
    return new Catalogue([]);
  }

  get size(): number {
    return this.list.length;
  }

  entries(): readonly CatalogueEntry[] {
    return this.list;
  }

  variants(): Variant[] {
    return this.list.map((e) => e.variant);
  }

  /** The entry of a variant name, or undefined. O(1). */
  entry(name: string): CatalogueEntry | undefined {
    return this.byName.get(name);
  }

  get(name: string): Variant | undefined {
    return this.byName.get(name)?.variant;
  }

  hasArch(arch: string): boolean {
    return this.archCost.has(arch);
  }

  hasUseCase(useCase: string): boolean {
    return this.ucCost.has(useCase);
  }

  useCases(): string[] {
    return [...this.ucCost.keys()].sort();
  }

  /** Architectures registered for a use case, sorted by name. */
  architectures(useCase: string): readonly string[] {
    return this.ucArchs.get(useCase) ?? [];
  }

  /** Entries of an architecture, cheapest first. */
  byArchCost(arch: string): readonly CatalogueEntry[] {
    return this.archCost.get(arch) ?? EMPTY;
  }

  /** byArchCost(e.arch) for an entry: found by its index, not by the architecture's name. */
  archCostOf(e: CatalogueEntry): readonly CatalogueEntry[] {
    return this.list[e.index] === e ? this.ownArchCost[e.index] : this.byArchCost(e.arch);
  }

  /** The entries of `e`'s architecture with `e`'s artifact (its siblings and itself), cheapest first. */
  siblingsByCost(e: CatalogueEntry): readonly CatalogueEntry[] {
    if (this.list[e.index] === e) return this.artifactCost[e.index];
    return this.byArchCost(e.arch).filter((x) => x.artifact === e.artifact);
  }

  /**
   * Where `e`'s artifact comes among the catalogue's artifacts sorted by id (as `[...ids].sort()` orders them): one
   * number per artifact, so that sorting by it sorts by artifact id without comparing strings. -1 for an entry of
   * another catalogue.
   */
  artifactOrder(e: CatalogueEntry): number {
    return this.list[e.index] === e ? this.artifactRank[e.index] : -1;
  }

  /** Entries of an architecture, most accurate first. */
  byArchAccuracy(arch: string): readonly CatalogueEntry[] {
    return this.archAcc.get(arch) ?? EMPTY;
  }

  /** Entries of a use case, cheapest first. */
  byUseCaseCost(useCase: string): readonly CatalogueEntry[] {
    return this.ucCost.get(useCase) ?? EMPTY;
  }

  /** Entries of a use case, most accurate first. */
  byUseCaseAccuracy(useCase: string): readonly CatalogueEntry[] {
    return this.ucAcc.get(useCase) ?? EMPTY;
  }

  /** The cost-sorted scan index of an architecture (empty when unknown). */
  archCostIndex(arch: string): CostIndex {
    return this.archIndex.get(arch) ?? EMPTY_INDEX;
  }

  /** The cost-sorted scan index of a use case (empty when unknown). */
  useCaseCostIndex(useCase: string): CostIndex {
    return this.ucIndex.get(useCase) ?? EMPTY_INDEX;
  }

  /** p50 and p95 (ms) of a variant at any batch ≥ 1; undefined for an unknown name. */
  latency(name: string, batch: number): BatchLatency | undefined {
    const e = this.byName.get(name);
    return e ? { batch, p50: p50At(e, batch), p95: p95At(e, batch) } : undefined;
  }
}

/** p95 latency (ms) of an entry at a batch: exact when profiled, else interpolated/extrapolated. */
export function p95At(e: CatalogueEntry, batch: number): number {
  return batch <= e.firstBatch ? e.p95b1 : latencyAt(e.batches, e.p95, e.fit95, batch);
}

/** p50 latency (ms) of an entry at a batch: exact when profiled, else interpolated/extrapolated. */
export function p50At(e: CatalogueEntry, batch: number): number {
  return batch <= e.firstBatch ? e.p50b1 : latencyAt(e.batches, e.p50, e.fit50, batch);
}

/**
 * Latency at `b`: the profiled value when `b` was profiled; linear interpolation between the two
 * neighbouring profiled batches; beyond the last one the least-squares line (never below the last
 * profiled value); below the first one the first profiled value (a smaller batch is never slower).
 */
function latencyAt(bs: Float64Array, ps: Float64Array, fit: LinearFit, b: number): number {
  const n = bs.length;
  if (b <= bs[0]) return ps[0];
  for (let i = 1; i < n; i++) {
    const hi = bs[i];
    if (b <= hi) {
      if (b === hi) return ps[i];
      const lo = bs[i - 1];
      return ps[i - 1] + ((ps[i] - ps[i - 1]) * (b - lo)) / (hi - lo);
    }
  }
  const line = fit.slope * b + fit.intercept;
  return line > ps[n - 1] ? line : ps[n - 1];
}

function fitLine(bs: Float64Array, ps: Float64Array): LinearFit {
  const n = bs.length;
  if (n === 1) return { slope: ps[0] / bs[0], intercept: 0 };
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sx += bs[i];
    sy += ps[i];
    sxx += bs[i] * bs[i];
    sxy += bs[i] * ps[i];
  }
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return { slope, intercept: (sy - slope * sx) / n };
}

function buildEntry(v: Variant, index: number, artifact: string, arch: string, useCase: string): CatalogueEntry | string {
  const p = v.profile;
  if (!p || !Array.isArray(p.latency) || p.latency.length === 0) return 'profile has no latency points';
  const points = p.latency
    .filter((l) => Number.isFinite(l.batch) && l.batch >= 1 && Number.isFinite(l.p50) && Number.isFinite(l.p95))
    .sort((a, b) => a.batch - b.batch);
  const dedup = points.filter((l, i) => i === 0 || l.batch !== points[i - 1].batch);
  if (dedup.length === 0) return 'profile has no valid latency points';
  if (!(v.config.maxBatch >= 1)) return `invalid maxBatch ${v.config.maxBatch}`;
  for (const [k, x] of [['accuracy', p.accuracy], ['loadMs', p.loadMs], ['costPer1k', p.costPer1k]] as const) {
    if (!Number.isFinite(x) || x < 0) return `invalid ${k} ${x}`;
  }
  const batches = Float64Array.from(dedup, (l) => l.batch);
  const p50 = Float64Array.from(dedup, (l) => l.p50);
  const p95 = Float64Array.from(dedup, (l) => Math.max(l.p95, l.p50));
  const fit95 = fitLine(batches, p95);
  const searchBatches: number[] = [];
  // An unbounded maxBatch has no grid to search (sloBatch then searches without one, as it would forever).
  if (Number.isFinite(v.config.maxBatch)) {
    for (let b = 1; b <= v.config.maxBatch; b = b < 4 ? b + 1 : b * 2) searchBatches.push(b);
    searchBatches.push(v.config.maxBatch);
  }
  const p95Of = (b: number) => (b <= batches[0] ? p95[0] : latencyAt(batches, p95, fit95, b));
  return {
    index,
    variant: v,
    name: v.name,
    arch,
    artifact,
    useCase,
    maxBatch: v.config.maxBatch,
    threads: v.config.threads,
    accuracy: p.accuracy,
    costPer1k: p.costPer1k,
    loadMs: p.loadMs,
    memoryMB: p.memoryMB,
    batches,
    p50,
    p95,
    fit50: fitLine(batches, p50),
    fit95,
    p95b1: p95[0],
    firstBatch: batches[0],
    p50b1: p50[0],
    minP95: Math.min(...p95),
    searchBatches: Float64Array.from(searchBatches),
    searchP95: Float64Array.from(searchBatches, p95Of),
  };
}

function costIndex(es: readonly CatalogueEntry[]): CostIndex {
  return {
    entries: es,
    cost: Float64Array.from(es, (e) => e.costPer1k),
    accuracy: Float64Array.from(es, (e) => e.accuracy),
    maxBatch: Float64Array.from(es, (e) => e.maxBatch),
    loadMs: Float64Array.from(es, (e) => e.loadMs),
    minP95: Float64Array.from(es, (e) => e.minP95),
    minColdMs: es.reduce((m, e) => Math.min(m, e.loadMs + e.minP95), Infinity),
  };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

function byNameOrder(a: CatalogueEntry, b: CatalogueEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function costOrder(a: CatalogueEntry, b: CatalogueEntry): number {
  return a.costPer1k - b.costPer1k || a.p95b1 - b.p95b1 || byNameOrder(a, b);
}

function accuracyOrder(a: CatalogueEntry, b: CatalogueEntry): number {
  return b.accuracy - a.accuracy || a.costPer1k - b.costPer1k || byNameOrder(a, b);
}
