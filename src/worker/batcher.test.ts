// Tests of the batcher with a hand-stepped clock and a stand-in session (each run takes 60 ms of that clock): runs
// feed the estimator and correct the curve admission reads; an idle replica that ran nothing for 250 ms takes the
// next request whatever the estimate says; the backlog counts the run in progress and the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InfaasError } from '../core/errors.ts';
import type { Tensor } from '../core/types.ts';
import { LatencyEstimator } from '../policy/latency-estimator.ts';
import { Batcher } from './batcher.ts';
import { VariantMonitor } from './variant-monitor.ts';

const x: Tensor = { shape: [1, 2], data: new Float32Array(2) };

function batcher() {
  const clock = { t: 0 };
  const estimator = new LatencyEstimator();
  const b = new Batcher({
    variant: 'v', maxBatch: 1, latency: [{ batch: 1, p50: 50, p95: 60 }], maxWaitMs: 0, monitor: new VariantMonitor(0), now: () => clock.t, estimator,
    run: async (t) => {
      clock.t += 60;
      return { y: t };
    },
  });
  return { b, clock, estimator };
}

const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: InfaasError) => e.code);

test('runs correct the curve: a deadline the profile would meet is refused once runs show it cannot', async () => {
  const { b, clock, estimator } = batcher();
  assert.equal(await codeOf(b.submit(x, clock.t + 55)), 'ok'); // profile p50 50 ms: fits 55
  assert.ok(Math.abs(estimator.runFactor('v', 1) - 1.2) < 1e-9); // it took 60
  assert.equal(await codeOf(b.submit(x, clock.t + 55)), 'DEADLINE_EXCEEDED'); // 60 ms now: does not
});

test('an idle replica that ran nothing for 250 ms runs the next request whatever the estimate', async () => {
  const { b, clock } = batcher();
  assert.equal(await codeOf(b.submit(x, clock.t + 40)), 'DEADLINE_EXCEEDED');
  clock.t += 250;
  assert.equal(await codeOf(b.submit(x, clock.t + 40)), 'ok'); // a probe: it runs (late)
  assert.equal(await codeOf(b.submit(x, clock.t + 40)), 'DEADLINE_EXCEEDED'); // it just ran: held to the estimate
});

test('the backlog: the rest of the run in progress, then the queue drained at the corrected p50', async () => {
  const { b, clock } = batcher();
  assert.equal(b.backlogMs(clock.t), 0);
  const runs = [b.submit(x), b.submit(x), b.submit(x)]; // the first starts at 0 and runs, two queued
  assert.equal(b.queued, 2);
  assert.equal(b.backlogMs(10), 40 + 2 * 50);
  await Promise.all(runs);
  assert.equal(b.backlogMs(clock.t), 0);
});
