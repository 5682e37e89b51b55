// The live ClusterView the selection policy reads: which worker holds which variant (from worker status
// snapshots) combined with the dispatcher's own in-flight counts (fresher than any heartbeat), and the profiles
// corrected by what this controller measured (its LatencyEstimator, fed by the dispatcher from every reply).
//
// Waits: a worker runs one batch at a time across all its replicas, so a request sent to a worker waits for the
// work in flight there on every variant (each variant's samples drained in batches of its max batch at its
// corrected p50), and, on a replica still loading, at least until its load is expected to end. With workers
// shared by several controllers (distributed mode), what the workers last reported queued beyond this controller's
// own requests counts too.

import type { Variant, WorkerStatus } from '../core/types.ts';
import type { ClusterView, ProfileCorrections, ReplicaView } from '../policy/cluster-view.ts';
import { drainMs } from '../policy/admission.ts';
import { predictLatency } from '../policy/batching.ts';
import { LatencyEstimator } from '../policy/latency-estimator.ts';

interface Slot {
  workerId: string;
  variant: Variant;
  state: ReplicaView['state'];
  /** This controller's requests in flight there, and their samples. */
  inflight: number;
  samples: number;
  /** Requests the worker last reported queued there beyond ours (other controllers'); 0 unless shared. */
  others: number;
  /** For a loading replica: when it is expected to be ready (the dispatcher's clock). */
  readyAt?: number;
}

/** What a request sent now to a worker is expected to take (see LiveClusterView.predict). */
export interface Prediction {
  /** The work queued ahead of it on the worker (and the rest of a load in progress), ms. */
  waitMs: number;
  /** Its own part: its batch's run (corrected p95), and the load first when `cold`, ms. */
  serviceMs: number;
  /** The same at the corrected p50: what the request is expected to take, where serviceMs is a bound. */
  expectedServiceMs: number;
  /** The load within serviceMs (0 unless cold), ms. */
  loadMs: number;
  /** Transport and controller (as measured when nothing waited), ms. */
  overheadMs: number;
  /** The worker does not hold the variant: the request loads it. */
  cold: boolean;
  /** On a cold start: the worker has never loaded the variant's artifact. */
  firstLoad?: boolean;
}

export interface LiveClusterViewOptions {
  /** Threads of the worker class the server starts (and autoscales); default no limit. */
  maxThreads?: number;
  /** The corrections this controller learns (default a fresh estimator). */
  estimator?: LatencyEstimator;
  /** Workers are shared with other controllers: count what they report queued beyond our own requests. */
  sharedWorkers?: boolean;
}

export class LiveClusterView implements ClusterView {
  /** variant -> workerId -> slot */
  readonly #slots = new Map<string, Map<string, Slot>>();
  /** workerId -> its slots */
  readonly #byWorker = new Map<string, Set<Slot>>();
  /** workerId -> the artifacts it has loaded at least once (a later load finds the file read and verified) */
  readonly #loadedOn = new Map<string, { startedAt: number; artifacts: Set<string> }>();
  readonly #maxThreads: number;
  readonly #shared: boolean;
  readonly estimator: LatencyEstimator;
  readonly #corrections: ProfileCorrections;

  constructor(opts: LiveClusterViewOptions = {}) {
    this.#maxThreads = opts.maxThreads ?? Infinity;
    this.#shared = opts.sharedWorkers ?? false;
    const e = (this.estimator = opts.estimator ?? new LatencyEstimator());
    this.#corrections = {
      runFactor: (variant, batch) => e.runFactor(variant, batch),
      // Selection does not know the worker yet: a reload if any worker has loaded the artifact before.
      loadMs: (v) => e.loadMs(v.name, v.profile.loadMs, !this.#loadedAnywhere(v.artifactId), v.artifactId),
      overheadMs: () => e.overheadMs(),
    };
  }

  maxThreads(): number {
    return this.#maxThreads;
  }

  corrections(): ProfileCorrections {
    return this.#corrections;
  }

  replicas(variant: string): readonly ReplicaView[] | undefined {
    const m = this.#slots.get(variant);
    if (!m || m.size === 0) return undefined;
    const out: ReplicaView[] = [];
    for (const s of m.values()) {
      out.push({ workerId: s.workerId, state: s.state, queued: s.inflight + s.others, estimatedWaitMs: this.waitMs(s.workerId), ...(s.readyAt !== undefined ? { readyAt: s.readyAt } : {}) });
    }
    return out;
  }

  loadedVariants(): Iterable<string> {
    return this.#slots.keys();
  }

  loadedCount(): number {
    return this.#slots.size;
  }

  /** In-flight requests on a worker, over all its variants (this controller's, and others' when shared). */
  workerLoad(workerId: string): number {
    let n = 0;
    for (const s of this.#byWorker.get(workerId) ?? []) n += s.inflight + s.others;
    return n;
  }

  /** Expected wait (ms) of a request sent to `workerId` now, before its batch can start: the work in flight there. */
  waitMs(workerId: string): number {
    let ms = 0;
    for (const s of this.#byWorker.get(workerId) ?? []) {
      const samples = s.samples + s.others;
      if (samples > 0) ms += drainMs(samples, s.variant.config.maxBatch, (n) => this.#runMs(s.variant, n, 'p50'));
    }
    return ms;
  }

  /**
   * What a request of `batch` samples of `variant` sent to `workerId` at `now` is expected to take: the wait for
   * the work ahead of it there (and for a load in progress), its own run (corrected p95) — after loading the
   * variant when the worker does not hold it — and the overhead outside the worker.
   */
  predict(variant: Variant, workerId: string, batch: number, now: number): Prediction {
    const slot = this.#slots.get(variant.name)?.get(workerId);
    const overheadMs = this.estimator.overheadMs();
    const [run, expected] = [this.#runMs(variant, batch, 'p95'), this.#runMs(variant, batch, 'p50')];
    let waitMs = this.waitMs(workerId);
    if (slot) {
      if (slot.readyAt !== undefined && slot.state === 'loading') waitMs = Math.max(waitMs, slot.readyAt - now);
      return { waitMs, serviceMs: run, expectedServiceMs: expected, loadMs: 0, overheadMs, cold: false };
    }
    const firstLoad = !this.#loadedOn.get(workerId)?.artifacts.has(variant.artifactId);
    const loadMs = this.estimator.loadMs(variant.name, variant.profile.loadMs, firstLoad, variant.artifactId);
    return { waitMs, serviceMs: loadMs + run, expectedServiceMs: loadMs + expected, loadMs, overheadMs, cold: true, firstLoad };
  }

  /** Replaces what each worker holds with its latest status, keeping in-flight counts. */
  sync(workers: readonly WorkerStatus[], variants: ReadonlyMap<string, Variant>): void {
    // What was learnt of variants that left the catalogue goes with them.
    for (const name of this.estimator.variants()) if (!variants.has(name)) this.estimator.forget(name);
    const seen = new Set<string>();
    for (const w of workers) {
      const loaded = this.#loaded(w.id, w.startedAt);
      for (const r of w.replicas) {
        if (r.state === 'inactive' || r.state === 'unloading') continue;
        const v = variants.get(r.variant);
        if (!v) continue;
        if (r.state !== 'loading') loaded.add(v.artifactId);
        const slot = this.#slot(v, w.id);
        if (slot.inflight === 0 || slot.state !== 'loading') slot.state = r.state;
        if (slot.state !== 'loading') slot.readyAt = undefined;
        slot.others = this.#shared ? Math.max(0, r.queued - slot.inflight) : 0;
        seen.add(`${r.variant}\u0000${w.id}`);
      }
    }
    for (const [variant, m] of this.#slots) {
      for (const [wid, s] of m) {
        if (seen.has(`${variant}\u0000${wid}`)) continue;
        s.others = 0;
        if (s.inflight === 0) this.#remove(m, s);
      }
      if (m.size === 0) this.#slots.delete(variant);
    }
  }

  /** A request of `samples` starts on a worker at `now`: counts it; a cold start marks the replica loading there. */
  begin(variant: Variant, workerId: string, samples = 1, now?: number): void {
    const slot = this.#slot(variant, workerId);
    if (slot.inflight === 0 && slot.state === 'loading' && slot.readyAt === undefined && now !== undefined) {
      const first = !this.#loadedOn.get(workerId)?.artifacts.has(variant.artifactId);
      slot.readyAt = now + this.estimator.loadMs(variant.name, variant.profile.loadMs, first, variant.artifactId);
    }
    slot.inflight++;
    slot.samples += samples;
  }

  /** A request ended; `ok` means the variant is now loaded and active there. */
  end(variant: Variant, workerId: string, ok: boolean, samples = 1): void {
    const m = this.#slots.get(variant.name);
    const slot = m?.get(workerId);
    if (!m || !slot) return;
    slot.inflight = Math.max(0, slot.inflight - 1);
    slot.samples = Math.max(0, slot.samples - samples);
    if (ok) this.#loadedOn.get(workerId)?.artifacts.add(variant.artifactId);
    if (ok && slot.state === 'loading') {
      slot.state = 'active';
      slot.readyAt = undefined;
    }
    if (!ok && slot.inflight === 0 && slot.state === 'loading') this.#remove(m, slot);
    if (m.size === 0) this.#slots.delete(variant.name);
  }

  /** The worker unloaded the variant (on this controller's request): forgotten there unless requests are in flight. */
  unloaded(variant: string, workerId: string): void {
    const m = this.#slots.get(variant);
    const slot = m?.get(workerId);
    if (!m || !slot || slot.inflight > 0) return;
    this.#remove(m, slot);
    if (m.size === 0) this.#slots.delete(variant);
  }

  /** Forgets a worker (it exited). */
  dropWorker(workerId: string): void {
    for (const [variant, m] of this.#slots) {
      m.delete(workerId);
      if (m.size === 0) this.#slots.delete(variant);
    }
    this.#byWorker.delete(workerId);
    this.#loadedOn.delete(workerId);
  }

  /** Corrected p50/p95 (ms) of one run of `batch` samples. */
  #runMs(v: Variant, batch: number, which: 'p50' | 'p95'): number {
    return predictLatency(v.profile.latency, batch, which) * this.estimator.runFactor(v.name, batch);
  }

  #loadedAnywhere(artifact: string): boolean {
    for (const l of this.#loadedOn.values()) if (l.artifacts.has(artifact)) return true;
    return false;
  }

  /** The artifacts a worker has loaded, forgotten when it restarted (a later start time). */
  #loaded(workerId: string, startedAt: number): Set<string> {
    let l = this.#loadedOn.get(workerId);
    if (!l || l.startedAt !== startedAt) this.#loadedOn.set(workerId, (l = { startedAt, artifacts: l && l.startedAt === 0 ? l.artifacts : new Set() }));
    return l.artifacts;
  }

  #remove(m: Map<string, Slot>, s: Slot): void {
    m.delete(s.workerId);
    this.#byWorker.get(s.workerId)?.delete(s);
  }

  #slot(v: Variant, workerId: string): Slot {
    let m = this.#slots.get(v.name);
    if (!m) this.#slots.set(v.name, (m = new Map()));
    let s = m.get(workerId);
    if (!s) {
      m.set(workerId, (s = { workerId, variant: v, state: 'loading', inflight: 0, samples: 0, others: 0 }));
      let set = this.#byWorker.get(workerId);
      if (!set) this.#byWorker.set(workerId, (set = new Set()));
      set.add(s);
      if (!this.#loadedOn.has(workerId)) this.#loadedOn.set(workerId, { startedAt: 0, artifacts: new Set() });
    }
    return s;
  }
}
