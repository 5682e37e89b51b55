// Dynamic batching policy for one variant's queue (pure, clock passed in): which queued requests to reject
// because their deadline can no longer be met, how many of the oldest to merge into the next run, and how long
// the run may be held back waiting for more requests. The worker's batcher and the simulator both call it.
//
// Rules, in order:
//  1. Reject every request that would finish after its deadline even if it ran alone right now
//     (now + p50(alone) > deadline): running it would only waste the replica.
//  2. Candidate batch: the longest FIFO prefix of what is left whose samples fit in the batch limit — maxBatch,
//     or the profile's most efficient batch when smaller (bigger batches would only lower throughput; the rest
//     runs next) — (the head always fits, even when larger) and whose requests share the head's `group`.
//  3. Never make a request late by merging: shrink the candidate to the longest prefix whose requests all
//     finish by their deadlines at the batch's predicted p95 (at least the head).
//  4. Run now when the batch is full, when requests are left behind it, when a request in it has no deadline
//     (requests without an SLO never wait), or when there is no latency profile. Otherwise hold it back until
//     the earliest of: the latest start at which the tightest request in it still finishes in time were one
//     more sample to join (less the caller's timer slack), and the head's arrival + maxWaitMs. Do not wait at all when that moment has passed
//     or, given the observed arrival rate, no other request is expected before it.

import type { BatchLatency } from '../core/types.ts';

/** One request in a variant's queue, oldest first. */
export interface QueuedRequest {
  /** Samples in the request (its batch dimension). */
  samples: number;
  /** Arrival time, ms, on the clock of `now`. */
  arrivedAt: number;
  /** Absolute deadline, ms, on the clock of `now`; undefined: no SLO. */
  deadline?: number;
  /** Requests merge only with neighbours of the same group (undefined matches undefined). */
  group?: string;
}

export interface BatchingOptions {
  /** Most samples in one run. */
  maxBatch: number;
  /** Fewer samples per run when more are queued: the batch of highest throughput (see mostEfficientBatch). Default maxBatch. */
  efficientBatch?: number;
  /** Profiled latency per batch size, ascending by batch; empty when unknown. */
  latency: readonly BatchLatency[];
  /** Longest time the head of the queue may be held back for others to join, ms. */
  maxWaitMs: number;
  /** Observed arrival rate, requests per ms; when given, waiting is skipped when no arrival is expected in time. */
  arrivalRatePerMs?: number;
  /** How late the caller's wake-ups may come (timer granularity), ms: a wait is planned to end this much before the latest start. Default 0. */
  timerSlackMs?: number;
}

export interface BatchDecision {
  /** Indexes (into the queue as given, ascending) of the requests to reject with DEADLINE_EXCEEDED. */
  reject: readonly number[];
  /** Run now the first `dispatch` requests of the queue left after removing `reject`; 0: run nothing now. */
  dispatch: number;
  /** With dispatch 0 and requests left: decide again at this time (or sooner, when another request arrives). */
  waitUntil?: number;
}

const NONE: readonly number[] = Object.freeze([]);

/** Interpolated latency (ms) of a batch of `batch` samples; extrapolated linearly past the last point; 0 without a profile. */
export function predictLatency(curve: readonly BatchLatency[], batch: number, which: 'p50' | 'p95' = 'p95'): number {
  const n = curve.length;
  if (n === 0) return 0;
  if (batch <= curve[0].batch || n === 1) {
    const c = curve[0];
    return n === 1 && batch > c.batch ? (c[which] * batch) / c.batch : c[which];
  }
  for (let i = 1; i < n; i++) {
    const hi = curve[i];
    if (batch <= hi.batch) {
      const lo = curve[i - 1];
      return lo[which] + ((hi[which] - lo[which]) * (batch - lo.batch)) / (hi.batch - lo.batch);
    }
  }
  const lo = curve[n - 2];
  const hi = curve[n - 1];
  const slope = Math.max(0, (hi[which] - lo[which]) / (hi.batch - lo.batch));
  return hi[which] + slope * (batch - hi.batch);
}

/**
 * The batch size to cap merged runs at: the largest batch up to maxBatch whose profiled throughput (batch / p50)
 * is within 10% of the best. Larger runs cost less outside the session (fewer cycles of replies and requests)
 * and profiles are noisy, so only a clear loss at large batches caps them. maxBatch without a profile.
 */
export function mostEfficientBatch(curve: readonly BatchLatency[], maxBatch: number): number {
  let best = 0;
  for (const l of curve) if (l.batch <= maxBatch && l.p50 > 0) best = Math.max(best, l.batch / l.p50);
  if (best === 0) return maxBatch;
  let pick = 1;
  for (const l of curve) if (l.batch <= maxBatch && l.p50 > 0 && l.batch / l.p50 >= 0.9 * best) pick = Math.max(pick, l.batch);
  return pick;
}

/** True when `r` would finish after its deadline even if it ran alone starting at `now` (rule 1). */
export function cannotMeetDeadline(r: QueuedRequest, now: number, curve: readonly BatchLatency[]): boolean {
  return r.deadline !== undefined && now + predictLatency(curve, r.samples, 'p50') > r.deadline;
}

/** Decides what a free replica does with its queue at time `now` (see the rules at the top of this file). */
export function decideBatch(queue: readonly QueuedRequest[], now: number, o: BatchingOptions): BatchDecision {
  let reject: number[] | undefined;
  for (let i = 0; i < queue.length; i++) {
    if (cannotMeetDeadline(queue[i], now, o.latency)) (reject ??= []).push(i);
  }
  const rejected = reject ?? NONE;
  const left = queue.length - rejected.length;
  if (left === 0) return { reject: rejected, dispatch: 0 };

  // Rule 2: the candidate prefix over the requests left (skipping rejected indexes), with running sums.
  const limit = Math.min(o.maxBatch, o.efficientBatch ?? o.maxBatch);
  const members: QueuedRequest[] = [];
  const sumTo: number[] = []; // samples in members[0..j]
  const minTo: number[] = []; // tightest deadline in members[0..j] (Infinity: none)
  let ri = 0;
  for (let i = 0; i < queue.length; i++) {
    if (ri < rejected.length && rejected[ri] === i) {
      ri++;
      continue;
    }
    const r = queue[i];
    const j = members.length;
    if (j > 0 && (sumTo[j - 1] + r.samples > limit || r.group !== members[0].group)) break;
    members.push(r);
    sumTo.push((j > 0 ? sumTo[j - 1] : 0) + r.samples);
    minTo.push(Math.min(j > 0 ? minTo[j - 1] : Infinity, r.deadline ?? Infinity));
  }

  // Rule 3: shrink until everyone in the batch finishes in time at its predicted p95 (the head always stays).
  let k = members.length;
  while (k > 1 && now + predictLatency(o.latency, sumTo[k - 1], 'p95') > minTo[k - 1]) k--;
  const samples = sumTo[k - 1];
  const tightest = minTo[k - 1];

  // Rule 4: run now, or hold back.
  const full = samples >= limit || k < left;
  let anyWithoutDeadline = false;
  for (let j = 0; j < k; j++) if (members[j].deadline === undefined) anyWithoutDeadline = true;
  if (full || anyWithoutDeadline || o.latency.length === 0 || o.maxWaitMs <= 0) return { reject: rejected, dispatch: k };
  const latestStart = tightest - predictLatency(o.latency, Math.min(limit, samples + 1), 'p95') - (o.timerSlackMs ?? 0);
  const waitUntil = Math.min(latestStart, members[0].arrivedAt + o.maxWaitMs);
  if (waitUntil <= now) return { reject: rejected, dispatch: k };
  if (o.arrivalRatePerMs !== undefined && (o.arrivalRatePerMs <= 0 || now + 1 / o.arrivalRatePerMs > waitUntil)) return { reject: rejected, dispatch: k };
  return { reject: rejected, dispatch: 0, waitUntil };
}
