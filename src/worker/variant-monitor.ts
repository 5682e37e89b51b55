// The per-variant monitor of a worker: counts arrivals, completions, rejections and runs as they happen (a few
// increments on the hot path) and, once per window (about a second), turns them into ReplicaStats: rates,
// queue length, average merged batch, execution and end-to-end latency percentiles, and the profiled latency
// at the observed batch to compare them with.

import type { BatchLatency, ReplicaStats } from '../core/types.ts';
import { predictLatency } from '../policy/batching.ts';

export class VariantMonitor {
  #windowStart: number;
  #arrivals = 0;
  #arrivedSamples = 0;
  #completions = 0;
  #completedSamples = 0;
  #rejected = 0;
  #runSamples = 0;
  /** Samples arrived and not yet finished. */
  #pendingSamples = 0;
  readonly #runMs: number[] = [];
  /** Samples of each run, beside #runMs: the profile at each run's own batch gives its slowdown. */
  readonly #runBatch: number[] = [];
  readonly #e2eMs: number[] = [];
  #last?: ReplicaStats;

  constructor(now: number) {
    this.#windowStart = now;
  }

  /** A request of `samples` entered the variant (before any load or queueing). */
  arrived(samples: number): void {
    this.#arrivals++;
    this.#arrivedSamples += samples;
    this.#pendingSamples += samples;
  }

  /** A request of `samples` was answered `latencyMs` after it was queued (batching wait + run). */
  answered(samples: number, latencyMs: number): void {
    this.#completions++;
    this.#completedSamples += samples;
    this.#pendingSamples -= samples;
    this.#e2eMs.push(latencyMs);
  }

  /** A request ended without an answer (an error, or `rejected` early for its deadline). */
  failed(samples: number, rejected: boolean): void {
    this.#completions++;
    this.#pendingSamples -= samples;
    if (rejected) this.#rejected++;
  }

  /** One run of a merged batch of `samples` took `ms`. */
  ran(samples: number, ms: number): void {
    this.#runSamples += samples;
    this.#runMs.push(ms);
    this.#runBatch.push(samples);
  }

  /** Figures of the last closed window (undefined before the first closes). */
  get last(): ReplicaStats | undefined {
    return this.#last;
  }

  /**
   * Arrival rate for the batcher, requests per ms: the larger of the last window's and the open window's (once
   * it is 100 ms old), so a burst is seen before its window closes; 0 when nothing is known yet.
   */
  arrivalRatePerMs(now: number): number {
    const open = now - this.#windowStart >= 100 ? this.#arrivals / (now - this.#windowStart) : 0;
    return Math.max(open, (this.#last?.arrivalRps ?? 0) / 1000);
  }

  /** Closes the window at `now`, returns its figures and opens the next one. */
  roll(now: number, outstanding: number, curve: readonly BatchLatency[] | undefined): ReplicaStats {
    const windowMs = Math.max(1, now - this.#windowStart);
    const perS = 1000 / windowMs;
    const runs = this.#runMs.length;
    const slow = curve?.length ? slowdowns(this.#runMs, this.#runBatch, curve) : { p50: 0, p95: 0 };
    const run = summary(this.#runMs);
    const e2e = summary(this.#e2eMs);
    const avgBatch = runs ? this.#runSamples / runs : 0;
    const atBatch = Math.max(1, Math.ceil(avgBatch));
    const stats: ReplicaStats = {
      arrivalQps: this.#arrivedSamples * perS,
      completedQps: this.#completedSamples * perS,
      queueLength: Math.max(0, this.#pendingSamples),
      avgBatch,
      avgMs: run.avg,
      p50Ms: run.p50,
      p95Ms: run.p95,
      e2eP95Ms: e2e.p95,
      replicas: 1,
      slowdownP50: slow.p50,
      slowdownP95: slow.p95,
      e2eP50Ms: e2e.p50,
      arrivalRps: this.#arrivals * perS,
      completedRps: this.#completions * perS,
      outstanding,
      runs,
      rejected: this.#rejected,
      profileP50Ms: curve?.length ? predictLatency(curve, atBatch, 'p50') : 0,
      profileP95Ms: curve?.length ? predictLatency(curve, atBatch, 'p95') : 0,
      windowMs,
    };
    this.#windowStart = now;
    this.#arrivals = this.#arrivedSamples = this.#completions = this.#completedSamples = this.#rejected = this.#runSamples = 0;
    this.#runMs.length = 0;
    this.#runBatch.length = 0;
    this.#e2eMs.length = 0;
    this.#last = stats;
    return stats;
  }
}

/**
 * Median of run time / profiled p50 and 95th percentile of run time / profiled p95, each at the run's own batch
 * (WindowStats.slowdownP50 / slowdownP95); zeros when there were no runs. Call before `summary` sorts `ms`.
 */
function slowdowns(ms: readonly number[], batch: readonly number[], curve: readonly BatchLatency[]): { p50: number; p95: number } {
  if (!ms.length) return { p50: 0, p95: 0 };
  const r50 = ms.map((m, i) => m / Math.max(1e-9, predictLatency(curve, batch[i], 'p50')));
  const r95 = ms.map((m, i) => m / Math.max(1e-9, predictLatency(curve, batch[i], 'p95')));
  return { p50: summary(r50).p50, p95: summary(r95).p95 };
}

/** Mean, median and 95th percentile (nearest rank) of `xs`, sorting it in place; zeros when empty. */
function summary(xs: number[]): { avg: number; p50: number; p95: number } {
  if (!xs.length) return { avg: 0, p50: 0, p95: 0 };
  xs.sort((a, b) => a - b);
  let sum = 0;
  for (const x of xs) sum += x;
  const at = (p: number) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(p * xs.length) - 1))];
  return { avg: sum / xs.length, p50: at(0.5), p95: at(0.95) };
}
