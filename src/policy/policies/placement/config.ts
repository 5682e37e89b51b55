// Placement's settings and what one placement step returns (src/policy/policies/placement.ts).

import type { ScalingAction } from '../../scaling-policy.ts';

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
  /**
   * Most replicas of one variant on one worker (default: the worker's threads / the variant's threads). The live
   * workers hold one replica per variant and run one batch at a time: 1 there.
   */
  maxReplicasPerWorker?: number;
  /**
   * A worker running at least this many times slower than its profiles (workerSlowdown: a noisy neighbour) counts
   * at its real speed (default: never): its replicas as 1/slowdown of one, the work planned on it beyond its
   * threads as threads needed (so the worker count covers it), and it takes no new replicas while slowed.
   */
  slowdownAt?: number;
  /** Move a replica off each worker whose planned compute exceeds its threads (default off): see rebalance. */
  rebalance?: boolean;
  /**
   * Workers run one batch at a time across all their replicas (the live workers: onnxruntime-node runs a session
   * on the worker's main thread). A worker's compute is then one stream whatever its class's threads, and a
   * replica kept fully busy takes all of it, a 1-thread variant on a 2-thread worker included; compute and
   * `threadsNeeded` are counted in streams (default off: in threads, batches of different replicas in parallel).
   */
  oneBatchPerWorker?: boolean;
}

/** artifact id → its demand (samples/s) in the last `holdTicks` ticks, newest last. */
export type DemandHistory = ReadonlyMap<string, readonly number[]>;

export interface PlacementResult {
  actions: ScalingAction[];
  history: DemandHistory;
  /** Variants that need replicas no worker has the compute or the memory for. */
  unplaced: string[];
  /** Threads (streams, with oneBatchPerWorker) all families need at their held peak (for the worker autoscaler). */
  threadsNeeded: number;
  /** Memory (MB) the planned replicas and the siblings still held take (for the worker autoscaler). */
  memoryNeededMB: number;
}
