// The contract between autoscaling policies and whatever drives them (the simulator today, the live
// controller later): a snapshot of the cluster in, scaling actions and the next policy state out.
// Pure: the clock is the `now` argument, randomness (if any) comes from the state's seed.

import type { ReplicaState, WindowStats, WorkerClass } from '../core/types.ts';
import type { Catalogue } from './catalogue.ts';
import type { ClusterView } from './cluster-view.ts';
import type { Selection } from './select-variant.ts';

/** One variant's one-second window on one worker (defined with the worker's ReplicaStats in core types). */
export type { WindowStats };

/** The health of a variant on a worker (the part of ReplicaState the monitor decides). */
export type HealthState = 'active' | 'overloaded' | 'interfered';

/** One variant held by a worker. */
export interface VariantSnapshot {
  variant: string;
  /** Serving replicas (loaded). */
  replicas: number;
  /** Replicas still loading. */
  loading: number;
  /** `loading` while only loading replicas exist, `unloading` while draining, else the health flag. */
  state: ReplicaState;
  stats: WindowStats;
  /** Last time (ms) a sample arrived for it; its load time when none has. */
  lastUsedAt: number;
  /** Tightest latency SLO (ms) and highest minimum accuracy among samples routed to it in the window. */
  minSloMs?: number;
  maxMinAccuracy?: number;
  /** Loaded explicitly by an operator: never unloaded, shed or switched away from until unloaded by name. */
  pinned?: boolean;
}

export type WorkerPhase = 'starting' | 'ready' | 'draining';

/** One worker as the policies see it. */
export interface WorkerSnapshot {
  id: string;
  workerClass: string;
  phase: WorkerPhase;
  /** When it was requested (ms). */
  startedAt: number;
  threads: number;
  memoryBudgetMB: number;
  memoryUsedMB: number;
  /** Busy thread-time / thread-time over the last window, 0..1. */
  utilisation: number;
  variants: readonly VariantSnapshot[];
}

/** The whole cluster at one instant. */
export interface ClusterSnapshot {
  now: number;
  catalogue: Catalogue;
  workerClasses: readonly WorkerClass[];
  workers: readonly WorkerSnapshot[];
  /** Variants the dispatcher wanted to cold-start since the last tick but no worker could hold. */
  unplaced: readonly string[];
}

/**
 * What a policy asks the shell to do. The shell applies them in order; an action that no longer makes
 * sense (unknown worker, no memory) is skipped, never an error.
 * - load: start one replica of a variant not held by the worker (it serves once loaded).
 * - unload: stop routing to the variant on the worker; it drains its queue, then frees its memory.
 * - addReplica / removeReplica: one more / one fewer replica of a variant the worker holds
 *   (removing the last one is an unload).
 * - setHealth: flag the variant on the worker; the dispatcher avoids overloaded/interfered replicas.
 * - addWorker: provision a worker of the class. removeWorker: drain it, then release it.
 */
export type ScalingAction =
  | { kind: 'load'; worker: string; variant: string }
  | { kind: 'unload'; worker: string; variant: string }
  | { kind: 'addReplica'; worker: string; variant: string }
  | { kind: 'removeReplica'; worker: string; variant: string }
  | { kind: 'setHealth'; worker: string; variant: string; state: HealthState }
  | { kind: 'addWorker'; workerClass: string }
  | { kind: 'removeWorker'; worker: string };

/** One class of queries in a workload: what the application asks for and how often. */
export interface QueryClass {
  name: string;
  /** Relative weight in the mix. */
  weight: number;
  useCase: string;
  minAccuracy: number;
  latencyMs: number;
}

/** A query as the router sees it (samples of batch 1 in the simulator). */
export interface QueryDemand {
  useCase: string;
  minAccuracy: number;
  latencyMs: number;
  batch: number;
}

/**
 * What an operator (a schedule of known events) or a predictor knows about the load to come, for the policies
 * that can use it (`ours`).
 */
export interface DemandForecast {
  /** Expected total query rate (samples/s) at time t, on the policy's clock (ms). */
  rate(t: number): number;
  /** How far ahead to look, ms: a worker's start time and a tick or two. */
  leadMs: number;
  /** The highest rate over [from, to], when the forecast can say exactly (else it is sampled from `rate`). */
  peak?(from: number, to: number): number;
}

/** What a policy may know when it starts (a live controller passes its config and a forecast, if any). */
export interface PolicyContext {
  catalogue: Catalogue;
  workerClasses: readonly WorkerClass[];
  /** The expected query mix. */
  mix: readonly QueryClass[];
  /** Expected peak rate (qps): only provisioning-for-peak policies use it. */
  peakQps: number;
}

/** A worker to have ready at time 0, with the variants to preload (one replica each, `replicas` when given). */
export interface InitialWorker {
  workerClass: string;
  variants: ReadonlyArray<{ variant: string; replicas: number }>;
}

/**
 * An autoscaling policy: pure functions over plain data.
 *
 * Call protocol (both the simulator and the live controller):
 * 1. `init(ctx)` once: the initial state and the workers to start (preloaded).
 * 2. every `tickMs`: build a ClusterSnapshot from the last monitoring window, call
 *    `tick(snapshot, now, state)`, apply the actions in order, keep the returned state for the next call.
 * 3. on every query: `route(query, view, catalogue, now)` picks the variant (and, when loaded, the worker
 *    of the replica the view offered); `loaded: false` means the shell cold-starts it on a worker.
 *    Throws SLO_UNSATISFIABLE when nothing can serve it (the shell rejects the query).
 * Nothing here reads a clock, sleeps or does I/O; the same inputs give the same outputs.
 */
export interface ScalingPolicy<S = unknown> {
  readonly name: string;
  /** One line for tables and --help. */
  readonly description: string;
  /** Period of `tick`, ms (the monitoring window). */
  readonly tickMs: number;
  init(ctx: PolicyContext): { state: S; workers: InitialWorker[] };
  tick(snapshot: ClusterSnapshot, now: number, state: S): { actions: ScalingAction[]; state: S };
  route(query: QueryDemand, view: ClusterView, catalogue: Catalogue, now: number, state: S): Selection;
}
