// Tests of the per-variant monitor's window arithmetic on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VariantMonitor } from './variant-monitor.ts';

const curve = [
  { batch: 1, p50: 1, p95: 2 },
  { batch: 4, p50: 2, p95: 4 },
];

test('one window: rates per second, batch, execution and end-to-end percentiles, profile at the batch', () => {
  const m = new VariantMonitor(0);
  for (let i = 0; i < 6; i++) m.arrived(2); // 6 requests, 12 samples
  m.ran(4, 3);
  m.ran(4, 5);
  m.ran(2, 1);
  for (const ms of [4, 6, 8, 10]) m.answered(2, ms);
  m.failed(2, true); // rejected for its deadline
  const s = m.roll(500, 1, curve); // one request still held
  assert.equal(s.windowMs, 500);
  assert.equal(s.arrivalRps, 12);
  assert.equal(s.arrivalQps, 24);
  assert.equal(s.completedRps, 10);
  assert.equal(s.completedQps, 16);
  assert.equal(s.queueLength, 2);
  assert.equal(s.outstanding, 1);
  assert.equal(s.runs, 3);
  assert.equal(s.avgBatch, 10 / 3);
  assert.deepEqual([s.avgMs, s.p50Ms, s.p95Ms], [3, 3, 5]);
  assert.deepEqual([s.e2eP50Ms, s.e2eP95Ms], [6, 10]);
  assert.equal(s.rejected, 1);
  assert.deepEqual([s.profileP50Ms, s.profileP95Ms], [2, 4]); // at ceil(3.33) = 4
  // each run against the profile at its own batch (batch 2 interpolates to p50 1.33, p95 2.67): time / p50 is
  // 1.5, 2.5, 0.75 (median 1.5); time / p95 is 0.75, 1.25, 0.375 (95th percentile 1.25)
  assert.ok(Math.abs(s.slowdownP50! - 1.5) < 1e-9 && Math.abs(s.slowdownP95! - 1.25) < 1e-9, `${s.slowdownP50} ${s.slowdownP95}`);
  assert.equal(m.last, s);
});

test('the next window starts empty but keeps what is still pending', () => {
  const m = new VariantMonitor(0);
  m.arrived(3);
  m.roll(1000, 1, curve);
  const s = m.roll(2000, 1, undefined);
  assert.deepEqual([s.arrivalRps, s.completedRps, s.runs, s.avgBatch, s.p95Ms, s.e2eP95Ms, s.profileP50Ms], [0, 0, 0, 0, 0, 0, 0]);
  assert.equal(s.queueLength, 3);
});

test('the arrival rate seen by the batcher covers the open window once it is 100 ms old', () => {
  const m = new VariantMonitor(0);
  assert.equal(m.arrivalRatePerMs(50), 0);
  for (let i = 0; i < 20; i++) m.arrived(1);
  assert.equal(m.arrivalRatePerMs(50), 0);
  assert.equal(m.arrivalRatePerMs(200), 0.1);
  m.roll(1000, 0, curve);
  assert.equal(m.arrivalRatePerMs(1010), 0.02); // the last window's 20 per second
});
