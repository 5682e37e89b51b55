// Corrections of the profiled latencies and load times by what the live system measures, so that selection and
// admission predict what a request will really take. Pure and clock-injected: fed observations with their time,
// asked for factors; no timers, no I/O. The controller feeds one from its replies, each worker one from its runs,
// and the simulator could feed one from its simulated runs.
//
// What it learns, each as a moving average that a first observation replaces outright (a prior is only a guess)
// and that restarts from the next observation once it went unfed for `staleMs`:
// - per variant and batch bucket (1, 2, 3-4, 5-8, …): run time / profiled p50 at the run's batch, averaged in log
//   space (a geometric mean: one run slowed tenfold by a pause moves it as little as one run ten times faster). Runs
//   are many and noisy: a new bucket starts from what is known of the variant (as if from a few runs), and once
//   warmed up a single run counts at most 4x away from the average;
// - per variant, and per artifact for its variants not loaded yet (they load the same file): load time / profiled
//   load time, apart for a worker's first load of the artifact (it reads and verifies the file too, and is several
//   times slower than a reload) and for later loads; loads are few and follow the machine's state (files in the
//   page cache, memory freed by the last unload), so the latest weigh half;
// - the cost of a request outside a worker's queue, load and run (transport, controller), ms, as measured on
//   requests that found nothing ahead of them, averaged in log space like runs (one stalled request counts at
//   most 4x away once warmed up): under load the same figure also holds waits for a busy worker or
//   event loop, which the prediction of the wait already counts or the margin below learns (counted twice, a
//   loaded server would refuse what it can serve);
// A variant never observed borrows the average over every variant observed, then the profile as is (factor 1).
// And the errors of recent predictions (observed - predicted end to end): a quantile of those of the last
// `marginWindowMs` is the headroom admission keeps, so that about that share of admitted requests is late.

import type { LatencyEstimate } from '../core/types.ts';

export interface EstimatorOptions {
  /** Weight of a new observation once warmed up (the first `1/alpha` are averaged evenly). Default 0.1. */
  alpha?: number;
  /** An average not fed for this long restarts from its next observation, ms. Default 300,000 (5 minutes). */
  staleMs?: number;
  /** Quantile of recent prediction errors kept as headroom (marginMs). Default 0.99. */
  marginQuantile?: number;
  /** Prediction errors older than this are forgotten, ms. Default 2000. */
  marginWindowMs?: number;
  /** Fewer errors than this in the window give no margin (a quantile of a handful is their worst). Default 50. */
  marginMinErrors?: number;
}

/** Prediction errors kept at most (the latest). */
const ERRORS = 1024;

/**
 * A moving average with a warm-up: the first observations are averaged evenly, later ones with weight alpha. An
 * observation of weight w counts as w observations (several replies of one merged run share one).
 */
class Average {
  value = 0;
  n = 0;
  at = -Infinity;

  add(x: number, now: number, alpha: number, staleMs: number, weight = 1, clamp = Infinity): void {
    if (now - this.at > staleMs) this.n = 0;
    if (this.n >= PRIOR_RUNS) x = Math.max(this.value - clamp, Math.min(this.value + clamp, x));
    this.n += weight;
    const a = weight === 1 ? alpha : 1 - (1 - alpha) ** weight;
    this.value += (x - this.value) * Math.max(a, weight / this.n);
    this.at = now;
  }
}

/** Weight of the latest load in a load-time average. */
const LOAD_ALPHA = 0.5;
/** Overheads below this count as this (their logarithm is averaged), ms. */
const MIN_OVERHEAD_MS = 0.01;
/** A new run bucket starts from the variant's other figures as if from this many runs. */
const PRIOR_RUNS = 3;
/** Once warmed up, one run counts at most this far from the average (log space: 4x). */
const RUN_CLAMP = Math.log(4);

/** Batch buckets: 1, 2, 3-4, 5-8, …, 2^(BUCKETS-2)+1 and above. */
const BUCKETS = 14;
/** A single ratio counts at most this far from 1 (log space): a broken clock reading cannot wreck an average. */
const MAX_LOG_RATIO = Math.log(100);

function bucketOf(batch: number): number {
  if (batch <= 1) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log2(batch)));
}

interface VariantState {
  /** Log of run / profiled p50, per batch bucket. */
  runs: Average[];
  /** Log of load / profiled load: a worker's first load of the artifact, and reloads. */
  loadFirst: Average;
  loadRepeat: Average;
}

const clampLog = (ratio: number) => Math.max(-MAX_LOG_RATIO, Math.min(MAX_LOG_RATIO, Math.log(ratio)));

export class LatencyEstimator {
  readonly #alpha: number;
  readonly #staleMs: number;
  readonly #variants = new Map<string, VariantState>();
  /** Load times per artifact (first loads and reloads), for its variants not loaded yet. */
  readonly #artifacts = new Map<string, { first: Average; repeat: Average }>();
  readonly #allRuns = new Average();
  readonly #allFirst = new Average();
  readonly #allRepeat = new Average();
  /** Overhead of requests that found nothing ahead of them, and of any (used until the first of those). */
  readonly #overhead = new Average();
  readonly #anyOverhead = new Average();
  readonly #q: number;
  readonly #windowMs: number;
  readonly #minErrors: number;
  /** Ring of the latest prediction errors and their times. */
  readonly #errors = new Float64Array(ERRORS);
  readonly #errorAt = new Float64Array(ERRORS).fill(-Infinity);
  #nextError = 0;
  /** The margin last computed, when, and the errors observed since. */
  #margin = 0;
  #marginAt = -Infinity;
  #sinceMargin = 0;

  constructor(o: EstimatorOptions = {}) {
    this.#alpha = o.alpha ?? 0.1;
    this.#staleMs = o.staleMs ?? 300_000;
    this.#q = o.marginQuantile ?? 0.99;
    this.#windowMs = o.marginWindowMs ?? 2000;
    this.#minErrors = o.marginMinErrors ?? 50;
  }

  /**
   * A run of `batch` samples of `variant` took `observedMs`; its profile said `profiledMs` (p50 at that batch).
   * `weight` < 1 when each of several replies of one run reports it (1 / the requests in the run).
   */
  observeRun(variant: string, batch: number, observedMs: number, profiledMs: number, now: number, weight = 1): void {
    if (!(observedMs > 0) || !(profiledMs > 0) || !Number.isFinite(observedMs) || !(weight > 0)) return;
    const x = clampLog(observedMs / profiledMs);
    const known = this.#variants.has(variant) || this.#allRuns.n > 0;
    const bucket = this.#state(variant).runs[bucketOf(batch)];
    if (known && (bucket.n === 0 || now - bucket.at > this.#staleMs)) {
      bucket.value = Math.log(this.runFactor(variant, batch));
      bucket.n = PRIOR_RUNS;
      bucket.at = now;
    }
    bucket.add(x, now, this.#alpha, this.#staleMs, weight, RUN_CLAMP);
    this.#allRuns.add(x, now, this.#alpha, this.#staleMs, weight, RUN_CLAMP);
  }

  /**
   * Loading `variant` (of `artifact`, when given) took `observedMs` against a profiled `profiledMs`; `first`: the
   * worker's first load of its artifact.
   */
  observeLoad(variant: string, observedMs: number, profiledMs: number, first: boolean, now: number, artifact?: string): void {
    if (!(observedMs > 0) || !(profiledMs > 0) || !Number.isFinite(observedMs)) return;
    const x = clampLog(observedMs / profiledMs);
    const s = this.#state(variant);
    (first ? s.loadFirst : s.loadRepeat).add(x, now, LOAD_ALPHA, this.#staleMs);
    if (artifact !== undefined) {
      let a = this.#artifacts.get(artifact);
      if (!a) this.#artifacts.set(artifact, (a = { first: new Average(), repeat: new Average() }));
      (first ? a.first : a.repeat).add(x, now, LOAD_ALPHA, this.#staleMs);
    }
    (first ? this.#allFirst : this.#allRepeat).add(x, now, LOAD_ALPHA, this.#staleMs);
  }

  /** A request spent `ms` outside the worker's queue, load and run (transport, controller); `idle`: nothing was ahead of it. */
  observeOverhead(ms: number, now: number, idle = true): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    const x = Math.log(Math.max(MIN_OVERHEAD_MS, ms));
    if (idle) this.#overhead.add(x, now, this.#alpha, this.#staleMs, 1, RUN_CLAMP);
    this.#anyOverhead.add(x, now, this.#alpha, this.#staleMs, 1, RUN_CLAMP);
  }

  /** A request took `errorMs` longer end to end than predicted (negative: shorter). */
  observeError(errorMs: number, now: number): void {
    if (!Number.isFinite(errorMs)) return;
    this.#errors[this.#nextError] = errorMs;
    this.#errorAt[this.#nextError] = now;
    this.#nextError = (this.#nextError + 1) % ERRORS;
    this.#sinceMargin++;
  }

  /**
   * Headroom for admission, ms: the marginQuantile of the prediction errors of the last marginWindowMs (0 with
   * fewer than marginMinErrors of them, or when predictions ran long). Recomputed at most every 32 errors or 100 ms.
   */
  marginMs(now: number): number {
    if (this.#sinceMargin < 32 && now - this.#marginAt < 100) return this.#margin;
    const recent: number[] = [];
    for (let i = 0; i < ERRORS; i++) if (now - this.#errorAt[i] <= this.#windowMs) recent.push(this.#errors[i]);
    recent.sort((a, b) => a - b);
    this.#margin = recent.length >= this.#minErrors ? Math.max(0, recent[Math.min(recent.length - 1, Math.ceil(this.#q * recent.length) - 1)]) : 0;
    this.#marginAt = now;
    this.#sinceMargin = 0;
    return this.#margin;
  }

  runFactor(variant: string, batch: number): number {
    const s = this.#variants.get(variant);
    if (s) {
      const k = bucketOf(batch);
      if (s.runs[k].n) return Math.exp(s.runs[k].value);
      // The nearest bucket observed, the larger one on a tie (it is the slower per run).
      for (let d = 1; d < BUCKETS; d++) {
        if (k + d < BUCKETS && s.runs[k + d].n) return Math.exp(s.runs[k + d].value);
        if (k - d >= 0 && s.runs[k - d].n) return Math.exp(s.runs[k - d].value);
      }
    }
    return this.#allRuns.n ? Math.exp(this.#allRuns.value) : 1;
  }

  loadMs(variant: string, profiledMs: number, first: boolean, artifact?: string): number {
    return profiledMs * this.loadFactor(variant, first, artifact);
  }

  /** Observed / profiled load time of `variant` (see loadMs). */
  loadFactor(variant: string, first: boolean, artifact?: string): number {
    const s = this.#variants.get(variant);
    const a = artifact === undefined ? undefined : this.#artifacts.get(artifact);
    // The variant's own figure, its artifact's, all variants'; without a figure of the kind asked for, a reload
    // borrows a first load's (an upper bound) and a first load a reload's (a lower bound).
    const order = first
      ? [s?.loadFirst, a?.first, this.#allFirst, s?.loadRepeat, a?.repeat, this.#allRepeat]
      : [s?.loadRepeat, a?.repeat, this.#allRepeat, s?.loadFirst, a?.first, this.#allFirst];
    for (const x of order) if (x?.n) return Math.exp(x.value);
    return 1;
  }

  /** Expected overhead of a request that finds nothing ahead of it, ms (0 before any observation). */
  overheadMs(): number {
    return this.#overhead.n ? Math.exp(this.#overhead.value) : this.#anyOverhead.n ? Math.exp(this.#anyOverhead.value) : 0;
  }

  /** What is known of a variant, for status (undefined when nothing was observed of it). */
  describe(variant: string): LatencyEstimate | undefined {
    const s = this.#variants.get(variant);
    if (!s) return undefined;
    const runs: LatencyEstimate['runs'] = [];
    s.runs.forEach((a, k) => {
      if (a.n) runs.push({ maxBatch: 2 ** k, factor: round3(Math.exp(a.value)), observed: Math.round(a.n) });
    });
    return {
      runs,
      ...(s.loadFirst.n ? { firstLoadFactor: round3(Math.exp(s.loadFirst.value)) } : {}),
      ...(s.loadRepeat.n ? { loadFactor: round3(Math.exp(s.loadRepeat.value)) } : {}),
    };
  }

  /** Forgets a variant (it left the catalogue). */
  forget(variant: string): void {
    this.#variants.delete(variant);
  }

  /** The variants it has learnt something of. */
  variants(): IterableIterator<string> {
    return this.#variants.keys();
  }

  #state(variant: string): VariantState {
    let s = this.#variants.get(variant);
    if (!s) {
      s = { runs: Array.from({ length: BUCKETS }, () => new Average()), loadFirst: new Average(), loadRepeat: new Average() };
      this.#variants.set(variant, s);
    }
    return s;
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
