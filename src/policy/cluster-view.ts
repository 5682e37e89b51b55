// What the selection policies need to know about the cluster right now: which variants have replicas,
// where, in what state and how busy. Implemented by the controller (from worker heartbeats) and by the
// simulator; `clusterViewOf` is a ready-made Map-backed implementation.

import type { ReplicaState, Variant } from '../core/types.ts';

/** One loaded (or loading) replica of a variant on one worker. */
export interface ReplicaView {
  readonly workerId: string;
  /** One of loading | active | overloaded | interfered (inactive/unloading replicas are not listed). */
  readonly state: ReplicaState;
  /** Requests waiting or running on this replica. */
  readonly queued: number;
  /** Expected time (ms) a request arriving now waits before its batch starts on this replica. */
  readonly estimatedWaitMs: number;
  /**
   * For a `loading` replica: when it is expected to be ready, on the same clock as `now`.
   * The policies count a wait of at least `readyAt − now`.
   */
  readonly readyAt?: number;
}

/**
 * The cluster as the selection policies see it. Both methods must be O(1)-ish (a Map lookup), because
 * selection calls them on every query.
 */
export interface ClusterView {
  /** The replicas of a variant (states loading/active/overloaded/interfered); undefined or [] when none. */
  replicas(variant: string): readonly ReplicaView[] | undefined;
  /**
   * Names of the variants that have at least one listed replica. Selection iterates this small set
   * instead of the whole catalogue to find loaded candidates.
   */
  loadedVariants(): Iterable<string>;
  /** How many variants loadedVariants() yields; selection scans whichever of that set and the request's group is smaller. */
  loadedCount(): number;
  /**
   * The most threads a worker has or can be started with (optional; no limit when absent). Selection never
   * cold-starts a variant that needs more: a worker would run it on fewer threads than its profile was measured
   * with, so the profile's latency would be a promise the worker cannot keep.
   */
  maxThreads?(): number;
  /**
   * Corrections of the profiles by what the live system measured (optional; the profiles as they are when absent).
   * Selection predicts with them: overhead + wait + p95 × runFactor, or overhead + loadMs + p95 × runFactor.
   */
  corrections?(): ProfileCorrections | undefined;
}

/** The profiles corrected by measurement (src/policy/latency-estimator.ts feeds them). */
export interface ProfileCorrections {
  /** Observed / profiled run time of `variant` at `batch` (1: as profiled). */
  runFactor(variant: string, batch: number): number;
  /** Expected time (ms) to load `variant` for a cold start in this cluster (its profile says `profile.loadMs`). */
  loadMs(variant: Variant): number;
  /** Expected cost of a request outside the workers' queues, loads and runs (transport, controller), ms. */
  overheadMs(): number;
}

/** True for replica states that may take new requests. */
export function isServing(state: ReplicaState): boolean {
  return state === 'active' || state === 'loading';
}

/** The wait (ms) a request arriving at `now` would see on a replica. */
export function replicaWait(r: Pick<ReplicaView, 'estimatedWaitMs' | 'readyAt'>, now: number): number {
  if (r.readyAt !== undefined && r.readyAt - now > r.estimatedWaitMs) return r.readyAt - now;
  return r.estimatedWaitMs;
}

/**
 * The serving replica with the least wait at `now` (ties: fewer queued, then worker id), or undefined
 * when no replica is serving (all overloaded/interfered, or none).
 */
export function bestServingReplica(rs: readonly ReplicaView[] | undefined, now: number): ReplicaView | undefined {
  if (!rs) return undefined;
  let best: ReplicaView | undefined;
  let bestWait = Infinity;
  for (const r of rs) {
    if (!isServing(r.state)) continue;
    const w = replicaWait(r, now);
    if (!best || w < bestWait || (w === bestWait && (r.queued < best.queued || (r.queued === best.queued && r.workerId < best.workerId)))) {
      best = r;
      bestWait = w;
    }
  }
  return best;
}

/** A ClusterView over a map from variant name to its replicas (entries with no replicas are ignored). */
export function clusterViewOf(replicas: ReadonlyMap<string, readonly ReplicaView[]>): ClusterView {
  const loaded: string[] = [];
  for (const [name, rs] of replicas) if (rs.length > 0) loaded.push(name);
  return {
    replicas: (variant) => replicas.get(variant),
    loadedVariants: () => loaded,
    loadedCount: () => loaded.length,
  };
}

/** A ClusterView with nothing loaded. */
export const EMPTY_CLUSTER: ClusterView = clusterViewOf(new Map());
