// The online query path: select a variant (pure policy, on profiles corrected by measurement), choose a worker
// (with the wait of the work in flight on each), admit the request only when it can still meet its SLO there
// (admission-control.ts: else 429 RESOURCE_EXHAUSTED with when to retry, trying up to three workers first), run the
// batch there with what is left of the request's latency SLO as its deadline (the worker checks it again), retry
// once on another worker when the one running it dies (inference is idempotent), feed what the reply measured back
// to the estimator, and shape the reply (outputs, top-k labels, variant, worker, cold start, the merged batch it ran
// in, timing, the prediction, retries).

import { performance } from 'node:perf_hooks';
import { InfaasError, asInfaasError, invalid, notFound, unavailable } from '../core/errors.ts';
import type { QuerySpec } from '../core/query.ts';
import type { Tensor, UseCase, Variant, WorkerStatus } from '../core/types.ts';
import { selectVariant, type Selection, type SelectionRequest } from '../policy/select-variant.ts';
import { observeReply, queueFull, refusal, tooLateToStart } from './admission-control.ts';
import { PROBE_AFTER_MS } from '../policy/admission.ts';
import { eventLoopLagMs } from './loop-lag.ts';
import type { Catalogue } from '../policy/catalogue.ts';
import type { ClusterView } from '../policy/cluster-view.ts';
import type { QueryDemand } from '../policy/scaling-policy.ts';
import { chooseWorker } from '../policy/choose-worker.ts';
import type { ModelIndex } from './model-index.ts';
import type { LiveClusterView } from './live-cluster-view.ts';
import type { InferOptions, MergedBatch, WorkerClient } from '../protocol/worker-protocol.ts';
import { MemoryPins, type PinSet } from './pins.ts';
import { specOf } from './variant-spec.ts';
import { topKOf, type Prediction } from './top-k.ts';

export { specOf } from './variant-spec.ts';
export type { Prediction } from './top-k.ts';

/** Where the dispatcher finds workers. Implemented by the WorkerPool. */
export interface WorkerSource {
  /** Connected workers. */
  clients(): WorkerClient[];
  get(id: string): WorkerClient | undefined;
  /** Latest status of every worker (cached; never blocks). */
  snapshot(): WorkerStatus[];
}

export interface InferResult {
  variant: string;
  arch: string;
  worker: string;
  coldStart: boolean;
  batch: number;
  /** The merged batch the request ran in on the worker (itself included), when the worker batches. */
  mergedBatch?: MergedBatch;
  outputs: Array<{ name: string; shape: number[]; data: number[] }>;
  predictions?: Prediction[][];
  timing: { queueMs: number; loadMs: number; inferenceMs: number; totalMs: number };
  /**
   * What the controller expected timing.totalMs to be when it sent the request: the time spent so far, the overhead,
   * the wait for the work ahead, a load on a cold start, and the run at the profile's p50 corrected by measurement
   * (admission holds the request to the p95 and a margin, a bound rather than an expectation).
   */
  predictedMs: number;
  reason: string;
  /** Times the request was sent again because the worker running it died (0 or 1). */
  retries: number;
  /** When retried: the worker that died under the request, and how it failed. */
  retriedAfter?: { worker: string; error: string };
}

/** Per variant: the tightest latency SLO and the highest minimum accuracy of the queries routed to it. */
export interface VariantDemand {
  minSloMs: number;
  maxMinAccuracy: number;
}

/** What the dispatcher saw in one autoscaling window (Dispatcher.takeWindow). */
export interface DispatchWindow {
  unplaced: string[];
  slo: ReadonlyMap<string, VariantDemand>;
  /** Variants loaded explicitly (POST /v1/variants/:name/load) and not unloaded explicitly since. */
  pinned?: ReadonlySet<string>;
}

/** A use-case-level router (the autoscaling policy's `route`, so live and simulated queries pick variants alike). */
export type UseCaseRouter = (q: QueryDemand, view: ClusterView, catalogue: Catalogue, now: number) => Selection;

export interface DispatcherOptions {
  index: () => ModelIndex;
  workers: WorkerSource;
  view: LiveClusterView;
  now?: () => number;
  /** Routes use-case queries (without a cost cap); default: selectVariant, like the other levels. */
  route?: () => UseCaseRouter | undefined;
  /** Where explicit loads are pinned (default: in this process only). */
  pins?: PinSet;
  /** Most requests this controller keeps in flight on one worker; more are refused with RESOURCE_EXHAUSTED (default 4096). */
  maxInflightPerWorker?: number;
  /**
   * How long a request waits on this busy process before the dispatcher sees it, ms (unseen, so admission keeps it
   * as headroom); default: the event loop's recent delay.
   */
  edgeLagMs?: () => number;
}

/** Workers tried for one request before it is refused for overload. */
const ADMISSION_TRIES = 3;
export class Dispatcher {
  readonly #index: () => ModelIndex;
  readonly #workers: WorkerSource;
  readonly #view: LiveClusterView;
  readonly #now: () => number;
  readonly #route: () => UseCaseRouter | undefined;
  /** Variants that wanted a new replica since the last takeWindow() while no worker could take one. */
  #unplaced = new Set<string>();
  /** Per variant, the tightest SLO and highest minimum accuracy of the SLO queries routed to it since then. */
  #slo = new Map<string, VariantDemand>();
  /** Variants loaded ahead of traffic by an operator: the autoscaler keeps them until they are unloaded by name. */
  readonly #pins: PinSet;
  readonly #maxInflight: number;
  readonly #edgeLagMs: () => number;
  /** When each worker was last sent a request (the dispatcher's clock). */
  readonly #lastSent = new Map<string, number>();

  constructor(opts: DispatcherOptions) {
    this.#index = opts.index;
    this.#workers = opts.workers;
    this.#view = opts.view;
    this.#now = opts.now ?? (() => performance.now());
    this.#route = opts.route ?? (() => undefined);
    this.#pins = opts.pins ?? new MemoryPins();
    this.#maxInflight = opts.maxInflightPerWorker ?? 4096;
    this.#edgeLagMs = opts.edgeLagMs ?? (() => eventLoopLagMs());
  }

  /**
   * What the dispatcher saw since the last call, for the autoscaling policy's next tick, and clears it:
   * - unplaced: variants for which selection chose a cold start while every worker already held them or lacked
   *   the free memory for a new replica (the request then queued on a holder, or a worker evicted to make room);
   * - slo: per variant, the tightest latency SLO and the highest minimum accuracy of the architecture and
   *   use-case queries routed to it (exact-variant queries carry neither);
   * - pinned: the variants loaded explicitly and not unloaded explicitly since (not cleared).
   */
  takeWindow(): DispatchWindow {
    const w = { unplaced: [...this.#unplaced], slo: this.#slo, pinned: this.#pins.all() };
    this.#unplaced = new Set();
    this.#slo = new Map();
    return w;
  }

  /** The use case a query is for (to decode its inputs before dispatch). */
  useCaseOf(spec: QuerySpec): UseCase {
    const idx = this.#index();
    switch (spec.level) {
      case 'variant':
        return idx.useCase(idx.variant(spec.variant).useCase);
      case 'arch':
        return idx.useCase(idx.architecture(spec.arch).useCase);
      case 'usecase':
        return idx.useCase(`${spec.task}/${spec.dataset}`);
    }
  }

  async infer(spec: QuerySpec, input: Tensor, started = performance.now()): Promise<InferResult> {
    const idx = this.#index();
    const batch = input.shape[0];
    const useCase = this.useCaseOf(spec);
    if (input.shape.length !== useCase.inputShape.length + 1 || input.shape.slice(1).some((d, i) => d !== useCase.inputShape[i])) {
      throw invalid(`input shape [${input.shape}] does not match use case ${useCase.id}: [B,${useCase.inputShape}]`);
    }
    const request = toSelectionRequest(spec, batch);
    let lastError: InfaasError | undefined;
    /** Workers that died under this request: never picked again for it. */
    const failed = new Set<string>();
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = this.#now();
      const selection = this.#select(request, idx, now);
      const variant = selection.variant;
      if (spec.level !== 'variant' && attempt === 0) this.#noteSlo(variant.name, spec.latencyMs, spec.level === 'usecase' ? spec.minAccuracy : 0);
      const { client, predictedMs, probe, idle } = this.#admit(spec, selection, now, started, batch, failed, lastError);
      const arch = idx.architecture(variant.arch);
      this.#view.begin(variant, client.id, batch, now);
      let ok = false;
      try {
        // Exact-variant queries carry no SLO: no deadline, the worker never holds them back.
        const dispatched = performance.now();
        const opts: InferOptions | undefined = spec.level === 'variant' ? undefined : { budgetMs: spec.latencyMs - (dispatched - started) };
        const reply = await client.infer(specOf(variant, arch), input, opts);
        ok = true;
        const end = performance.now();
        observeReply(this.#view.estimator, idx.catalogue, variant, batch, reply, end - dispatched, this.#now(), idle);
        // A probe was sent against the prediction: its error says nothing of the admitted requests' tail.
        if (!reply.coldStart && !probe) this.#view.estimator.observeError(end - started - predictedMs, this.#now());
        const outputs = Object.entries(reply.outputs).map(([name, t]) => ({ name, shape: t.shape, data: Array.from(t.data) }));
        const main = reply.outputs[arch.artifacts.find((a) => a.id === variant.artifactId)?.outputName ?? ''] ?? Object.values(reply.outputs)[0];
        const topK = spec.topK ?? (useCase.labels ? 3 : 0);
        return {
          variant: variant.name,
          arch: variant.arch,
          worker: client.id,
          coldStart: reply.coldStart,
          batch,
          ...(reply.batch ? { mergedBatch: reply.batch } : {}),
          outputs,
          ...(topK > 0 && main ? { predictions: topKOf(main, topK, useCase.labels) } : {}),
          timing: { queueMs: reply.timing.queueMs, loadMs: reply.timing.loadMs, inferenceMs: reply.timing.inferenceMs, totalMs: performance.now() - started },
          predictedMs: round3(predictedMs),
          reason: selection.reason,
          retries: attempt,
          ...(attempt > 0 && lastError ? { retriedAfter: { worker: [...failed][0], error: lastError.message } } : {}),
        };
      } catch (e) {
        const err = asInfaasError(e);
        const latencyMs = (spec as { latencyMs?: number }).latencyMs;
        if (err.code === 'DEADLINE_EXCEEDED' && typeof err.details?.neededMs === 'number') {
          ok = true; // the worker is healthy and holds the variant; it refused, before running it, a request too late to start
          throw tooLateToStart({ variant: variant.name, ...err.details, neededMs: err.details.neededMs, remainingMs: Number(err.details.remainingMs ?? 0), worker: client.id, latencyMs });
        }
        if (err.code === 'RESOURCE_EXHAUSTED') {
          ok = true; // the worker is healthy and holds the variant; it refused a request it could not finish in time
          throw new InfaasError(err.code, err.message, { ...err.details, worker: client.id, latencyMs });
        }
        if (err.code !== 'UNAVAILABLE' || attempt === 1) throw err;
        lastError = err; // the worker died under us: try once more, elsewhere
        failed.add(client.id);
        this.#view.dropWorker(client.id);
      } finally {
        this.#view.end(variant, client.id, ok, batch);
      }
    }
    throw lastError ?? unavailable('no worker could run the request');
  }

  /** Loads a variant on the worker the policy picks for it. */
  async load(variant: Variant, workerId?: string): Promise<{ variant: string; worker: string; loadMs: number; alreadyLoaded: boolean }> {
    const client = workerId === undefined ? this.#pickWorker(variant, undefined, this.#now(), false)! : this.#workers.get(workerId);
    if (!client) throw notFound(`no worker '${workerId}' is connected (workers: ${this.#workers.clients().map((c) => c.id).join(', ') || 'none'})`);
    const r = await client.load(specOf(variant, this.#index().architecture(variant.arch)));
    await this.#pins.add(variant.name);
    return { variant: variant.name, worker: client.id, ...r };
  }

  /**
   * Pinned variants that no worker holds any more (their worker died, or the cluster restarted): loads each on
   * the worker the policy picks. Returns the variants loaded. Run by the autoscaling leader's control loop.
   */
  async restorePins(): Promise<string[]> {
    const held = new Set(this.#workers.snapshot().flatMap((s) => s.replicas.filter((r) => r.state !== 'inactive' && r.state !== 'unloading').map((r) => r.variant)));
    const idx = this.#index();
    const missing = [...this.#pins.all()].filter((name) => !held.has(name) && idx.variants.has(name));
    if (!missing.length || !this.#workers.clients().length) return [];
    await Promise.all(missing.map((name) => this.load(idx.variants.get(name)!)));
    return missing;
  }

  /** Unloads a variant from every worker (and unpins it); returns the ids of the workers that held it. */
  async unloadEverywhere(variant: Variant): Promise<string[]> {
    await this.#pins.remove(variant.name);
    const held = await Promise.all(this.#workers.clients().map(async (c) => ((await c.unload(variant.name)) ? c.id : undefined)));
    const ids = held.filter((id): id is string => id !== undefined);
    for (const id of ids) this.#view.unloaded(variant.name, id); // the next request is a cold start, not a wait
    return ids;
  }

  /**
   * The worker to send a request to and its predicted total time, or the refusal: the worker the policy picks,
   * then, while the request could not meet its SLO there, up to ADMISSION_TRIES - 1 others (another replica, or a
   * new one on a worker with room). Counts a refused variant as one that wanted a replica no worker could take.
   */
  #admit(spec: QuerySpec, selection: Selection, now: number, started: number, batch: number, failed: ReadonlySet<string>, lastError?: InfaasError): { client: WorkerClient; predictedMs: number; probe: boolean; idle: boolean } {
    const variant = selection.variant;
    const sloMs = spec.level === 'variant' ? undefined : spec.latencyMs;
    const paysLoad = !selection.loaded && sloMs !== undefined && selection.predictedMs > sloMs;
    // Headroom: the tail of recent prediction errors (of warm requests: a cold start's is the load's, learnt apart),
    // and the wait on this busy process before the request was seen; at most a quarter of the SLO, so that a stall
    // of the machine does not refuse everything until it is forgotten.
    const marginMs = sloMs === undefined ? 0 : Math.min(sloMs / 4, this.#view.estimator.marginMs(now) + this.#edgeLagMs());
    const tried = new Set(failed);
    let first: InfaasError | undefined;
    for (let i = 0; i < ADMISSION_TRIES; i++) {
      const preferred = i === 0 && !failed.has(selection.workerId ?? '') ? selection.workerId : undefined;
      const client = this.#pickWorker(variant, preferred, now, i === 0 && !selection.loaded, tried);
      if (!client) {
        if (first) break;
        throw unavailable(`no other worker could take the request after ${[...failed].join(', ')} failed: ${lastError?.message}`, { variant: variant.name, workers: [...failed], retryAfterMs: 1000 });
      }
      const p = this.#view.predict(variant, client.id, batch, now);
      const elapsedMs = performance.now() - started;
      const load = this.#view.workerLoad(client.id);
      const full = load >= this.#maxInflight;
      const no = full ? queueFull(variant.name, client.id, this.#maxInflight, p.waitMs) : refusal({ variant, worker: client.id, sloMs, elapsedMs, paysLoad, marginMs }, p);
      const probe = !full && load === 0 && now - (this.#lastSent.get(client.id) ?? -Infinity) > PROBE_AFTER_MS;
      if (!no || probe) {
        this.#lastSent.set(client.id, now);
        return { client, predictedMs: elapsedMs + p.overheadMs + p.waitMs + p.expectedServiceMs, probe: no !== undefined, idle: p.waitMs <= 0 };
      }
      first ??= no;
      if (no.code !== 'RESOURCE_EXHAUSTED') break;
      tried.add(client.id);
    }
    if (first!.code === 'RESOURCE_EXHAUSTED') this.#unplaced.add(variant.name);
    throw first!;
  }

  #select(request: SelectionRequest, idx: ModelIndex, now: number): Selection {
    const route = request.kind === 'usecase' && request.maxCostPer1k === undefined ? this.#route() : undefined;
    if (!route || request.kind !== 'usecase') return selectVariant(request, idx.catalogue, this.#view, now);
    return route({ useCase: request.useCase, minAccuracy: request.minAccuracy, latencyMs: request.latencyMs, batch: request.batch }, this.#view, idx.catalogue, now);
  }

  #noteSlo(variant: string, latencyMs: number, minAccuracy: number): void {
    const d = this.#slo.get(variant);
    if (!d) this.#slo.set(variant, { minSloMs: latencyMs, maxMinAccuracy: minAccuracy });
    else {
      if (latencyMs < d.minSloMs) d.minSloMs = latencyMs;
      if (minAccuracy > d.maxMinAccuracy) d.maxMinAccuracy = minAccuracy;
    }
  }

  /**
   * The worker for a request or load; `wantNew`: selection asked for a new replica (records "could not place").
   * Workers in `excluded` (they failed this request) are never picked: undefined when no other is left.
   */
  #pickWorker(variant: Variant, preferred: string | undefined, now: number, wantNew: boolean, excluded?: ReadonlySet<string>): WorkerClient | undefined {
    const all = this.#workers.clients();
    const clients = excluded?.size ? all.filter((c) => !excluded.has(c.id)) : all;
    if (!clients.length) {
      if (excluded?.size) return undefined;
      throw unavailable('no worker is running (workers are starting or restarting); try again shortly', { retryAfterMs: 1000 });
    }
    if (preferred && !excluded?.has(preferred)) {
      const c = this.#workers.get(preferred);
      if (c) return c;
    }
    const statuses = this.#workers.snapshot().filter((s) => clients.some((c) => c.id === s.id));
    // A new replica was wanted (a cold start, or the held replicas would miss the SLO): "could not place" when
    // every worker already holds the variant or lacks the free memory for it, as in the simulator.
    const holds = (s: WorkerStatus) => s.replicas.some((r) => r.variant === variant.name && r.state !== 'inactive' && r.state !== 'unloading');
    if (wantNew && statuses.length && !statuses.some((s) => !holds(s) && s.memoryBudgetMB - s.memoryUsedMB >= variant.profile.memoryMB)) this.#unplaced.add(variant.name);
    // The wait on a worker is the work in flight there on every variant (one batch runs at a time per worker); a
    // replica this controller is loading is ready once its load is expected to end.
    const ours = this.#view.replicas(variant.name);
    const views = statuses.map((s) => {
      const waitMs = this.#view.waitMs(s.id);
      const loading = ours?.find((r) => r.workerId === s.id)?.readyAt;
      return {
        ...s,
        queued: this.#view.workerLoad(s.id),
        waitMs,
        replicas: s.replicas.map((r) => ({ ...r, estimatedWaitMs: waitMs, ...(r.variant === variant.name && loading !== undefined ? { readyAt: loading } : {}) })),
      };
    });
    const id = views.length ? chooseWorker(variant, views, now) : undefined;
    return (id && clients.find((c) => c.id === id)) || clients[0];
  }
}

function toSelectionRequest(spec: QuerySpec, batch: number): SelectionRequest {
  const common = { batch, ...(spec.maxCostPer1k !== undefined ? { maxCostPer1k: spec.maxCostPer1k } : {}) };
  switch (spec.level) {
    case 'variant':
      return { kind: 'variant', variant: spec.variant, ...common };
    case 'arch':
      return { kind: 'arch', arch: spec.arch, latencyMs: spec.latencyMs, ...common };
    case 'usecase':
      return { kind: 'usecase', useCase: `${spec.task}/${spec.dataset}`, minAccuracy: spec.minAccuracy, latencyMs: spec.latencyMs, ...common };
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
