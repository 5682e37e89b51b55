// Worker choice for a selected variant: the least-waiting healthy replica when it is loaded, else the
// least busy worker with room (then the most free memory), or the one where LRU eviction makes room, for a cold start.
// Pure: the clock is an argument.

import { unavailable } from '../core/errors.ts';
import type { ReplicaState, Variant } from '../core/types.ts';
import { isServing, replicaWait } from './cluster-view.ts';
import { chooseEvictions } from './evict.ts';

/** One replica as seen on a worker. `ReplicaStatus` plus the controller's wait estimate. */
export interface WorkerReplicaView {
  variant: string;
  state: ReplicaState;
  queued: number;
  /** Expected wait (ms) of a request arriving now on this replica. */
  estimatedWaitMs: number;
  memoryMB: number;
  lastUsedAt: number;
  /** For a loading replica: when it should be ready (same clock as `now`). */
  readyAt?: number;
}

/** One worker as the policy sees it. */
export interface WorkerView {
  id: string;
  /** Hardware class; when some workers match the variant's `profile.workerClass`, they are preferred. */
  workerClass?: string;
  memoryBudgetMB: number;
  memoryUsedMB: number;
  /** Requests waiting or running on the worker, all variants together. */
  queued: number;
  /** Expected wait (ms) of new work on the worker: the work in flight there, all variants together (default 0). */
  waitMs?: number;
  replicas: readonly WorkerReplicaView[];
  /** The worker takes no new work before this time (e.g. INFaaS's 2 s back-off after a burst). */
  skipUntil?: number;
}

export interface WorkerChoice {
  workerId: string;
  /** True when the variant must be loaded on the worker first. */
  coldStart: boolean;
  /** Variants the worker should unload first (least recently used), [] when it has room. */
  evictions: string[];
  reason: string;
}

/** The id of the worker that should run `variant` now. See planWorker. */
export function chooseWorker(variant: Variant, workers: readonly WorkerView[], now: number): string {
  return planWorker(variant, workers, now).workerId;
}

/**
 * Chooses where a request for `variant` runs.
 * 1. A serving (active/loading) replica with the least wait at `now`; ties: fewer queued on the replica,
 *    then on the worker, then worker id. (INFaaS looks at the 3 least-loaded; this looks at all.)
 * 2. Else a cold start on a worker not holding the variant, preferring the variant's worker class:
 *    the least wait among those it fits, then the most free memory, then fewer queued, then id; else the worker where LRU
 *    eviction frees enough with the fewest evictions, ties to fewer queued then id.
 * 3. Else the overloaded/interfered replica with the least wait (degraded, better than refusing).
 * Workers with `skipUntil > now` are passed over unless every worker is.
 * Throws UNAVAILABLE when there is no worker, or none can hold the variant.
 */
export function planWorker(variant: Variant, workers: readonly WorkerView[], now: number): WorkerChoice {
  if (workers.length === 0) throw unavailable('no workers are running', { variant: variant.name });
  let pool = workers.filter((w) => !(w.skipUntil !== undefined && w.skipUntil > now));
  if (pool.length === 0) pool = workers.slice();
  const name = variant.name;

  const serving = leastWaiting(pool, name, now, true);
  if (serving) return { workerId: serving.id, coldStart: false, evictions: [], reason: `replica of ${name} on ${serving.id} has the least wait` };

  const free = pool.filter((w) => !w.replicas.some((r) => r.variant === name && r.state !== 'inactive'));
  const cls = variant.profile.workerClass;
  const preferred = free.filter((w) => w.workerClass === cls);
  const cold = coldStart(preferred, variant) ?? coldStart(free.filter((w) => w.workerClass !== cls), variant);
  if (cold) return cold;

  const flagged = leastWaiting(pool, name, now, false);
  if (flagged) {
    return { workerId: flagged.id, coldStart: false, evictions: [], reason: `every replica of ${name} is overloaded or interfered and no worker has room for another; using ${flagged.id}` };
  }
  const largest = Math.max(...workers.map((w) => w.memoryBudgetMB));
  throw unavailable(`no worker can hold ${name}: it needs ${variant.profile.memoryMB} MiB; the largest budget is ${largest} MiB and busy replicas cannot be evicted`, {
    variant: name, memoryMB: variant.profile.memoryMB,
  });
}

function leastWaiting(pool: readonly WorkerView[], name: string, now: number, healthy: boolean): WorkerView | undefined {
  let best: WorkerView | undefined;
  let bestWait = Infinity;
  let bestQueued = Infinity;
  for (const w of pool) {
    for (const r of w.replicas) {
      if (r.variant !== name || isServing(r.state) !== healthy || r.state === 'inactive' || r.state === 'unloading') continue;
      const wait = replicaWait(r, now);
      if (!best || wait < bestWait || (wait === bestWait && (r.queued < bestQueued
        || (r.queued === bestQueued && (w.queued < best.queued || (w.queued === best.queued && w.id < best.id)))))) {
        best = w;
        bestWait = wait;
        bestQueued = r.queued;
      }
    }
  }
  return best;
}

function coldStart(pool: readonly WorkerView[], variant: Variant): WorkerChoice | undefined {
  const need = variant.profile.memoryMB;
  let roomy: WorkerView | undefined;
  for (const w of pool) {
    if (w.memoryBudgetMB - w.memoryUsedMB < need) continue;
    const [wait, best] = [w.waitMs ?? 0, roomy?.waitMs ?? 0];
    if (!roomy || wait < best || (wait === best && (freeOf(w) > freeOf(roomy) || (freeOf(w) === freeOf(roomy) && fewerQueued(w, roomy))))) roomy = w;
  }
  if (roomy) {
    const why = roomy.waitMs ? `the least busy worker with room (${freeOf(roomy)} MiB free)` : `the worker with the most free memory (${freeOf(roomy)} MiB)`;
    return { workerId: roomy.id, coldStart: true, evictions: [], reason: `cold start of ${variant.name} on ${roomy.id}, ${why}` };
  }
  let pick: { w: WorkerView; ev: string[] } | undefined;
  for (const w of pool) {
    let ev: string[];
    try {
      ev = chooseEvictions(w.replicas, need, w.memoryBudgetMB, w.memoryUsedMB);
    } catch {
      continue;
    }
    if (!pick || ev.length < pick.ev.length || (ev.length === pick.ev.length && fewerQueued(w, pick.w))) pick = { w, ev };
  }
  if (!pick) return undefined;
  return { workerId: pick.w.id, coldStart: true, evictions: pick.ev, reason: `cold start of ${variant.name} on ${pick.w.id} after evicting ${pick.ev.join(', ')} (least recently used)` };
}

function freeOf(w: WorkerView): number {
  return w.memoryBudgetMB - w.memoryUsedMB;
}

function fewerQueued(a: WorkerView, b: WorkerView): boolean {
  return a.queued < b.queued || (a.queued === b.queued && a.id < b.id);
}
