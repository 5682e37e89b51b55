// The vocabulary of the system (see DESIGN.md): use cases, architectures, artifacts, variants, profiles.
// Plain data only: every other layer depends on these types and nothing here depends on anything.

/** A task + dataset + per-sample input shape, e.g. classification/fashion-mnist with shape [1, 28, 28]. */
export interface UseCase {
  /** `${task}/${dataset}` */
  id: string;
  task: string;
  dataset: string;
  /** Per-sample input shape (without the batch dimension), e.g. [1, 28, 28]. */
  inputShape: number[];
  /** Class names, index-aligned with the model output, when the task has labels. */
  labels?: string[];
}

export type Precision = 'fp32' | 'int8';

/** One ONNX file of an architecture. Accuracy is a property of the artifact. */
export interface Artifact {
  /** `${arch}.${precision}`, e.g. `fmnist-cnn-m.fp32` */
  id: string;
  arch: string;
  precision: Precision;
  /** Key of the ONNX file in the model repository. */
  key: string;
  bytes: number;
  sha256: string;
  inputName: string;
  outputName: string;
  /** Top-1 accuracy on the use case's validation set, in percent (0..100), measured. */
  accuracy: number;
}

/** One trained model for a use case (the original INFaaS's "parent"). */
export interface Architecture {
  name: string;
  useCase: string;
  /** Short free text, e.g. "CNN 2x conv(32,64)". */
  description?: string;
  artifacts: Artifact[];
  registeredAt: string;
}

export type BackendKind = 'ort-cpu';
export type OptLevel = 'basic' | 'all';

/** The knobs that turn an artifact into a variant. */
export interface VariantConfig {
  backend: BackendKind;
  /** Intra-op threads of the session. */
  threads: number;
  maxBatch: number;
  optLevel: OptLevel;
}

/** Latency at one batch size, milliseconds. */
export interface BatchLatency {
  batch: number;
  p50: number;
  p95: number;
}

/** The measured numbers of one variant. */
export interface Profile {
  /** Top-1 accuracy in percent, from the artifact. */
  accuracy: number;
  /** Session creation + first run, milliseconds. */
  loadMs: number;
  /** Ascending by batch, up to maxBatch; always includes batch 1 and maxBatch. */
  latency: BatchLatency[];
  /** Resident memory added by one loaded replica, MiB. */
  memoryMB: number;
  /** Inferences (samples) per second on one replica at its best batch size up to maxBatch. */
  peakThroughput: number;
  workerClass: string;
  /** Price per hour of the worker class the variant needs. */
  costPerHour: number;
  /** Cost of 1,000 inferences at peak throughput, same currency as costPerHour. */
  costPer1k: number;
  /** ISO time of measurement, or 'supplied' for a precomputed profile. */
  measuredAt: string;
}

/** artifact x backend x threads x max batch x optimisation level: what is profiled, loaded and chosen. */
export interface Variant {
  /** e.g. `fmnist-cnn-m.fp32.t1.b8.all` */
  name: string;
  arch: string;
  useCase: string;
  artifactId: string;
  config: VariantConfig;
  profile: Profile;
}

/** A worker class: a kind of worker hardware with a price. */
export interface WorkerClass {
  name: string;
  threads: number;
  memoryMB: number;
  pricePerHour: number;
}

/** State of one variant on one worker. */
export type ReplicaState = 'inactive' | 'loading' | 'active' | 'overloaded' | 'interfered' | 'unloading';

/** What a worker says about one variant it holds. */
export interface ReplicaStatus {
  variant: string;
  state: ReplicaState;
  /** Requests waiting or running on this variant. */
  queued: number;
  lastUsedAt: number;
  memoryMB: number;
  /** The worker monitor's figures for the last window (absent until the first window closes). */
  stats?: ReplicaStats;
  /** What this worker measured of the variant against its profile (absent until it ran or loaded it). */
  estimate?: LatencyEstimate;
}

/** A variant's measured latency and load time against its profile (observed / profiled; 1: as profiled). */
export interface LatencyEstimate {
  /** Run time / profiled p50, per batch bucket (batches up to maxBatch), and how many runs the figure averages. */
  runs: Array<{ maxBatch: number; factor: number; observed: number }>;
  /** Load time / profiled load time: a worker's first load of the artifact, and reloads. */
  firstLoadFactor?: number;
  loadFactor?: number;
}

/**
 * What a worker measured for one variant over the last monitoring window (1 s by default).
 * Latencies are per *batch execution* on a replica (not queueing): that is what the profile predicts.
 * All fields are 0 when nothing happened in the window.
 */
export interface WindowStats {
  /** Samples that arrived for this variant on this worker, per second. */
  arrivalQps: number;
  /** Samples completed, per second. */
  completedQps: number;
  /** Samples waiting or running at the end of the window. */
  queueLength: number;
  /** Mean samples per executed batch. */
  avgBatch: number;
  /** Mean / median / 95th percentile batch execution latency, ms. */
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
  /** 95th percentile end-to-end latency (queueing + execution) of the samples completed, ms. */
  e2eP95Ms: number;
  /** Replicas serving (active, overloaded or interfered) during the window. */
  replicas: number;
  /**
   * Over the window's batch runs, each run's time divided by the profile at that run's own batch: the median of
   * time / profiled p50, and the 95th percentile of time / profiled p95 (about 1 when the worker runs as
   * profiled, whatever mix of batch sizes ran). Absent or 0 when no profile is known. The latencies above
   * compared with the profile at the *mean* batch read a mix of small and large batches as slowness.
   */
  slowdownP50?: number;
  slowdownP95?: number;
}

/**
 * What a worker's monitor measured for one variant over its last window (about one second). The first nine
 * fields are WindowStats (above, what the scaling policies read), so a
 * ReplicaStats can be handed to them as is. Rates are per second, latencies milliseconds; all 0 when nothing
 * happened in the window.
 */
export interface ReplicaStats extends WindowStats {
  /** Median worker-side latency of the requests answered, ms. */
  e2eP50Ms: number;
  /** Requests that arrived / finished (answered, failed or rejected), per second. */
  arrivalRps: number;
  completedRps: number;
  /** Requests held when the window closed: waiting for a load, queued or running (as ReplicaStatus.queued). */
  outstanding: number;
  /** Batches executed in the window. */
  runs: number;
  /** Requests rejected early with DEADLINE_EXCEEDED in the window. */
  rejected: number;
  /** Profiled p50 / p95 latency at the window's average batch (rounded up), ms; 0 without a profile. */
  profileP50Ms: number;
  profileP95Ms: number;
  /** Length of the window, ms. */
  windowMs: number;
}

/** What a worker says about itself. */
export interface WorkerStatus {
  id: string;
  workerClass: string;
  address: string;
  pid?: number;
  startedAt: number;
  /** Heartbeat time (ms since epoch). */
  updatedAt: number;
  memoryBudgetMB: number;
  memoryUsedMB: number;
  replicas: ReplicaStatus[];
}

/** A dense float32 tensor; data is row-major. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export function useCaseId(task: string, dataset: string): string {
  return `${task}/${dataset}`;
}

export function variantName(artifactId: string, c: VariantConfig): string {
  return `${artifactId}.t${c.threads}.b${c.maxBatch}.${c.optLevel}`;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
