// Tests of workerSlowdown: the busy-time-weighted median of per-variant slowdowns, with its guards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalogue } from './catalogue.ts';
import { makeVariant } from './fixtures.ts';
import { variantSnap, workerSnap } from './policy-fixtures.ts';
import { workerSlowdown } from './worker-slowdown.ts';

// p50(b) = 0.8·p95·(0.5 + 0.5b): a.a 8 ms at batch 1, b.a 0.8 ms
const cat = new Catalogue([makeVariant({ name: 'a.a', p95: 10, maxBatch: 8 }), makeVariant({ name: 'b.a', p95: 1, maxBatch: 8 })]);

test('the monitor\'s per-run slowdown when given, else measured p50 against the profile at the mean batch', () => {
  const given = workerSnap('w1', { variants: [variantSnap('a.a', { stats: { completedQps: 100, avgBatch: 1, p50Ms: 8, slowdownP50: 3 } })] });
  assert.equal(workerSlowdown(given, cat), 3);
  const measured = workerSnap('w1', { variants: [variantSnap('a.a', { stats: { completedQps: 100, avgBatch: 1, p50Ms: 20 } })] });
  assert.equal(workerSlowdown(measured, cat), 2.5);
});

test('the median by busy time: one odd light variant does not move it', () => {
  const w = workerSnap('w1', { variants: [
    variantSnap('a.a', { stats: { completedQps: 100, avgBatch: 1, p50Ms: 8, slowdownP50: 1 } }), // 800 ms busy per s
    variantSnap('b.a', { stats: { completedQps: 100, avgBatch: 1, p50Ms: 2.4, slowdownP50: 3 } }), // 240 ms
  ] });
  assert.equal(workerSlowdown(w, cat), 1);
  const flipped = workerSnap('w1', { variants: [
    variantSnap('a.a', { stats: { completedQps: 100, avgBatch: 1, p50Ms: 24, slowdownP50: 3 } }),
    variantSnap('b.a', { stats: { completedQps: 100, avgBatch: 1, p50Ms: 0.8, slowdownP50: 1 } }),
  ] });
  assert.equal(workerSlowdown(flipped, cat), 3);
});

test('1 when too few batches ran, for a worker not ready, and never below 1', () => {
  const few = workerSnap('w1', { variants: [variantSnap('a.a', { stats: { completedQps: 4, avgBatch: 1, p50Ms: 30, slowdownP50: 4 } })] });
  assert.equal(workerSlowdown(few, cat), 1);
  const starting = workerSnap('w1', { phase: 'starting', variants: [variantSnap('a.a', { stats: { completedQps: 100, avgBatch: 1, p50Ms: 30, slowdownP50: 4 } })] });
  assert.equal(workerSlowdown(starting, cat), 1);
  const fast = workerSnap('w1', { variants: [variantSnap('a.a', { stats: { completedQps: 100, avgBatch: 1, p50Ms: 4, slowdownP50: 0.5 } })] });
  assert.equal(workerSlowdown(fast, cat), 1);
});
