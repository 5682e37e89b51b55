// The replicas one worker holds: loads variants on demand (cold start) through a Backend, queues requests per
// replica in a dynamic batcher (batcher.ts: FIFO, merged runs, deadline-aware waits and early rejection; one
// session never runs two batches at once), shares one load among concurrent cold starts of the same variant,
// evicts least-recently-used idle replicas when the memory budget would be exceeded, and measures each
// variant every second (variant-monitor.ts) for its status. One latency estimator for the whole worker learns
// each variant's run and load times against its profile; the batchers admit requests on its corrected figures and
// on the work queued across all replicas, and the status shows it per replica. Its public methods are the
// worker's service.
//
// Note: onnxruntime-node runs a session synchronously on the main thread (inside a setImmediate), so one
// worker process runs one batch at a time across all its replicas, and answers nothing else meanwhile.

import { performance } from 'node:perf_hooks';
import { InfaasError, asInfaasError, invalid, invalidModel, unavailable } from '../core/errors.ts';
import type { ReplicaState, ReplicaStatus, Tensor, WorkerStatus } from '../core/types.ts';
import type { Backend, LoadedModel } from '../backend/backend.ts';
import type { InferOptions, InferReply, VariantSpec } from '../protocol/worker-protocol.ts';
import { Batcher } from './batcher.ts';
import { checkAgainstModel, validateInferOptions, validateSpec, validateTensor } from './validate.ts';
import type { HealthConfig } from '../policy/variant-health.ts';
import { LatencyEstimator } from '../policy/latency-estimator.ts';
import { VariantHealthTracker } from './variant-health-tracker.ts';
import { VariantMonitor } from './variant-monitor.ts';

export interface ReplicaManagerOptions {
  id: string;
  workerClass: string;
  /** Threads of the worker class; a variant's session never gets more intra-op threads than this. */
  classThreads: number;
  memoryBudgetMB: number;
  backend: Backend;
  /**
   * Local file path of a repository key holding exactly the bytes with `sha256` when given
   * (ModelRepository.localPath; a repository that downloads verifies its cache against the hash).
   */
  resolvePath: (key: string, sha256?: string) => Promise<string>;
  /** Wall clock for lastUsedAt/updatedAt, ms since epoch. */
  now?: () => number;
  /** Longest a request with a deadline is held back for others to join its batch, ms (default 2). */
  maxBatchWaitMs?: number;
  /** Period of the per-variant monitor, ms (default 1000). */
  monitorIntervalMs?: number;
  /** Thresholds of the overloaded/interfered classifier (default: INFaaS's CPU thresholds). */
  health?: HealthConfig;
  /** Most requests queued per replica; more are refused with RESOURCE_EXHAUSTED (default 1024). */
  maxQueue?: number;
}

interface Replica {
  spec: VariantSpec;
  state: ReplicaState;
  model?: LoadedModel;
  /** Settles when the load ends (rejects when it failed). */
  ready: Promise<void>;
  loadMs: number;
  /** The load was this worker's first of the artifact (it read and verified the file too). */
  firstLoad: boolean;
  /** Memory charged against the budget, MiB: the profiled figure, or the measured RSS growth without one. */
  memoryMB: number;
  /** Set once loaded. */
  batcher?: Batcher;
  /** Key of a request's sample shape, when the model's sample dims are not all fixed (such requests merge only alike). */
  groupOf?: (shape: readonly number[]) => string;
  monitor: VariantMonitor;
  health: VariantHealthTracker;
  /** Requests waiting for the load, waiting in the queue, or running. */
  queued: number;
  lastUsedAt: number;
  /** Order of last use (a counter, so ties within one millisecond still order correctly). */
  useSeq: number;
  /** Called when `queued` drops to 0 (used by unload). */
  onIdle?: () => void;
  /** Resolves once the replica has left the worker (evicted or unloaded). */
  gone: Promise<void>;
  markGone: () => void;
}

export class ReplicaManager {
  readonly id: string;
  readonly workerClass: string;
  address = '';
  readonly startedAt: number;
  readonly #o: ReplicaManagerOptions;
  readonly #now: () => number;
  readonly #replicas = new Map<string, Replica>();
  /** Session releases in flight (evicted replicas), awaited by close(). */
  readonly #releases = new Set<Promise<void>>();
  #closed = false;
  #useSeq = 0;
  readonly #monitorTimer: NodeJS.Timeout;
  readonly #estimator = new LatencyEstimator();
  /** Artifacts this worker has loaded at least once (a later load finds the file read and verified). */
  readonly #loadedArtifacts = new Set<string>();

  constructor(opts: ReplicaManagerOptions) {
    this.#o = opts;
    this.id = opts.id;
    this.workerClass = opts.workerClass;
    this.#now = opts.now ?? Date.now;
    this.startedAt = this.#now();
    this.#monitorTimer = setInterval(() => this.#closeWindows(), opts.monitorIntervalMs ?? 1000);
    this.#monitorTimer.unref();
  }

  /**
   * Runs `input` on `spec`'s replica, loading it first if this worker does not hold it; the batcher may merge
   * it with other requests for the variant. With `opts.budgetMs` the request has a deadline (see InferOptions).
   */
  async infer(spec: VariantSpec, input: Tensor, opts?: InferOptions): Promise<InferReply> {
    validateSpec(spec);
    validateTensor(input);
    const arrived = performance.now();
    const deadline = opts?.budgetMs === undefined ? undefined : arrived + validateInferOptions(opts).budgetMs!;
    const r = await this.#acquire(spec);
    r.monitor.arrived(input.shape[0]);
    try {
      const coldStart = r.state === 'loading';
      if (coldStart) await r.ready;
      const readyAt = performance.now();
      checkAgainstModel(spec.name, input.shape, r.model!.inputShape);
      // A request that waited for a cold start runs (late if it must) rather than being rejected: the load was
      // the system's choice, and refusing the request once the load is paid would help no one.
      const run = await r.batcher!.submit(input, coldStart ? undefined : deadline, r.groupOf?.(input.shape));
      r.monitor.answered(input.shape[0], run.queueMs + run.inferenceMs);
      const timing = { queueMs: run.queueMs, loadMs: coldStart ? readyAt - arrived : 0, inferenceMs: run.inferenceMs, ...(coldStart ? { firstLoad: r.firstLoad } : {}) };
      return { outputs: run.outputs, coldStart, timing, batch: run.batch };
    } catch (e) {
      r.monitor.failed(input.shape[0], e instanceof InfaasError && (e.code === 'DEADLINE_EXCEEDED' || e.code === 'RESOURCE_EXHAUSTED'));
      throw e;
    } finally {
      this.#release(r);
    }
  }

  /** Loads `spec` unless held; resolves when it is active. */
  async load(spec: VariantSpec): Promise<{ loadMs: number; alreadyLoaded: boolean }> {
    validateSpec(spec);
    const t0 = performance.now();
    const r = await this.#acquire(spec);
    try {
      const alreadyLoaded = r.state !== 'loading';
      await r.ready;
      return { loadMs: alreadyLoaded ? 0 : performance.now() - t0, alreadyLoaded };
    } finally {
      this.#release(r);
    }
  }

  /** Unloads a variant once its queued requests finish. False when it is not held. */
  async unload(variant: string): Promise<boolean> {
    if (typeof variant !== 'string') throw invalid('unload needs a variant name');
    const r = this.#replicas.get(variant);
    if (!r) return false;
    if (r.state === 'unloading') {
      await r.gone;
      return true;
    }
    await r.ready.catch(() => undefined);
    if (this.#replicas.get(variant) !== r) return false;
    r.state = 'unloading';
    await this.#idle(r);
    this.#evict(r);
    return true;
  }

  status(): WorkerStatus & { rssMB: number } {
    const replicas: ReplicaStatus[] = [];
    let used = 0;
    for (const r of this.#replicas.values()) {
      used += r.memoryMB;
      const stats = r.monitor.last;
      const state = r.state === 'active' ? r.health.state : r.state;
      const estimate = this.#estimator.describe(r.spec.name);
      replicas.push({ variant: r.spec.name, state, queued: r.queued, lastUsedAt: r.lastUsedAt, memoryMB: r.memoryMB, ...(stats ? { stats } : {}), ...(estimate ? { estimate } : {}) });
    }
    return {
      id: this.id,
      workerClass: this.#o.workerClass,
      address: this.address,
      pid: process.pid,
      startedAt: this.startedAt,
      updatedAt: this.#now(),
      memoryBudgetMB: this.#o.memoryBudgetMB,
      memoryUsedMB: used,
      replicas,
      rssMB: process.memoryUsage.rss() / 2 ** 20,
    };
  }

  /** Unloads everything (queued requests finish first); later calls reject with UNAVAILABLE. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#monitorTimer);
    await Promise.all([...this.#replicas.keys()].map((v) => this.unload(v).catch(() => false)));
    await Promise.all(this.#releases);
  }

  /** The replica for `spec`, pinned (queued+1) so it cannot be evicted; starts its load when absent. */
  async #acquire(spec: VariantSpec): Promise<Replica> {
    for (;;) {
      if (this.#closed) throw unavailable(`worker ${this.id} is shutting down`);
      const held = this.#replicas.get(spec.name);
      if (held && held.state === 'unloading') {
        await held.gone;
        continue;
      }
      const r = held ?? this.#startLoad(spec);
      r.queued++;
      return r;
    }
  }

  #release(r: Replica): void {
    r.queued--;
    r.lastUsedAt = this.#now();
    r.useSeq = ++this.#useSeq;
    if (r.queued === 0) r.onIdle?.();
  }

  #idle(r: Replica): Promise<void> {
    if (r.queued === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = r.onIdle;
      r.onIdle = () => {
        r.onIdle = prev;
        prev?.();
        resolve();
      };
    });
  }

  #startLoad(spec: VariantSpec): Replica {
    const need = spec.memoryMB;
    const budget = this.#o.memoryBudgetMB;
    if (need > budget) throw unavailable(`variant ${spec.name} needs ${need} MB but worker ${this.id} has a ${budget} MB budget`);
    const victims = this.#victimsFor(need);
    if (!victims) {
      throw unavailable(`worker ${this.id} cannot fit ${spec.name} (${need} MB): ${this.#usedMB()} of ${budget} MB held by busy replicas`);
    }
    for (const v of victims) this.#evict(v);
    let markGone = () => {};
    const gone = new Promise<void>((resolve) => (markGone = resolve));
    const r: Replica = {
      spec, state: 'loading', ready: Promise.resolve(), loadMs: 0, firstLoad: !this.#loadedArtifacts.has(spec.artifactKey), memoryMB: need, monitor: new VariantMonitor(performance.now()), health: new VariantHealthTracker(this.#o.health),
      queued: 0, lastUsedAt: this.#now(), useSeq: ++this.#useSeq, gone, markGone,
    };
    r.ready = this.#load(r);
    r.ready.catch(() => undefined);
    this.#replicas.set(spec.name, r);
    return r;
  }

  /** Idle replicas to evict, least recently used first, so that `need` more MiB fit; null when impossible. */
  #victimsFor(need: number): Replica[] | null {
    let free = this.#o.memoryBudgetMB - this.#usedMB();
    if (free >= need) return [];
    const idle = [...this.#replicas.values()].filter((r) => r.state === 'active' && r.queued === 0).sort((a, b) => a.useSeq - b.useSeq);
    const victims: Replica[] = [];
    for (const r of idle) {
      if (free >= need) break;
      victims.push(r);
      free += r.memoryMB;
    }
    return free >= need ? victims : null;
  }

  #usedMB(): number {
    let used = 0;
    for (const r of this.#replicas.values()) used += r.memoryMB;
    return used;
  }

  async #load(r: Replica): Promise<void> {
    const { spec } = r;
    const started = performance.now();
    try {
      const path = await this.#o.resolvePath(spec.artifactKey, spec.sha256);
      const rssBefore = process.memoryUsage.rss();
      const t0 = performance.now();
      let model: LoadedModel;
      try {
        model = await this.#o.backend.load({ path, threads: Math.min(spec.threads, this.#o.classThreads), optLevel: spec.optLevel });
      } catch (e) {
        throw e instanceof InfaasError ? e : invalidModel(`cannot load ${spec.name} (${spec.artifactKey}): ${(e as Error).message}`);
      }
      await warmUp(model);
      const ready = performance.now();
      r.loadMs = ready - t0;
      this.#loadedArtifacts.add(spec.artifactKey);
      if (spec.loadMs !== undefined) this.#estimator.observeLoad(spec.name, ready - started, spec.loadMs, r.firstLoad, ready, spec.artifactKey);
      r.model = model;
      r.batcher = this.#batcherFor(r, model);
      if (!(spec.memoryMB > 0)) r.memoryMB = Math.max(1, Math.round((process.memoryUsage.rss() - rssBefore) / 2 ** 20));
      if (r.state === 'loading') r.state = 'active';
    } catch (e) {
      if (this.#replicas.get(spec.name) === r) this.#replicas.delete(spec.name);
      r.markGone();
      throw asInfaasError(e);
    }
  }

  /** Removes an idle replica now (its memory is free for accounting at once) and releases its session. */
  #evict(r: Replica): void {
    r.state = 'unloading';
    if (this.#replicas.get(r.spec.name) === r) this.#replicas.delete(r.spec.name);
    r.markGone();
    const model = r.model;
    r.model = undefined;
    if (!model) return;
    const p = model.unload().catch(() => undefined).finally(() => this.#releases.delete(p));
    this.#releases.add(p);
  }

  /**
   * The batcher of a freshly loaded replica. A model with a fixed batch dimension never merges requests; one
   * whose sample dims are not all fixed merges only requests of the same sample shape.
   */
  #batcherFor(r: Replica, model: LoadedModel): Batcher {
    const dims = model.inputShape;
    if (!dims.length || dims.slice(1).some((d) => !(d > 0))) r.groupOf = (shape) => shape.slice(1).join('x');
    return new Batcher({
      variant: r.spec.name,
      maxBatch: dims.length && dims[0] > 0 ? 1 : r.spec.maxBatch,
      latency: r.spec.latency ?? [],
      maxWaitMs: this.#o.maxBatchWaitMs ?? 2,
      run: (t) => model.infer(t),
      monitor: r.monitor,
      now: () => performance.now(),
      estimator: this.#estimator,
      othersMs: (now) => this.#backlogMs(now, r),
      ...(this.#o.maxQueue !== undefined ? { maxQueue: this.#o.maxQueue } : {}),
    });
  }

  /** Work queued on this worker's replicas other than `except`, ms. */
  #backlogMs(now: number, except: Replica): number {
    let ms = 0;
    for (const r of this.#replicas.values()) if (r !== except && r.batcher) ms += r.batcher.backlogMs(now);
    return ms;
  }

  /** Closes every variant's monitor window and updates its health state. */
  #closeWindows(): void {
    const now = performance.now();
    for (const r of this.#replicas.values()) {
      const stats = r.monitor.roll(now, r.queued, r.spec.latency);
      r.health.update(stats, this.#now());
    }
  }
}

/** One run on zeros when the input shape is known (dynamic dims as 1), so the first request pays no first-run cost. */
async function warmUp(model: LoadedModel): Promise<void> {
  const shape = model.inputShape.map((d) => (d > 0 ? d : 1));
  if (!shape.length) return;
  let n = 1;
  for (const d of shape) n *= d;
  if (n > 1 << 22) return;
  await model.infer({ shape, data: new Float32Array(n) }).catch(() => undefined);
}
