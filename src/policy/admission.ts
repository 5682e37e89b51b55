// Admission control (pure): whether a request with a latency SLO can still be answered in time given the work
// queued ahead of it, and if not, when to try again. The controller asks it before sending a request to a worker,
// and the worker again when the request reaches a replica's queue; both estimate the queue with the corrected
// latencies of latency-estimator.ts. Requests without an SLO are never refused by it (only by a full queue).
//
// The wait ahead of a request on a worker is the drain time of every replica's queue there: a worker runs one
// batch at a time across all its replicas, and its queues drain in batches of up to each variant's max batch.

/**
 * A replica (worker side) or worker (controller side) with nothing in flight that has run or been sent nothing for
 * this long takes the next request whatever the prediction says: refused requests measure nothing, and estimates
 * that refuse everything would otherwise never be corrected (while requests are in flight their replies correct them).
 */
export const PROBE_AFTER_MS = 250;

/** Time to run `samples` queued samples in batches of at most `maxBatch`: full batches, then the rest (ms). */
export function drainMs(samples: number, maxBatch: number, batchMs: (samples: number) => number): number {
  if (!(samples > 0)) return 0;
  const b = Math.max(1, Math.floor(maxBatch));
  const full = Math.floor(samples / b);
  const rest = samples - full * b;
  return (full > 0 ? full * batchMs(b) : 0) + (rest > 0 ? batchMs(rest) : 0);
}

export interface AdmissionCheck {
  /** What is left of the request's SLO now, ms. */
  budgetMs: number;
  /** Expected wait before the request's batch starts (the work queued ahead of it), ms. */
  waitMs: number;
  /** Expected time of the request's own part: its batch's run, and the load first on a cold start, ms. */
  serviceMs: number;
  /** Expected cost outside the worker's queue, load and run (transport, controller), ms. Default 0. */
  overheadMs?: number;
  /**
   * Headroom on top of the prediction, ms (default 0): for the tail of the errors of past predictions and for waits
   * the caller cannot see (a request waiting on a busy server before the caller saw it). Load, like the wait.
   */
  marginMs?: number;
}

/** predictedMs: overhead + wait + service (without the margin). */
export type Admission =
  | { admit: true; predictedMs: number }
  | {
      admit: false;
      predictedMs: number;
      /**
       * 'queue': the request would fit were the system less loaded (its queue shorter, the margin smaller);
       * retryAfterMs is how long that excess takes to drain (without new arrivals). 'alone': it cannot fit even
       * with nothing queued and no margin; retryAfterMs is 0.
       */
      why: 'queue' | 'alone';
      retryAfterMs: number;
    };

/** Admits a request when overhead + wait + service + margin fits its budget. */
export function admit(c: AdmissionCheck): Admission {
  const overhead = c.overheadMs ?? 0;
  const predictedMs = overhead + c.waitMs + c.serviceMs;
  const excess = predictedMs + (c.marginMs ?? 0) - c.budgetMs;
  if (excess <= 0) return { admit: true, predictedMs };
  if (overhead + c.serviceMs > c.budgetMs) return { admit: false, predictedMs, why: 'alone', retryAfterMs: 0 };
  return { admit: false, predictedMs, why: 'queue', retryAfterMs: excess };
}
