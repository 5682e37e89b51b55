// Worker autoscaler (controller, every few seconds): add a worker of a class when that class's workers
// are hot or a variant could not be placed, remove one after sustained low use, within min/max per
// class, with a back-off after adding. Pure: (snapshot, state, now) → (actions, next state).

import type { ClusterSnapshot, ScalingAction, WorkerSnapshot } from './scaling-policy.ts';

export interface WorkerClassLimits {
  workerClass: string;
  min: number;
  max: number;
}

export interface WorkerAutoscalerConfig {
  /** Decisions are made at most this often (ms). INFaaS: 2 s. */
  periodMs: number;
  /** `min`: hot when the least-utilised ready worker is above hotUtilisation (INFaaS); `mean`: when the mean is. */
  hotRule: 'min' | 'mean';
  hotUtilisation: number;
  /**
   * Workers to add when hot: `one` (INFaaS), or `proportional` = enough to bring the mean utilisation
   * back to targetUtilisation (at least one).
   */
  step: 'one' | 'proportional';
  targetUtilisation: number;
  /** No scale-out for this long after one (ms). INFaaS: ~30 s. */
  backoffMs: number;
  /** Low use: least-utilised worker ≤ lowMinUtilisation, or mean ≤ lowMeanUtilisation. */
  lowMinUtilisation: number;
  lowMeanUtilisation: number;
  /** Remove after this many consecutive low checks (INFaaS: 15). */
  lowChecks: number;
  /**
   * How many to remove then: `one` (INFaaS), `half-excess` = half the workers above `wanted`, or `excess` = all
   * of them (at least one either way).
   */
  removeStep?: 'one' | 'half-excess' | 'excess';
  /** Worker classes this autoscaler manages; other classes are left alone. */
  limits: readonly WorkerClassLimits[];
  /** Class to add when the dispatcher could not place a variant. */
  placementClass: string;
}

/** INFaaS's VM autoscaler (REFERENCE.md §1), for one class with min = the initial count. */
export function infaasWorkerAutoscaler(workerClass: string, initial: number, max: number): WorkerAutoscalerConfig {
  return {
    periodMs: 2000, hotRule: 'min', hotUtilisation: 0.8, step: 'one', targetUtilisation: 0.8, backoffMs: 30_000,
    lowMinUtilisation: 0.05, lowMeanUtilisation: 0.3, lowChecks: 15,
    limits: [{ workerClass, min: initial, max }], placementClass: workerClass,
  };
}

export interface WorkerAutoscalerState {
  lastRunAt: number;
  /** class → time (ms) of the last scale-out. */
  lastAddAt: Readonly<Record<string, number>>;
  /** class → consecutive low checks. */
  lowChecks: Readonly<Record<string, number>>;
}

export const EMPTY_WORKER_AUTOSCALER_STATE: WorkerAutoscalerState = { lastRunAt: -Infinity, lastAddAt: {}, lowChecks: {} };

/**
 * One step of the worker autoscaler. Per managed class (workers in phase starting or ready count; draining
 * ones do not):
 * - below min: add up to min (no back-off); above max: remove the least-utilised.
 * - hot (per hotRule, over ready workers; a class with no ready worker is never hot) or, for placementClass,
 *   a variant could not be placed: add `step` workers unless within backoffMs of the last add or at max.
 * - otherwise low (per lowMin/lowMean) for lowChecks consecutive checks and above min: remove one worker —
 *   the least-utilised ready one, preferring one whose every variant is also held by another ready worker
 *   (its load moves without a cold start) — and restart the count. Any non-low check resets it.
 * - `wanted` (optional, per class): a demand-based estimate of the workers needed. Fewer workers than that is
 *   hot too (add the difference, or `step`, whichever is more); low use only counts while the count is
 *   above it.
 * Runs at most once per periodMs; between periods it returns no actions and the same state.
 */
export function autoscaleWorkers(
  snapshot: ClusterSnapshot, cfg: WorkerAutoscalerConfig, state: WorkerAutoscalerState, now: number,
  wanted?: ReadonlyMap<string, number>,
): {
  actions: ScalingAction[]; state: WorkerAutoscalerState;
} {
  if (now - state.lastRunAt < cfg.periodMs) return { actions: [], state };
  const actions: ScalingAction[] = [];
  const lastAddAt = { ...state.lastAddAt };
  const lowChecks = { ...state.lowChecks };
  for (const lim of cfg.limits) {
    const cls = lim.workerClass;
    const mine = snapshot.workers.filter((w) => w.workerClass === cls && w.phase !== 'draining');
    const ready = mine.filter((w) => w.phase === 'ready');
    const count = mine.length;
    if (count < lim.min) {
      for (let i = count; i < lim.min; i++) actions.push({ kind: 'addWorker', workerClass: cls });
      lastAddAt[cls] = now;
      lowChecks[cls] = 0;
      continue;
    }
    if (count > lim.max) {
      for (const victim of pickVictims(ready, snapshot.workers, 1)) actions.push({ kind: 'removeWorker', worker: victim.id });
      continue;
    }
    const utils = ready.map((w) => w.utilisation);
    const mean = utils.length ? utils.reduce((a, b) => a + b, 0) / utils.length : 0;
    const least = utils.length ? Math.min(...utils) : 0;
    const want = wanted?.get(cls);
    const short = want !== undefined && want > count;
    const hot = ready.length > 0 && (cfg.hotRule === 'min' ? least : mean) > cfg.hotUtilisation;
    const unplaced = cls === cfg.placementClass && snapshot.unplaced.length > 0;
    if (hot || unplaced || short) {
      lowChecks[cls] = 0;
      if (now - (lastAddAt[cls] ?? -Infinity) < cfg.backoffMs || count >= lim.max) continue;
      let n = 1;
      if (cfg.step === 'proportional' && hot) n = Math.max(1, Math.ceil((mean * ready.length) / cfg.targetUtilisation) - count);
      if (short) n = Math.max(n, want - count);
      n = Math.min(n, lim.max - count);
      for (let i = 0; i < n; i++) actions.push({ kind: 'addWorker', workerClass: cls });
      lastAddAt[cls] = now;
      continue;
    }
    const low = ready.length > 0 && (least <= cfg.lowMinUtilisation || mean <= cfg.lowMeanUtilisation) && (want === undefined || want < count);
    if (!low || count <= lim.min || count > ready.length) {
      lowChecks[cls] = 0;
      continue;
    }
    const checks = (lowChecks[cls] ?? 0) + 1;
    if (checks < cfg.lowChecks) {
      lowChecks[cls] = checks;
      continue;
    }
    let n = 1;
    if (cfg.removeStep === 'excess' && want !== undefined) n = Math.max(1, count - want);
    if (cfg.removeStep === 'half-excess' && want !== undefined) n = Math.max(1, Math.floor((count - want) / 2));
    n = Math.min(n, count - lim.min);
    for (const victim of pickVictims(ready, snapshot.workers, n)) actions.push({ kind: 'removeWorker', worker: victim.id });
    lowChecks[cls] = 0;
  }
  return { actions, state: { lastRunAt: now, lastAddAt, lowChecks } };
}

/**
 * Up to n workers to remove, one after another: each time the least-utilised worker left, preferring one whose
 * variants all have serving replicas elsewhere (as the cluster is before any removal); ties by id. A worker holding
 * a variant loaded explicitly (pinned) is never picked: removing it would unload the variant.
 */
function pickVictims(pool: readonly WorkerSnapshot[], all: readonly WorkerSnapshot[], n: number): WorkerSnapshot[] {
  if (n <= 0) return [];
  const candidates = pool.filter((w) => !w.variants.some((v) => v.pinned === true && v.state !== 'unloading'));
  const holders = new Map<string, number>();
  for (const w of all) {
    if (w.phase !== 'ready') continue;
    for (const v of w.variants) if (v.replicas > 0 && v.state !== 'unloading') holders.set(v.variant, (holders.get(v.variant) ?? 0) + 1);
  }
  const covered = new Map(candidates.map((w) => [w, w.variants.every((v) => v.replicas === 0 || v.state === 'unloading' || (holders.get(v.variant) ?? 0) > 1)]));
  const better = (w: WorkerSnapshot, best: WorkerSnapshot) => {
    const cw = covered.get(w), cb = covered.get(best);
    return cw !== cb ? cw! : w.utilisation < best.utilisation || (w.utilisation === best.utilisation && w.id < best.id);
  };
  // With comparable utilisations `better` is a strict order, and taking the best left n times is taking the
  // first n of a sort; a NaN utilisation is not comparable, so then the best is looked for n times over.
  if (candidates.every((w) => !Number.isNaN(w.utilisation))) {
    return candidates.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0)).slice(0, n);
  }
  const out: WorkerSnapshot[] = [];
  let left = candidates;
  while (out.length < n && left.length > 0) {
    const best = left.reduce((b, w) => (better(w, b) ? w : b));
    out.push(best);
    left = left.filter((w) => w !== best);
  }
  return out;
}
