// Model autoscaler (per worker, every monitoring window): horizontal (add/remove replicas of a variant)
// and vertical (move a variant's load to another variant of the same architecture, loading the new one
// before unloading the old), scale-down only after sustained low load, scale-to-zero of idle variants.
// Pure: (worker snapshot, state, now) → (actions, next state).

import { p95At, type Catalogue, type CatalogueEntry } from './catalogue.ts';
import type { ScalingAction, VariantSnapshot, WorkerSnapshot } from './scaling-policy.ts';
import { workerEntries, type WorkerEntries } from './snapshot-entries.ts';
import { replicaThroughput, sloBatch, sloThroughput, type SloThroughput } from './throughput.ts';

export { replicaThroughput, sloBatch } from './throughput.ts';

export interface ModelAutoscalerConfig {
  /** Scale up when demand > upMargin × target × capacity (INFaaS CPU: 0.95). */
  upMargin: number;
  /** Fraction of capacity a variant should run at (INFaaS: 1 = run to capacity; lower keeps headroom). */
  targetUtilisation: number;
  /** Remove one replica after demand stayed ≤ (replicas − 1) × thr × target this long (ms). INFaaS CPU: 10 s. */
  scaleDownAfterMs: number;
  /** Unload a variant that received nothing this long (ms); Infinity: never (INFaaS unloads only to make room). */
  idleUnloadMs: number;
  /**
   * Batch at which a replica's throughput is estimated: `observed` = the window's average batch (INFaaS);
   * `slo` = the largest batch whose p95 fits half the tightest SLO routed to it (what dynamic batching reaches
   * under load).
   */
  capacityBatch: 'observed' | 'slo';
  /**
   * Vertical scaling: `none`; `infaas` = when scaling up, move the pooled demand to the fastest variant of
   * the architecture if replicating would cost more than `verticalRatio` × its load latency;
   * `cost-aware` = no upgrade here (more capacity comes from replicas, on this worker or others), but
   * downgrade to a cheaper variant of the architecture that keeps the accuracy and latency of the queries
   * it serves.
   */
  vertical: 'none' | 'infaas' | 'cost-aware';
  verticalRatio: number;
  /** Variants the autoscaler may never switch away from or unload (fixed-variant baselines). */
  pinned?: ReadonlySet<string>;
  /** Variants not to unload for being idle (a forecast expects load for them soon); they may still be switched. */
  keepLoaded?: ReadonlySet<string>;
}

/** INFaaS's CPU model autoscaler (REFERENCE.md §1). */
export const INFAAS_CPU_MODEL_AUTOSCALER: ModelAutoscalerConfig = {
  upMargin: 0.95,
  targetUtilisation: 1,
  scaleDownAfterMs: 10_000,
  idleUnloadMs: Infinity,
  capacityBatch: 'observed',
  vertical: 'infaas',
  verticalRatio: 1.5,
};

/** Per-worker memory of the autoscaler: when each variant started to look over-provisioned, pending switches. */
export interface ModelAutoscalerState {
  /** variant → time (ms) since which it has asked for one replica fewer. */
  lowSince: Readonly<Record<string, number>>;
  /** Vertical moves waiting for the new variant to be serving before the old one is unloaded. */
  switches: ReadonlyArray<{ from: string; to: string; since: number }>;
}

export const EMPTY_MODEL_AUTOSCALER_STATE: ModelAutoscalerState = { lowSince: {}, switches: [] };

const NOTHING: ReadonlySet<string> = new Set();

/** The batch used for capacity estimates of a variant on a worker. */
export function capacityBatchOf(e: CatalogueEntry, v: VariantSnapshot, cfg: Pick<ModelAutoscalerConfig, 'capacityBatch'>): number {
  if (cfg.capacityBatch === 'observed') return Math.max(1, v.stats.avgBatch);
  return v.minSloMs !== undefined ? sloBatch(e, v.minSloMs / 2) : e.maxBatch;
}

/**
 * One step of a worker's model autoscaler.
 * For each serving variant: thr = per-replica throughput at the capacity batch; demand = arrival rate;
 * capacity = replicas × thr.
 * - Pending vertical switch whose new variant serves: unload the old one (load before unload).
 * - demand > upMargin·target·capacity: need = ⌈(demand − upMargin·target·capacity)/(target·thr)⌉ more
 *   replicas, bounded by free threads and memory; with `infaas` vertical, switch instead when
 *   need × loadMs > verticalRatio × (load latency of the fastest variant × replicas it needs).
 * - demand ≤ (replicas − 1)·thr·target for scaleDownAfterMs: remove one replica (then the timer restarts).
 * - no arrival for idleUnloadMs and nothing queued: unload (scale to zero).
 * - `cost-aware`: a cheaper variant of the architecture that meets the accuracy and SLO of what this one
 *   served and can carry its demand replaces it (load first; unload once it serves).
 * `entries`: the catalogue entries of the worker's variants, when the caller has looked them up already.
 */
export function autoscaleModels(
  worker: WorkerSnapshot, catalogue: Catalogue, cfg: ModelAutoscalerConfig, state: ModelAutoscalerState, now: number,
  entries: WorkerEntries = workerEntries(worker, catalogue),
): { actions: ScalingAction[]; state: ModelAutoscalerState } {
  const actions: ScalingAction[] = [];
  if (worker.phase !== 'ready') return { actions, state };
  let heldMap: Map<string, VariantSnapshot> | undefined;
  const held = () => (heldMap ??= new Map(worker.variants.map((v) => [v.variant, v])));
  const holds = (name: string) => worker.variants.some((v) => v.variant === name);
  const slo = sloThroughput(catalogue);
  let freeThreads = worker.threads;
  let freeMemory = worker.memoryBudgetMB - worker.memoryUsedMB;
  for (let i = 0; i < worker.variants.length; i++) {
    const v = worker.variants[i];
    const e = entries[i];
    if (e && v.state !== 'unloading') freeThreads -= (v.replicas + v.loading) * e.threads;
  }

  // Load before unload: finish switches whose target serves.
  const switches: Array<{ from: string; to: string; since: number }> = [];
  const switching = state.switches.length > 0 ? new Set<string>() : NOTHING;
  for (const s of state.switches) {
    const to = held().get(s.to);
    const from = held().get(s.from);
    if (!to || to.state === 'unloading') continue; // the new variant went away: abandon
    if (to.replicas > 0) {
      if (from && from.state !== 'unloading') actions.push({ kind: 'unload', worker: worker.id, variant: s.from });
      continue;
    }
    switches.push(s);
    (switching as Set<string>).add(s.from).add(s.to);
  }

  let lowSince: Record<string, number> | undefined;
  for (let i = 0; i < worker.variants.length; i++) {
    const v = worker.variants[i];
    const e = entries[i];
    if (!e || v.state === 'unloading' || v.replicas === 0 || switching.has(v.variant)) continue;
    const pinned = v.pinned === true || (cfg.pinned?.has(v.variant) ?? false);
    const t = cfg.targetUtilisation;
    const thr = cfg.capacityBatch === 'slo' && v.minSloMs !== undefined ? slo.of(e, v.minSloMs / 2) : replicaThroughput(e, capacityBatchOf(e, v, cfg));
    const demand = v.stats.arrivalQps;
    const capacity = v.replicas * thr;
    const threadsEach = e.threads;

    if (!pinned && cfg.idleUnloadMs !== Infinity && now - v.lastUsedAt >= cfg.idleUnloadMs && v.stats.queueLength === 0 && !cfg.keepLoaded?.has(v.variant)) {
      actions.push({ kind: 'unload', worker: worker.id, variant: v.variant });
      continue;
    }

    if (demand > cfg.upMargin * t * capacity) {
      const need = Math.ceil((demand - cfg.upMargin * t * capacity) / (t * thr));
      const room = Math.min(Math.floor(freeThreads / threadsEach), Math.floor(freeMemory / Math.max(e.memoryMB, 1e-9)));
      const move = pinned ? undefined : verticalMove(e, v, need, room, demand, worker, catalogue, cfg, holds, slo);
      if (move) {
        actions.push({ kind: 'load', worker: worker.id, variant: move.to.name });
        for (let i = 1; i < move.replicas; i++) actions.push({ kind: 'addReplica', worker: worker.id, variant: move.to.name });
        switches.push({ from: v.variant, to: move.to.name, since: now });
        freeThreads -= move.replicas * move.to.threads;
        freeMemory -= move.replicas * move.to.memoryMB;
        continue;
      }
      const add = Math.min(need, room);
      for (let i = 0; i < add; i++) actions.push({ kind: 'addReplica', worker: worker.id, variant: v.variant });
      freeThreads -= add * threadsEach;
      freeMemory -= add * e.memoryMB;
      continue;
    }

    if (cfg.vertical === 'cost-aware' && !pinned) {
      const cheaper = cheaperVariant(e, v, demand, catalogue, cfg, holds, slo);
      if (cheaper && cheaper.memoryMB <= freeMemory && cheaper.threads <= freeThreads + threadsEach * v.replicas) {
        actions.push({ kind: 'load', worker: worker.id, variant: cheaper.name });
        switches.push({ from: v.variant, to: cheaper.name, since: now });
        freeMemory -= cheaper.memoryMB;
        continue;
      }
    }

    if (v.replicas > 1 && demand <= (v.replicas - 1) * thr * t) {
      const since = state.lowSince[v.variant] ?? now;
      if (now - since >= cfg.scaleDownAfterMs) actions.push({ kind: 'removeReplica', worker: worker.id, variant: v.variant });
      else (lowSince ??= {})[v.variant] = since;
    }
  }
  // Nothing to remember (most workers, most of the time): the shared empty state.
  return { actions, state: lowSince || switches.length > 0 ? { lowSince: lowSince ?? {}, switches } : EMPTY_MODEL_AUTOSCALER_STATE };
}

/** The vertical alternative to adding `need` replicas, or undefined to replicate. */
function verticalMove(
  e: CatalogueEntry, v: VariantSnapshot, need: number, room: number, demand: number, worker: WorkerSnapshot,
  catalogue: Catalogue, cfg: ModelAutoscalerConfig, holds: (name: string) => boolean, slo: SloThroughput,
): { to: CatalogueEntry; replicas: number } | undefined {
  if (cfg.vertical !== 'infaas') return undefined;
  let best: { to: CatalogueEntry; replicas: number; thr: number } | undefined;
  for (const c of catalogue.byArchCost(e.arch)) {
    if (c.name === e.name || holds(c.name)) continue;
    const thr = cfg.capacityBatch === 'slo' ? slo.of(c, (v.minSloMs ?? Infinity) / 2) : replicaThroughput(c, c.maxBatch);
    const replicas = Math.max(1, Math.ceil(demand / (thr * cfg.targetUtilisation)));
    const threads = replicas * c.threads;
    if (threads > worker.threads || replicas * c.memoryMB > worker.memoryBudgetMB - worker.memoryUsedMB) continue;
    if (!best || thr > best.thr || (thr === best.thr && c.costPer1k < best.to.costPer1k)) best = { to: c, replicas, thr };
  }
  if (!best) return undefined;
  // INFaaS: replicate unless its load-latency cost exceeds verticalRatio × the upgrade's.
  const replicateCost = need * e.loadMs;
  const upgradeCost = best.to.loadMs * best.replicas;
  return replicateCost > cfg.verticalRatio * upgradeCost ? best : undefined;
}

/** A variant that still meets the accuracy and the tightest SLO of the samples `v` served. */
function keepsPromise(c: CatalogueEntry, v: VariantSnapshot): boolean {
  if (v.maxMinAccuracy !== undefined && c.accuracy < v.maxMinAccuracy) return false;
  return v.minSloMs === undefined || p95At(c, 1) <= v.minSloMs / 2;
}

/** The cheapest variant of the architecture, cheaper than `e`, that keeps its promises and carries the demand on one replica. */
function cheaperVariant(
  e: CatalogueEntry, v: VariantSnapshot, demand: number, catalogue: Catalogue, cfg: ModelAutoscalerConfig,
  holds: (name: string) => boolean, slo: SloThroughput,
): CatalogueEntry | undefined {
  if (v.minSloMs === undefined) return undefined; // served nothing this window: nothing to go by
  for (const c of catalogue.archCostOf(e)) {
    if (c.costPer1k >= e.costPer1k) return undefined;
    if (!keepsPromise(c, v)) continue;
    const thr = slo.of(c, v.minSloMs / 2);
    // Whether the worker holds it already is asked last, for the one candidate that would do.
    if (demand <= thr * cfg.targetUtilisation && !holds(c.name)) return c;
  }
  return undefined;
}
