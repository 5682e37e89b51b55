// Placement's view of one step: the ready workers with the compute booked on them, and the families (variants
// sharing an artifact) their replicas form, gathered in one pass over the snapshot's replicas; and each family's
// plan: its primary variant, the replicas it wants at its held peak demand, and the compute each replica takes.

import { p95At, type Catalogue, type CatalogueEntry } from '../../catalogue.ts';
import { replicaThroughput, type SloThroughput } from '../../throughput.ts';
import type { ClusterSnapshot, VariantSnapshot, WorkerSnapshot } from '../../scaling-policy.ts';
import type { SnapshotEntries } from '../../snapshot-entries.ts';
import type { DemandHistory, PlacementConfig } from './config.ts';

/**
 * Per worker id: compute booked on it so far in the step (threads, or streams), memory this step's own loads take
 * there, its speed (1 / its slowdown), and whether rebalance found it overcommitted.
 */
export interface Booking { used: number; taken: number; readonly speed: number; over: boolean }
/** A ready worker of the snapshot, its compute (computeOf its threads) and the booking of its id. */
export interface Slot { readonly w: WorkerSnapshot; readonly compute: number; readonly b: Booking }
/**
 * A worker's replicas of a variant: `replicas` counts those still loading, `serving` only the loaded ones. The
 * numbers are read from the snapshot when asked (a hundred thousand holders copying five numbers each cost more
 * than the reads).
 */
export class Holder {
  readonly w: WorkerSnapshot;
  readonly b: Booking;
  readonly v: VariantSnapshot;
  readonly pinned: boolean;

  constructor(w: WorkerSnapshot, b: Booking, v: VariantSnapshot, pinned: boolean) {
    this.w = w;
    this.b = b;
    this.v = v;
    this.pinned = pinned;
  }

  get replicas(): number {
    return this.v.replicas + this.v.loading;
  }

  get serving(): number {
    return this.v.replicas;
  }

  get demand(): number {
    return this.v.stats.arrivalQps;
  }

  get lastUsedAt(): number {
    return this.v.lastUsedAt;
  }
}
/** A variant of an artifact held on ready workers, and its holders. */
export interface Member { readonly e: CatalogueEntry; readonly holders: Holder[] }
/**
 * The held variants of an artifact in the order first met, their demand and the tightest SLO routed to them; `rank`:
 * the artifact's place among the catalogue's artifact ids sorted (Catalogue.artifactOrder).
 */
export interface Family { readonly artifact: string; readonly rank: number; readonly members: Member[]; demand: number; minSlo: number; plan?: Plan }
/**
 * A family's plan: its primary variant and the primary's holders, replicas wanted (fractional; `whole` rounded
 * up), replicas held, the threads each replica is planned to use, and whether the step acts on the primary already.
 */
export interface Plan {
  p: CatalogueEntry; holders: Holder[]; thr: number; want: number; whole: number; have: number; haveAtSpeed: number; perReplica: number; acted: boolean;
}

export interface Gathered {
  /** In the order first met (one per artifact). */
  families: Family[];
  /** The ready workers, in snapshot order. */
  slots: Slot[];
  bookings: Map<string, Booking>;
}

/** One pass over the ready workers' replicas (unloading ones left out): families, holders and bookings. */
export function gatherFamilies(
  snapshot: ClusterSnapshot, cfg: PlacementConfig, entries: SnapshotEntries, slow: ReadonlyMap<string, number>,
): Gathered {
  const { catalogue } = snapshot;
  const families: Family[] = [];
  const bookings = new Map<string, Booking>();
  const slots: Slot[] = [];
  // By catalogue entry index: the member it is, with its family; by artifact rank: the family.
  const memberAt = new Array<{ f: Family; m: Member } | undefined>(catalogue.size);
  const familyAt = new Array<Family | undefined>(catalogue.size);
  const workers = snapshot.workers;
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i];
    if (w.phase !== 'ready') continue;
    let b = bookings.get(w.id);
    if (!b) bookings.set(w.id, (b = { used: 0, taken: 0, speed: 1 / (slow.get(w.id) ?? 1), over: false }));
    slots.push({ w, compute: computeOf(cfg, w.threads), b });
    const es = entries[i];
    for (let j = 0; j < w.variants.length; j++) {
      const v = w.variants[j];
      const e = es[j];
      if (v.state === 'unloading' || !e) continue;
      // Pinned: loaded explicitly, or taking traffic without an SLO (exact-variant traffic, which asked for this
      // very variant): it must stay.
      const pinned = v.pinned === true || (v.stats.arrivalQps > 0 && v.minSloMs === undefined);
      const holder = new Holder(w, b, v, pinned);
      let fm = memberAt[e.index];
      if (fm) fm.m.holders.push(holder);
      else {
        // Arrays made with their first element: most variants have one holder, most families one member.
        const m: Member = { e, holders: [holder] };
        const rank = catalogue.artifactOrder(e);
        let f = familyAt[rank];
        if (f) f.members.push(m);
        else families.push((familyAt[rank] = f = { artifact: e.artifact, rank, members: [m], demand: 0, minSlo: Infinity }));
        memberAt[e.index] = fm = { f, m };
      }
      const f = fm.f;
      f.demand += v.stats.arrivalQps;
      if (v.minSloMs !== undefined) f.minSlo = Math.min(f.minSlo, v.minSloMs);
    }
  }
  return { families, slots, bookings };
}

/**
 * The family's plan: held = max family demand over the history with this step's appended (and `ahead`, the demand
 * a forecast expects, when given); the primary variant needs want = held / (thr × target) replicas, thr at the
 * largest batch whose p95 fits half the tightest SLO seen. Returns the plan and the family's new history.
 */
export function planFamily(
  f: Family, cfg: PlacementConfig, catalogue: Catalogue, slo: SloThroughput, history: DemandHistory, ahead: ReadonlyMap<string, number> | undefined,
): { plan: Plan; history: readonly number[] } {
  const h = held(history.get(f.artifact), f.demand, cfg.holdTicks);
  const p = primaryOf(f, catalogue);
  const thr = throughputFor(p, f.minSlo, slo);
  const want = Math.max(maxOf(h), ahead?.get(f.artifact) ?? 0) / (thr * cfg.targetUtilisation);
  const whole = Math.ceil(want - 1e-9);
  const holders = memberOf(f, p.name)?.holders ?? [];
  let have = 0;
  for (const x of holders) have += x.replicas;
  // Replicas at their worker's speed (the count itself where no worker is slowed).
  let haveAtSpeed = 0;
  for (const x of holders) haveAtSpeed += x.replicas * x.b.speed;
  const each = computeEach(cfg, p);
  const perReplica = Math.min(each, (each * want) / Math.max(1, have, whole));
  return { plan: { p, holders, thr, want, whole, have, haveAtSpeed, perReplica, acted: false }, history: h };
}

/**
 * Books on each holder's worker the compute its replicas are planned to use: the primary's replicas their share of
 * the plan, a sibling's what its own demand keeps busy.
 */
export function bookFamily(f: Family, plan: Plan, cfg: PlacementConfig, slo: SloThroughput): void {
  for (const m of f.members) {
    const t = computeEach(cfg, m.e);
    const primary = m.e.name === plan.p.name;
    const sibling = primary ? 0 : throughputFor(m.e, f.minSlo, slo) * cfg.targetUtilisation;
    for (const x of m.holders) {
      const busy = primary ? x.replicas * plan.perReplica : Math.min(x.replicas * t, (t * x.demand) / sibling);
      x.b.used += busy / x.b.speed;
    }
  }
}

/** The families sorted by artifact id (as sorting the ids as strings would), through their ranks. */
export function inArtifactOrder(families: readonly Family[], catalogue: Catalogue): Family[] {
  const byRank = new Array<Family | undefined>(catalogue.size);
  for (const f of families) byRank[f.rank] = f;
  const out: Family[] = [];
  for (const f of byRank) if (f) out.push(f);
  return out;
}

export function memberOf(f: Family, name: string): Member | undefined {
  return f.members.find((m) => m.e.name === name);
}

/** A worker's compute: its threads, or one stream when it runs one batch at a time (oneBatchPerWorker). */
export function computeOf(cfg: Pick<PlacementConfig, 'oneBatchPerWorker'>, threads: number): number {
  return cfg.oneBatchPerWorker ? 1 : threads;
}

/** The compute one replica of `e` kept fully busy takes: its threads, or the whole stream (oneBatchPerWorker). */
export function computeEach(cfg: PlacementConfig, e: CatalogueEntry): number {
  return cfg.oneBatchPerWorker ? 1 : e.threads;
}

/**
 * `[...prev, x].slice(-n)`: the history with x appended, its last n entries. A full history of nothing but x (an
 * idle family's zeros) is the same afterwards and is shared instead of copied (histories are never mutated).
 */
function held(prev: readonly number[] | undefined, x: number, n: number): readonly number[] {
  if (!(Number.isInteger(n) && n > 0)) return [...(prev ?? []), x].slice(-n);
  if (prev?.length === n && allAre(prev, x)) return prev;
  const h = prev ? prev.slice(Math.max(0, prev.length + 1 - n)) : [];
  h.push(x);
  return h;
}

function allAre(xs: readonly number[], x: number): boolean {
  for (let i = 0; i < xs.length; i++) if (!Object.is(xs[i], x)) return false;
  return true;
}

/** Math.max(...xs) without spreading the array into arguments. */
function maxOf(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m || Number.isNaN(x)) m = x;
  return m;
}

/** Throughput of one replica of `e` at the largest batch whose p95 fits half the SLO (max batch without one). */
function throughputFor(e: CatalogueEntry, minSlo: number, slo: SloThroughput): number {
  return Number.isFinite(minSlo) ? slo.of(e, minSlo / 2) : replicaThroughput(e, e.maxBatch);
}

/**
 * The variant a family should run on: the cheapest of its artifact whose batch-1 p95 fits half its tightest SLO.
 * Without a known SLO (only exact-variant traffic, or a shell that does not report SLOs) it stays on the held
 * member with the most demand: the cheapest sibling might not meet what the callers need.
 */
function primaryOf(f: Family, catalogue: Catalogue): CatalogueEntry {
  if (!Number.isFinite(f.minSlo)) {
    // The member with the most demand (ties: the first name), the first one met when no demand compares.
    let busiest = f.members[0].e;
    let most = NaN;
    f.members.forEach((m, i) => {
      let d = 0;
      for (const h of m.holders) d += h.demand;
      if (i === 0 || d > most || (d === most && m.e.name < busiest.name)) {
        busiest = m.e;
        most = d;
      }
    });
    return busiest;
  }
  const any = f.members[0].e;
  const siblings = catalogue.siblingsByCost(any);
  const budget = f.minSlo / 2;
  return siblings.find((e) => p95At(e, 1) <= budget) ?? siblings.find((e) => memberOf(f, e.name)) ?? any;
}
