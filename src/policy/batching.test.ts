// Tests of the dynamic batching policy, one rule at a time, on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cannotMeetDeadline, decideBatch, mostEfficientBatch, predictLatency, type BatchingOptions, type QueuedRequest } from './batching.ts';

// p95: 2 ms alone, 4 ms at 4, 8 ms at 8 (p50 half of it).
const curve = [
  { batch: 1, p50: 1, p95: 2 },
  { batch: 4, p50: 2, p95: 4 },
  { batch: 8, p50: 4, p95: 8 },
];
const opts = (o: Partial<BatchingOptions> = {}): BatchingOptions => ({ maxBatch: 8, latency: curve, maxWaitMs: 5, ...o });
const req = (arrivedAt: number, deadline?: number, samples = 1, group?: string): QueuedRequest => ({ samples, arrivedAt, deadline, group });

test('predictLatency interpolates between points and extrapolates past the last', () => {
  assert.equal(predictLatency(curve, 1), 2);
  assert.equal(predictLatency(curve, 2), 2 + 2 / 3);
  assert.equal(predictLatency(curve, 6), 6);
  assert.equal(predictLatency(curve, 6, 'p50'), 3);
  assert.equal(predictLatency(curve, 12), 12); // slope of the last segment: 1 ms per sample
  assert.equal(predictLatency([{ batch: 1, p50: 1, p95: 3 }], 4), 12);
  assert.equal(predictLatency([], 4), 0);
});

test('requests without a deadline run at once, merged FIFO up to maxBatch', () => {
  const q = [req(0), req(1), req(2, undefined, 3), req(3, undefined, 4)];
  assert.deepEqual(decideBatch(q, 10, opts()), { reject: [], dispatch: 3 }); // 1+1+3 = 5; +4 would be 9 > 8
  assert.deepEqual(decideBatch([req(0)], 0, opts()), { reject: [], dispatch: 1 }); // alone: no wait
  // A request larger than maxBatch still runs (alone).
  assert.deepEqual(decideBatch([req(0, undefined, 20), req(0)], 0, opts()), { reject: [], dispatch: 1 });
});

test('a request that would be late even alone now is rejected; the rest still batch', () => {
  const now = 100;
  const q = [req(90, 100.5), req(95, 200), req(96, 101.5), req(97, 300)]; // alone p50 = 1 ms
  const d = decideBatch(q, now, opts());
  assert.deepEqual(d.reject, [0]);
  assert.equal(cannotMeetDeadline(q[2], now, curve), false);
  // Left: 200, 101.5, 300. All three at p95(3) = 3.33 ms would make 101.5 late; shrink to the head alone (2 ms).
  assert.equal(d.dispatch, 1);
  assert.equal(d.waitUntil, undefined);
});

test('merging never makes a request late: the batch shrinks to the longest on-time prefix', () => {
  // Head has slack; the fourth is tight: 4 requests take p95 4 ms > its 3.5 ms, three take 3.33 ms.
  const now = 0;
  const q = [req(0, 50), req(0, 50), req(0, 50), req(0, 3.5), req(0, 50)];
  assert.deepEqual(decideBatch(q, now, opts()), { reject: [], dispatch: 3 });
});

test('with deadlines and room in the batch it waits, bounded by maxWaitMs', () => {
  const d = decideBatch([req(10, 100)], 10, opts({ maxWaitMs: 5 }));
  assert.deepEqual(d, { reject: [], dispatch: 0, waitUntil: 15 });
  // Asked again at the wake-up time it runs.
  assert.deepEqual(decideBatch([req(10, 100)], 15, opts({ maxWaitMs: 5 })), { reject: [], dispatch: 1 });
});

test('the wait stops where the tightest request could still finish with one more sample', () => {
  // Two queued, tightest deadline 20; with a third sample p95(3) = 3.33 ms: latest start 16.67, before head+maxWait 50.
  const d = decideBatch([req(10, 40), req(11, 20)], 12, opts({ maxWaitMs: 40 }));
  assert.equal(d.dispatch, 0);
  assert.ok(Math.abs(d.waitUntil! - (20 - (2 + 4 / 3))) < 1e-9);
  // Past that point it runs at once.
  assert.equal(decideBatch([req(10, 40), req(11, 20)], 17, opts({ maxWaitMs: 40 })).dispatch, 2);
});

test('no wait when a request without deadline is in the batch, when full, or when others are left behind', () => {
  assert.equal(decideBatch([req(0, 100), req(0)], 0, opts()).dispatch, 2);
  assert.equal(decideBatch([req(0, 100, 8)], 0, opts()).dispatch, 1);
  assert.equal(decideBatch([req(0, 100, 5), req(0, 100, 4)], 0, opts()).dispatch, 1);
  assert.equal(decideBatch([req(0, 100)], 0, opts({ maxWaitMs: 0 })).dispatch, 1);
  assert.equal(decideBatch([req(0, 100)], 0, opts({ latency: [] })).dispatch, 1);
});

test('no wait when, at the observed arrival rate, nobody is expected before the wait would end', () => {
  const slow = opts({ maxWaitMs: 5, arrivalRatePerMs: 1 / 50 }); // one request per 50 ms
  assert.equal(decideBatch([req(0, 100)], 0, slow).dispatch, 1);
  const fast = opts({ maxWaitMs: 5, arrivalRatePerMs: 1 }); // one per ms
  assert.deepEqual(decideBatch([req(0, 100)], 0, fast), { reject: [], dispatch: 0, waitUntil: 5 });
  assert.equal(decideBatch([req(0, 100)], 0, opts({ arrivalRatePerMs: 0 })).dispatch, 1);
});

test('requests of different groups (e.g. sample shapes) are never merged', () => {
  const q = [req(0, undefined, 1, 'a'), req(0, undefined, 1, 'a'), req(0, undefined, 1, 'b'), req(0, undefined, 1, 'a')];
  assert.equal(decideBatch(q, 0, opts()).dispatch, 2);
});

test('all rejected: nothing to run', () => {
  assert.deepEqual(decideBatch([req(0, 0.5), req(0, 0.2)], 0, opts()), { reject: [0, 1], dispatch: 0 });
  assert.deepEqual(decideBatch([], 0, opts()), { reject: [], dispatch: 0 });
});

test('timer slack moves the planned wake-up earlier', () => {
  const d = decideBatch([req(10, 40), req(11, 20)], 12, opts({ maxWaitMs: 40, timerSlackMs: 1 }));
  assert.ok(Math.abs(d.waitUntil! - (20 - (2 + 4 / 3) - 1)) < 1e-9);
});

test('the batch is capped at the most efficient size when more is queued', () => {
  // Throughput per batch: 1/1, 4/2 = 2, 8/4.2 = 1.9 (within 10% of the best: the larger wins), 16/12 = 1.33.
  const c = [...curve.map((l) => ({ ...l })), { batch: 16, p50: 12, p95: 20 }];
  c[2].p50 = 4.2;
  assert.equal(mostEfficientBatch(c, 16), 8);
  assert.equal(mostEfficientBatch(c, 4), 4);
  assert.equal(mostEfficientBatch([], 32), 32);
  const q = Array.from({ length: 12 }, () => req(0));
  assert.equal(decideBatch(q, 0, opts({ maxBatch: 16, latency: c, efficientBatch: 8 })).dispatch, 8);
  assert.equal(decideBatch(q, 0, opts({ maxBatch: 16, latency: c })).dispatch, 12);
});
