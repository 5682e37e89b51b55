// The dynamic batcher of one replica: a FIFO queue of requests for one variant, merged into one session run
// (inputs concatenated along the batch dimension, outputs split back per request) as the batching policy
// (src/policy/batching.ts) decides; it holds a batch back only for requests with deadlines and rejects early,
// with DEADLINE_EXCEEDED, a request that can no longer finish in time. One run at a time per replica.
//
// Admission: a request with a deadline is refused at once with RESOURCE_EXHAUSTED (and when to retry) when the
// work queued ahead of it on the worker — this queue, the batch running, the other replicas' queues — would make
// it late (src/policy/admission.ts); any request is refused once the queue holds `maxQueue` requests. Latencies
// are the profile's corrected by the worker's own runs (src/policy/latency-estimator.ts). A request reaching an
// idle replica that has run nothing for PROBE_AFTER_MS runs whatever the estimate says (refused requests measure
// nothing: an estimate that refuses everything would never be corrected).
//
// Scheduling on the worker's single thread: a request arriving at an idle replica is decided at once (no extra
// hop on the hot path); after a run the next decision is deferred with setImmediate, so the requests that
// arrived on the sockets while the session was running are read and queued first and join the next batch.

import { InfaasError, invalid, withoutStack } from '../core/errors.ts';
import type { BatchLatency, Tensor } from '../core/types.ts';
import type { MergedBatch } from '../protocol/worker-protocol.ts';
import { cannotMeetDeadline, decideBatch, predictLatency, type BatchingOptions, type QueuedRequest } from '../policy/batching.ts';
import { admit, drainMs, PROBE_AFTER_MS } from '../policy/admission.ts';
import type { LatencyEstimator } from '../policy/latency-estimator.ts';
import type { VariantMonitor } from './variant-monitor.ts';

export interface BatcherOptions {
  variant: string;
  /** Most samples in one run. */
  maxBatch: number;
  /** Profiled latency per batch size (empty: unknown). */
  latency: readonly BatchLatency[];
  /** Longest a request with a deadline is held back for others to join, ms. */
  maxWaitMs: number;
  /** Runs one merged batch on the replica's session. */
  run: (input: Tensor) => Promise<Record<string, Tensor>>;
  monitor: VariantMonitor;
  /** Monotonic clock, ms (performance.now). */
  now: () => number;
  /** The worker's estimator: fed with every run, it corrects `latency` (default: the profile as is). */
  estimator?: LatencyEstimator;
  /** Work queued on the worker's other replicas at `now`, ms (default none). */
  othersMs?: (now: number) => number;
  /** Most requests in the queue; more are refused with RESOURCE_EXHAUSTED (default 1024). */
  maxQueue?: number;
}

export interface BatchRunResult {
  outputs: Record<string, Tensor>;
  /** From entering the queue to the start of the run (batching wait included). */
  queueMs: number;
  inferenceMs: number;
  batch: MergedBatch;
}

interface Job extends QueuedRequest {
  input: Tensor;
  resolve: (r: BatchRunResult) => void;
  reject: (e: unknown) => void;
}

/** Wake-ups from setTimeout may come about this late; waits are planned to end this much earlier. */
const TIMER_SLACK_MS = 1;
/** An idle replica that has run nothing for this long runs the next request whatever the estimate says. */

export class Batcher {
  readonly #o: BatcherOptions;
  readonly #policy: BatchingOptions;
  readonly #queue: Job[] = [];
  #running = false;
  #scheduled = false;
  #timer?: NodeJS.Timeout;
  /** Samples in #queue. */
  #queuedSamples = 0;
  /** The run in progress: when it started and its samples. */
  #runStart = 0;
  #runSamples = 0;
  /** The profile corrected by the estimator (the profile itself without one). */
  #curve: readonly BatchLatency[];
  /** When the last run ended (or the batcher started). */
  #lastRunEnd: number;

  constructor(o: BatcherOptions) {
    this.#o = o;
    this.#lastRunEnd = o.now();
    this.#curve = this.#corrected();
    // No efficientBatch cap: on CPU the profiled curve is nearly flat past a few samples and noisy on a shared
    // machine, while every extra run costs a cycle of replies and reads outside the session.
    this.#policy = { maxBatch: o.maxBatch, latency: this.#curve, maxWaitMs: o.maxWaitMs, timerSlackMs: TIMER_SLACK_MS };
  }

  /** Expected time (ms) to finish the run in progress and everything queued, at the corrected p50. */
  backlogMs(now: number): number {
    const p50 = (n: number) => predictLatency(this.#curve, n, 'p50');
    const running = this.#running ? Math.max(0, this.#runStart + p50(this.#runSamples) - now) : 0;
    return running + drainMs(this.#queuedSamples, this.#o.maxBatch, p50);
  }

  /** Requests queued (not running). */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Queues `input` and resolves with its share of the merged run. `deadline` is absolute on the `now` clock;
   * `group` keeps requests that must not be merged apart (e.g. different sample shapes).
   */
  submit(input: Tensor, deadline?: number, group?: string): Promise<BatchRunResult> {
    return new Promise<BatchRunResult>((resolve, reject) => {
      const now = this.#o.now();
      const probe = deadline !== undefined && !this.#running && this.#queue.length === 0 && now - this.#lastRunEnd >= PROBE_AFTER_MS;
      const job: Job = { input, samples: input.shape[0], arrivedAt: now, deadline: probe ? undefined : deadline, group, resolve, reject };
      const refusal = withoutStack(() => this.#admission(job, now));
      if (refusal) {
        reject(refusal);
        return;
      }
      this.#queue.push(job);
      this.#queuedSamples += job.samples;
      if (!this.#running && !this.#scheduled) this.#pump();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#pump);
  }

  readonly #pump = (): void => {
    this.#scheduled = false;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#running || this.#queue.length === 0) return;
    const now = this.#o.now();
    const d = decideBatch(this.#queue, now, this.#withRate(now));
    for (let i = d.reject.length - 1; i >= 0; i--) {
      const [job] = this.#queue.splice(d.reject[i], 1);
      this.#queuedSamples -= job.samples;
      job.reject(this.#deadlineError(job, now));
    }
    if (d.dispatch > 0) {
      const jobs = this.#queue.splice(0, d.dispatch);
      for (const j of jobs) this.#queuedSamples -= j.samples;
      void this.#run(jobs);
    }
    else if (d.waitUntil !== undefined && this.#queue.length) this.#timer = setTimeout(this.#pump, Math.max(0, d.waitUntil - now));
  };

  /** The policy options with the current arrival rate; only consulted when a batch could wait. */
  #withRate(now: number): BatchingOptions {
    this.#policy.arrivalRatePerMs = this.#o.monitor.arrivalRatePerMs(now);
    return this.#policy;
  }

  async #run(jobs: Job[]): Promise<void> {
    this.#running = true;
    let samples = 0;
    for (const j of jobs) samples += j.samples;
    const start = this.#o.now();
    this.#runStart = start;
    this.#runSamples = samples;
    try {
      const outputs = await this.#o.run(jobs.length === 1 ? jobs[0].input : concat(jobs, samples));
      const end = this.#o.now();
      const inferenceMs = end - start;
      this.#o.monitor.ran(samples, inferenceMs);
      this.#observe(samples, inferenceMs, end);
      const batch = { requests: jobs.length, samples };
      if (jobs.length === 1) {
        jobs[0].resolve({ outputs, queueMs: start - jobs[0].arrivedAt, inferenceMs, batch });
      } else {
        let at = 0;
        for (const j of jobs) {
          j.resolve({ outputs: slice(outputs, samples, at, j.samples), queueMs: start - j.arrivedAt, inferenceMs, batch });
          at += j.samples;
        }
      }
    } catch (e) {
      const err = e instanceof InfaasError ? e : invalid(`${this.#o.variant}: ${(e as Error).message}`);
      for (const j of jobs) j.reject(err);
    } finally {
      this.#running = false;
      this.#lastRunEnd = this.#o.now();
      if (this.#queue.length) this.#schedule();
    }
  }

  /** Feeds a run to the estimator and corrects the curve the policy reads. */
  #observe(samples: number, ms: number, now: number): void {
    const e = this.#o.estimator;
    if (!e || !this.#o.latency.length) return;
    e.observeRun(this.#o.variant, samples, ms, predictLatency(this.#o.latency, samples, 'p50'), now);
    this.#curve = this.#corrected();
    this.#policy.latency = this.#curve;
  }

  #corrected(): readonly BatchLatency[] {
    const e = this.#o.estimator;
    if (!e) return this.#o.latency;
    return this.#o.latency.map((l) => {
      const f = e.runFactor(this.#o.variant, l.batch);
      return { batch: l.batch, p50: l.p50 * f, p95: l.p95 * f };
    });
  }

  /** Why `job` is refused on arrival, or undefined when it is queued (see the top of this file). */
  #admission(job: Job, now: number): InfaasError | undefined {
    const max = this.#o.maxQueue ?? 1024;
    if (this.#queue.length >= max) {
      const retryAfterMs = round1(Math.max(1, this.backlogMs(now) + (this.#o.othersMs?.(now) ?? 0)));
      return new InfaasError('RESOURCE_EXHAUSTED', `overloaded: ${this.#o.variant} already has ${this.#queue.length} requests queued here (the most this worker holds); retry in ~${retryAfterMs} ms`, {
        variant: this.#o.variant, queued: this.#queue.length, retryAfterMs,
      });
    }
    if (job.deadline === undefined) return undefined;
    if (cannotMeetDeadline(job, now, this.#curve)) return this.#deadlineError(job, now);
    if (!this.#curve.length) return undefined;
    const waitMs = this.backlogMs(now) + (this.#o.othersMs?.(now) ?? 0);
    const a = admit({ budgetMs: job.deadline - now, waitMs, serviceMs: predictLatency(this.#curve, job.samples, 'p95') });
    // Alone it fits at p50 (checked above): only work queued ahead refuses it here.
    if (a.admit || waitMs <= 0) return undefined;
    const [predictedMs, remainingMs, retryAfterMs] = [round1(a.predictedMs), round1(job.deadline - now), round1(Math.max(1, a.retryAfterMs))];
    return new InfaasError(
      'RESOURCE_EXHAUSTED',
      `overloaded: ${this.#o.variant} would answer in ~${predictedMs} ms (${round1(waitMs)} ms of work queued ahead on this worker), past the ${remainingMs} ms left of its SLO; retry in ~${retryAfterMs} ms`,
      { variant: this.#o.variant, predictedMs, waitMs: round1(waitMs), remainingMs, retryAfterMs },
    );
  }

  #deadlineError(job: Job, now: number): InfaasError {
    const neededMs = round2(predictLatency(this.#curve, job.samples, 'p50'));
    const remaining = (job.deadline ?? now) - now;
    const remainingMs = round1(remaining);
    const left = remaining > 0 ? `only ${remainingMs} ms of its SLO remained` : `its SLO had already run out ${round1(-remaining)} ms before`;
    return new InfaasError('DEADLINE_EXCEEDED', `deadline exceeded: the request needed ~${neededMs} ms on ${this.#o.variant} but ${left}`, {
      variant: this.#o.variant,
      neededMs,
      remainingMs,
    });
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The jobs' inputs concatenated along the batch dimension. */
function concat(jobs: readonly Job[], samples: number): Tensor {
  const first = jobs[0].input;
  const per = first.data.length / first.shape[0];
  const data = new Float32Array(samples * per);
  let at = 0;
  for (const j of jobs) {
    data.set(j.input.data, at);
    at += j.input.data.length;
  }
  return { shape: [samples, ...first.shape.slice(1)], data };
}

/** One request's rows of every output whose first dimension is the merged batch; other outputs are shared whole. */
function slice(outputs: Record<string, Tensor>, total: number, at: number, n: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const name in outputs) {
    const t = outputs[name];
    if (t.shape[0] !== total) {
      out[name] = t;
      continue;
    }
    const per = t.data.length / total;
    out[name] = { shape: [n, ...t.shape.slice(1)], data: t.data.subarray(at * per, (at + n) * per) };
  }
  return out;
}
