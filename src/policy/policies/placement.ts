// Cluster-level replica placement for `ours`: for every artifact in use (one accuracy level of one
// architecture), keep enough replicas of its cheapest suitable variant across workers for the family's
// recent peak demand at a target utilisation (proactive headroom), placed on the workers with the most
// free threads; shed replicas of surplus holders and of sibling variants; say how many threads it needs.

import { p95At, type Catalogue, type CatalogueEntry } from '../catalogue.ts';
import { replicaThroughput, sloBatch } from '../model-autoscaler.ts';
import type { ClusterSnapshot, ScalingAction, WorkerSnapshot } from '../scaling-policy.ts';

export interface PlacementConfig {
  /** Fraction of replica capacity to plan for. */
  targetUtilisation: number;
  /** Peak-hold window of demand, in ticks. */
  holdTicks: number;
  /** Shed a holder only when the rest still have this much more capacity than wanted (hysteresis). */
  shedMargin: number;
  /**
   * Shed a holder only while its own demand is at most this share of one replica's throughput (default: any).
   * The router adds holders on less busy workers when the busy one would miss the SLO (replicas share their
   * worker's threads with its other variants, which this per-replica count does not see); shedding those
   * while they still take traffic made placement and router undo each other every tick.
   */
  shedIdleShare?: number;
  /**
   * A sibling is unloaded in favour of the primary only after this long without a request (default 0): queries
   * that name the sibling itself (exact variant) arrive now and then, and each unload would make the next one
   * pay a cold start.
   */
  siblingIdleMs?: number;
}

/** artifact id → its demand (samples/s) in the last `holdTicks` ticks, newest last. */
export type DemandHistory = ReadonlyMap<string, readonly number[]>;

export interface PlacementResult {
  actions: ScalingAction[];
  history: DemandHistory;
  /** Variants that need replicas no worker has threads for. */
  unplaced: string[];
  /** Threads all families need at their held peak (for the worker autoscaler). */
  threadsNeeded: number;
}

interface Holder { w: WorkerSnapshot; replicas: number; demand: number; pinnedByTraffic: boolean; lastUsedAt: number }
interface Family { artifact: string; members: Map<string, { e: CatalogueEntry; holders: Holder[] }>; demand: number; minSlo: number }

function freeThreads(w: WorkerSnapshot, catalogue: Catalogue): number {
  let used = 0;
  for (const v of w.variants) {
    const e = catalogue.entry(v.variant);
    if (e && v.state !== 'unloading') used += (v.replicas + v.loading) * e.variant.config.threads;
  }
  return w.threads - used;
}

/**
 * The variant a family should run on: the cheapest of its artifact whose batch-1 p95 fits half its tightest SLO.
 * Without a known SLO (only exact-variant traffic, or a shell that does not report SLOs) it stays on the held
 * member with the most demand: the cheapest sibling might not meet what the callers need.
 */
function primaryOf(f: Family, catalogue: Catalogue): CatalogueEntry {
  if (!Number.isFinite(f.minSlo)) {
    const busiest = [...f.members.values()].map((m) => ({ e: m.e, d: m.holders.reduce((a, h) => a + h.demand, 0) }));
    return busiest.reduce((a, b) => (b.d > a.d || (b.d === a.d && b.e.name < a.e.name) ? b : a)).e;
  }
  const any = [...f.members.values()][0].e;
  const siblings = catalogue.byArchCost(any.arch).filter((e) => e.variant.artifactId === f.artifact);
  const budget = Number.isFinite(f.minSlo) ? f.minSlo / 2 : Infinity;
  return siblings.find((e) => p95At(e, 1) <= budget) ?? siblings.find((e) => f.members.has(e.name)) ?? any;
}

/**
 * One placement step. For each family (variants sharing an artifact) with a holder on a ready worker:
 * held = max family demand over the history; the primary variant needs held / (thr × target) replicas,
 * thr at the largest batch whose p95 fits half the tightest SLO seen. When its serving + loading replicas,
 * plus the threads its holders still have free (which the per-worker autoscaler fills), fall short, load it
 * on the ready workers with the most free threads, filling them; when the holders minus the least busy one
 * still exceed the need × shedMargin, unload it there. Sibling variants are unloaded one holder per step.
 */
export function placeReplicas(snapshot: ClusterSnapshot, cfg: PlacementConfig, history: DemandHistory): PlacementResult {
  const { catalogue } = snapshot;
  const families = new Map<string, Family>();
  const free = new Map<string, number>();
  for (const w of snapshot.workers) {
    if (w.phase !== 'ready') continue;
    free.set(w.id, freeThreads(w, catalogue));
    for (const v of w.variants) {
      const e = catalogue.entry(v.variant);
      if (!e || v.state === 'unloading') continue;
      const artifact = e.variant.artifactId;
      let f = families.get(artifact);
      if (!f) families.set(artifact, (f = { artifact, members: new Map(), demand: 0, minSlo: Infinity }));
      let m = f.members.get(e.name);
      if (!m) f.members.set(e.name, (m = { e, holders: [] }));
      // Traffic without an SLO is exact-variant traffic: it asked for this very variant, which must stay.
      m.holders.push({ w, replicas: v.replicas + v.loading, demand: v.stats.arrivalQps, pinnedByTraffic: v.stats.arrivalQps > 0 && v.minSloMs === undefined, lastUsedAt: v.lastUsedAt });
      f.demand += v.stats.arrivalQps;
      if (v.minSloMs !== undefined) f.minSlo = Math.min(f.minSlo, v.minSloMs);
    }
  }
  const nextHistory = new Map<string, number[]>();
  const actions: ScalingAction[] = [];
  const unplaced: string[] = [];
  let threadsNeeded = 0;
  for (const artifact of [...families.keys()].sort()) {
    const f = families.get(artifact)!;
    const h = [...(history.get(artifact) ?? []), f.demand].slice(-cfg.holdTicks);
    nextHistory.set(artifact, h);
    const held = Math.max(...h);
    const p = primaryOf(f, catalogue);
    const thr = replicaThroughput(p, Number.isFinite(f.minSlo) ? sloBatch(p, f.minSlo / 2) : p.maxBatch);
    const vThreads = p.variant.config.threads;
    const want = held / (thr * cfg.targetUtilisation);
    threadsNeeded += want * vThreads;
    // Siblings move onto the primary only when the family's SLO is known (else nothing says the primary is better).
    for (const [name, m] of Number.isFinite(f.minSlo) ? f.members : []) {
      if (name === p.name || m.holders.some((h) => h.pinnedByTraffic || snapshot.now - h.lastUsedAt < (cfg.siblingIdleMs ?? 0))) continue;
      const least = m.holders.reduce((a, b) => (b.demand < a.demand || (b.demand === a.demand && b.w.id > a.w.id) ? b : a));
      if (f.members.has(p.name) || m.holders.length > 1) actions.push({ kind: 'unload', worker: least.w.id, variant: name });
    }
    const holders = f.members.get(p.name)?.holders ?? [];
    const have = holders.reduce((a, x) => a + x.replicas, 0);
    const localRoom = holders.reduce((a, x) => a + Math.max(0, Math.floor((free.get(x.w.id) ?? 0) / vThreads)), 0);
    let short = Math.ceil(want - have - localRoom);
    if (have === 0) short = Math.max(1, short);
    if (short > 0) {
      const holding = new Set(holders.map((x) => x.w.id));
      const candidates = snapshot.workers
        .filter((w) => w.phase === 'ready' && !holding.has(w.id) && (free.get(w.id) ?? 0) >= vThreads && w.memoryBudgetMB - w.memoryUsedMB >= p.memoryMB)
        .sort((a, b) => (free.get(b.id) ?? 0) - (free.get(a.id) ?? 0) || a.utilisation - b.utilisation || (a.id < b.id ? -1 : 1));
      for (const w of candidates) {
        if (short <= 0) break;
        const n = Math.min(short, Math.floor((free.get(w.id) ?? 0) / vThreads));
        actions.push({ kind: 'load', worker: w.id, variant: p.name });
        for (let i = 1; i < n; i++) actions.push({ kind: 'addReplica', worker: w.id, variant: p.name });
        free.set(w.id, (free.get(w.id) ?? 0) - n * vThreads);
        short -= n;
      }
      if (short > 0) unplaced.push(p.name);
      continue;
    }
    if (holders.length > 1) {
      const least = holders.reduce((a, b) => (b.demand < a.demand || (b.demand === a.demand && b.w.id > a.w.id) ? b : a));
      const idle = least.demand <= (cfg.shedIdleShare ?? Infinity) * thr && !least.pinnedByTraffic;
      if (idle && have - least.replicas >= Math.max(1, want * cfg.shedMargin)) actions.push({ kind: 'unload', worker: least.w.id, variant: p.name });
    }
  }
  return { actions, history: nextHistory, unplaced, threadsNeeded };
}
