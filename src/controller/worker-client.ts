// What the controller needs from a worker, whatever the transport: load/unload a variant, run a batch,
// report status. The framed-TCP implementation lives in src/transport/.
//
// Contract: every promise settles. When the worker process dies or the connection drops, every pending call
// rejects with an InfaasError code UNAVAILABLE ("worker w1 exited while running <variant>") and `closed`
// resolves; no call hangs. A worker loads a variant on demand when `infer` names one it does not hold (a cold
// start), evicting least-recently-used variants when its memory budget would be exceeded.

import type { OptLevel, Tensor, WorkerStatus } from '../core/types.ts';

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
}

export interface InferTiming {
  /** Time waiting in the worker's queue for the variant. */
  queueMs: number;
  /** Load time paid by this request (0 unless cold start). */
  loadMs: number;
  inferenceMs: number;
}

export interface InferReply {
  outputs: Record<string, Tensor>;
  coldStart: boolean;
  timing: InferTiming;
}

export interface WorkerClient {
  readonly id: string;
  readonly address: string;
  infer(spec: VariantSpec, input: Tensor): Promise<InferReply>;
  load(spec: VariantSpec): Promise<{ loadMs: number; alreadyLoaded: boolean }>;
  unload(variant: string): Promise<boolean>;
  status(): Promise<WorkerStatus>;
  /** Resolves when the connection is gone (worker exit or close()). */
  readonly closed: Promise<void>;
  close(): void;
}
