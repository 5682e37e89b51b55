// Tests of the latency estimator with a hand-stepped clock: factors per variant and batch bucket, load times apart
// for a worker's first load, the overhead, fallbacks for what was never observed, robustness and staleness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyEstimator } from './latency-estimator.ts';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

test('nothing observed: the profile as is, no overhead', () => {
  const e = new LatencyEstimator();
  assert.equal(e.runFactor('v', 1), 1);
  assert.equal(e.loadMs('v', 20, true), 20);
  assert.equal(e.overheadMs(), 0);
  assert.equal(e.describe('v'), undefined);
});

test('the first run replaces the prior; later runs move the factor by alpha, in log space', () => {
  const e = new LatencyEstimator({ alpha: 0.5 });
  e.observeRun('v', 1, 3, 1, 0); // 3x the profile
  close(e.runFactor('v', 1), 3);
  e.observeRun('v', 1, 1, 1, 1); // as profiled: the even warm-up average of log 3 and log 1
  close(e.runFactor('v', 1), Math.sqrt(3));
  // A run a hundredfold slower (a pause) is capped and, averaged in log space, moves the factor less than its mean would.
  const f = new LatencyEstimator({ alpha: 0.1 });
  for (let i = 0; i < 20; i++) f.observeRun('v', 1, 2, 1, i);
  f.observeRun('v', 1, 10_000, 1, 21);
  assert.ok(f.runFactor('v', 1) < 2 * 100 ** 0.1 + 1e-9 && f.runFactor('v', 1) > 2, String(f.runFactor('v', 1)));
});

test('per batch bucket, the nearest observed bucket otherwise, then every variant', () => {
  const e = new LatencyEstimator();
  e.observeRun('v', 1, 2, 1, 0); // bucket 1: the first run ever replaces the profile
  // Bucket 5-8 starts from what is known of v (2x, as if from 3 runs): a run at 0.5x weighs a quarter (log space).
  e.observeRun('v', 8, 1, 2, 0);
  close(e.runFactor('v', 1), 2);
  close(e.runFactor('v', 6), Math.SQRT2);
  close(e.runFactor('v', 16), Math.SQRT2); // nearest: 5-8
  close(e.runFactor('v', 2), 2); // 2: between 1 (one bucket away) and 5-8 (two away)
  close(e.runFactor('v', 3), Math.SQRT2); // 3-4: one away from each, the larger wins
  // A variant never observed borrows the geometric mean over every run (2x and 0.5x).
  close(e.runFactor('w', 1), 1);
  const d = e.describe('v')!;
  assert.deepEqual(d.runs, [{ maxBatch: 1, factor: 2, observed: 1 }, { maxBatch: 8, factor: 1.414, observed: 4 }]);
});

test('once warmed up, a single run counts at most 4x away from the average', () => {
  const e = new LatencyEstimator({ alpha: 0.1 });
  for (let i = 0; i < 10; i++) e.observeRun('v', 32, 10, 10, i);
  e.observeRun('v', 32, 1000, 10, 11); // a stall: 100x, counted as 4x
  close(e.runFactor('v', 32), 4 ** 0.1);
});

test('merged runs: replies of one run share its weight', () => {
  const e = new LatencyEstimator({ alpha: 0.1 });
  for (let i = 0; i < 50; i++) e.observeRun('v', 4, 1, 1, i); // as profiled, 50 runs
  for (let r = 0; r < 32; r++) e.observeRun('v', 4, 4, 1, 60, 1 / 32); // one run at 4x, reported by its 32 requests
  // One run's worth of weight: log-average moves by alpha, not by 32 x alpha.
  close(e.runFactor('v', 4), 4 ** 0.1, 1e-6);
  assert.equal(e.describe('v')!.runs[0].observed, 51);
});

test("load times: a worker's first load apart from reloads, each borrowing the other when missing", () => {
  const e = new LatencyEstimator();
  e.observeLoad('a', 60, 10, true, 0); // first load: 6x the profile (reads and verifies the file)
  close(e.loadMs('a', 10, true), 60);
  close(e.loadMs('a', 10, false), 60); // no reload seen yet: a first load's figure, an upper bound
  e.observeLoad('a', 15, 10, false, 1);
  close(e.loadMs('a', 10, false), 15);
  close(e.loadMs('a', 10, true), 60);
  // Another variant borrows the averages over all variants of the same kind...
  close(e.loadMs('b', 4, true), 24);
  close(e.loadMs('b', 4, false), 6);
  // ... or its artifact's, when it is given and known: another variant of the same file.
  e.observeLoad('c', 20, 10, false, 2, 'file');
  close(e.loadMs('d', 10, false, 'file'), 20);
  close(e.loadMs('d', 10, false, 'other'), 10 * Math.sqrt(1.5 * 2)); // all reloads: 1.5x and 2x
  assert.deepEqual({ first: e.describe('a')!.firstLoadFactor, reload: e.describe('a')!.loadFactor }, { first: 6, reload: 1.5 });
});

test('overhead: a geometric moving average of requests that found nothing ahead (of any until one did); bad observations ignored', () => {
  const e = new LatencyEstimator({ alpha: 0.5 });
  e.observeOverhead(9, 0, false); // under load: waits for a busy worker too
  close(e.overheadMs(), 9); // nothing better known yet
  e.observeOverhead(2, 1);
  e.observeOverhead(8, 2);
  close(e.overheadMs(), 4);
  e.observeOverhead(40, 3, false);
  close(e.overheadMs(), 4);
  e.observeOverhead(4, 3);
  close(e.overheadMs(), 4);
  e.observeOverhead(400, 3); // a stall: counted as 4x the average (16), with weight alpha (1/2)
  close(e.overheadMs(), 8);
  e.observeOverhead(NaN, 4);
  e.observeOverhead(-1, 4);
  e.observeRun('v', 1, 0, 1, 2);
  e.observeRun('v', 1, 1, 0, 2);
  e.observeLoad('v', Infinity, 1, true, 2);
  close(e.overheadMs(), 8);
  assert.equal(e.describe('v'), undefined);
});

test('an average unfed for staleMs restarts: its old figure counts as a few runs only', () => {
  const e = new LatencyEstimator({ alpha: 0.1, staleMs: 1000 });
  for (let i = 0; i < 30; i++) e.observeRun('v', 1, 1, 1, i);
  e.observeRun('v', 1, 5, 1, 500); // fresh: moves by alpha (5x clamped to 4x)
  close(e.runFactor('v', 1), 4 ** 0.1);
  e.observeRun('v', 1, 3, 1, 2000); // 1.5 s later: a quarter of the weight
  close(e.runFactor('v', 1), Math.exp(0.75 * Math.log(4 ** 0.1) + 0.25 * Math.log(3)));
  e.observeLoad('v', 30, 10, true, 0);
  e.observeLoad('v', 10, 10, true, 5000); // a load 5 s after the last: replaces
  close(e.loadMs('v', 10, true), 10);
  e.forget('v');
  assert.equal(e.describe('v'), undefined);
});

test('margin: a quantile of the prediction errors of the last window, never below 0, none from a handful', () => {
  const e = new LatencyEstimator({ marginQuantile: 0.9, marginWindowMs: 1000, marginMinErrors: 50 });
  assert.equal(e.marginMs(0), 0);
  for (let i = 0; i < 49; i++) e.observeError(100, -5000);
  assert.equal(e.marginMs(-5000), 0); // 49 errors: too few
  assert.equal(e.marginMs(-4800), 0);
  for (let i = 1; i <= 100; i++) e.observeError(i - 50, 10); // -49 .. 50
  close(e.marginMs(10), 40); // the 90th of 100
  for (let i = 0; i < 100; i++) e.observeError(-5, 20); // predictions ran long
  close(e.marginMs(20), 30); // the 180th of 200: -4 .. 50 are the top 55
  close(e.marginMs(1015), 0); // the first hundred are gone; the rest ran long
  close(e.marginMs(2100), 0);
});
