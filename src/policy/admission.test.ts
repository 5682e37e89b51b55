// Tests of the admission rule and the queue drain estimate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, drainMs } from './admission.ts';

const batchMs = (n: number) => 2 + n; // 2 ms per run + 1 ms per sample

test('drain: full batches then the rest; nothing queued takes nothing', () => {
  assert.equal(drainMs(0, 8, batchMs), 0);
  assert.equal(drainMs(3, 8, batchMs), 5);
  assert.equal(drainMs(8, 8, batchMs), 10);
  assert.equal(drainMs(19, 8, batchMs), 2 * 10 + 5);
  assert.equal(drainMs(3, 1, batchMs), 9);
  assert.equal(drainMs(3, 0, batchMs), 9); // a max batch below 1 counts as 1
});

test('admitted when overhead + wait + service fits the budget', () => {
  assert.deepEqual(admit({ budgetMs: 50, waitMs: 30, serviceMs: 10, overheadMs: 10 }), { admit: true, predictedMs: 50 });
  assert.deepEqual(admit({ budgetMs: 50, waitMs: 0, serviceMs: 50 }), { admit: true, predictedMs: 50 });
});

test('refused for the queue: retry once the queue ahead has shrunk by the excess', () => {
  assert.deepEqual(admit({ budgetMs: 50, waitMs: 45, serviceMs: 10, overheadMs: 1 }), { admit: false, predictedMs: 56, why: 'queue', retryAfterMs: 6 });
});

test('refused alone: even with nothing queued it would be late, and no retry helps', () => {
  assert.deepEqual(admit({ budgetMs: 5, waitMs: 3, serviceMs: 4, overheadMs: 2 }), { admit: false, predictedMs: 9, why: 'alone', retryAfterMs: 0 });
  assert.equal(admit({ budgetMs: -1, waitMs: 0, serviceMs: 0 }).admit, false);
});


test('a margin (the tail of past errors, waits not seen) is headroom: the request fits only with it', () => {
  assert.deepEqual(admit({ budgetMs: 50, waitMs: 30, serviceMs: 10, marginMs: 10 }), { admit: true, predictedMs: 40 });
  assert.deepEqual(admit({ budgetMs: 50, waitMs: 30, serviceMs: 10, marginMs: 15 }), { admit: false, predictedMs: 40, why: 'queue', retryAfterMs: 5 });
  assert.equal((admit({ budgetMs: 10, waitMs: 0, serviceMs: 9, marginMs: 5 }) as { why: string }).why, 'queue');
});
