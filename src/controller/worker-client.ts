// What the controller needs from a worker, whatever the transport: load/unload a variant, run a batch,
// report status. The framed-TCP implementation lives in src/transport/.
//
// Contract: every promise settles. When the worker process dies or the connection drops, every pending call
// rejects with an InfaasError code UNAVAILABLE ("worker w1 exited while running <variant>") and `closed`
// resolves; no call hangs. A worker loads a variant on demand when `infer` names one it does not hold (a cold
// start), evicting least-recently-used variants when its memory budget would be exceeded.

import type { BatchLatency, OptLevel, Tensor, WorkerStatus } from '../core/types.ts';

/** Everything a worker needs to load and run one variant. */
export interface VariantSpec {
  name: string;
  /** Key of the ONNX file in the model repository the worker was started with. */
  artifactKey: string;
  threads: number;
  optLevel: OptLevel;
  maxBatch: number;
  /** Profiled memory of one replica, MiB (used for the worker's memory budget). */
  memoryMB: number;
  /**
   * Profiled latency per batch size, ascending by batch (the variant's Profile.latency). The worker's dynamic
   * batcher interpolates it to predict how long a merged batch takes; without it the worker never waits to
   * fill a batch and rejects a request only once its deadline has passed.
   */
  latency?: BatchLatency[];
}

/** Per-call options of `infer`. */
export interface InferOptions {
  /**
   * Milliseconds of the request's latency SLO still left when the call is made (the SLO minus the time already
   * spent in the controller). The worker takes `its now + budgetMs` as the request's deadline: it never holds
   * the request back to fill a batch past the point where it could still finish in time, and rejects it at
   * once with DEADLINE_EXCEEDED ("the request needed ~X ms but only Y ms of its SLO remained", details
   * {variant, neededMs, remainingMs}) when even running alone it would finish late. A request that had to wait
   * for its variant to load (a cold start) is exempt: it runs, late if need be. Absent: no deadline; the
   * request runs as soon as the variant's replica is free (merged with whatever is queued then), never waiting.
   */
  budgetMs?: number;
}

export interface InferTiming {
  /** Time waiting in the worker's queue for the variant. */
  queueMs: number;
  /** Load time paid by this request (0 unless cold start). */
  loadMs: number;
  inferenceMs: number;
}

/** The merged batch a request ran in, itself included. */
export interface MergedBatch {
  /** Requests merged into the run. */
  requests: number;
  /** Samples in the run (the batch dimension given to the session). */
  samples: number;
}

export interface InferReply {
  outputs: Record<string, Tensor>;
  coldStart: boolean;
  /** queueMs includes the time the request was held back by the batcher waiting for others. */
  timing: InferTiming;
  /** The run this request was part of (workers before dynamic batching omit it). */
  batch?: MergedBatch;
}

export interface WorkerClient {
  readonly id: string;
  readonly address: string;
  /** Runs `input` ([batch, ...sample shape]) on `spec`; the worker may merge it with other requests for `spec`. */
  infer(spec: VariantSpec, input: Tensor, opts?: InferOptions): Promise<InferReply>;
  load(spec: VariantSpec): Promise<{ loadMs: number; alreadyLoaded: boolean }>;
  unload(variant: string): Promise<boolean>;
  status(): Promise<WorkerStatus>;
  /** Resolves when the connection is gone (worker exit or close()). */
  readonly closed: Promise<void>;
  close(): void;
}
