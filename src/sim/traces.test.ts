// Tests for the workload traces: shapes, bounds, Poisson counts against the integral, determinism by seed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import { expectedQueries, getTrace, mulberry32, poissonArrivals, TRACE_NAMES } from './traces.ts';

function count(name: string, seed: number, durationS = 200, peakQps = 100): number[] {
  return [...poissonArrivals(getTrace(name, { durationS, peakQps }), mulberry32(seed))];
}

test('steady traces are constant at 20% and 100% of peak', () => {
  const low = getTrace('steady-low', { peakQps: 50 });
  const high = getTrace('steady-high', { peakQps: 50 });
  for (const t of [0, 10.5, 299]) {
    assert.equal(low.rate(t), 10);
    assert.equal(high.rate(t), 50);
  }
});

test('every trace stays within [0, peak] and reaches its shape', () => {
  for (const name of TRACE_NAMES) {
    const tr = getTrace(name, { durationS: 300, peakQps: 1000 });
    let min = Infinity, max = 0;
    for (let t = 0; t < 300; t += 0.25) {
      const r = tr.rate(t);
      assert.ok(r >= 0 && r <= 1000, `${name} rate ${r} at ${t}`);
      min = Math.min(min, r);
      max = Math.max(max, r);
    }
    if (name === 'bursty') { assert.equal(min, 100); assert.equal(max, 1000); }
    if (name === 'diurnal') { assert.ok(min < 200, `diurnal night ${min}`); assert.equal(max, 1000); }
    if (name === 'flux') { assert.ok(min >= 200 && max - min > 300, `flux ${min}..${max}`); }
  }
  // flux changes level every 30 s and holds it in between
  const flux = getTrace('flux', { durationS: 300, peakQps: 1000 });
  assert.equal(flux.rate(31), flux.rate(59));
});

test('Poisson arrival counts are within 4 sigma of the rate integral, ascending and in range', () => {
  for (const name of TRACE_NAMES) {
    const tr = getTrace(name, { durationS: 200, peakQps: 100 });
    const ts = count(name, 42);
    const mean = expectedQueries(tr);
    assert.ok(Math.abs(ts.length - mean) < 4 * Math.sqrt(mean), `${name}: ${ts.length} vs ${mean.toFixed(0)}`);
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i] >= ts[i - 1]);
    assert.ok(ts[0] >= 0 && ts[ts.length - 1] < 200);
  }
});

test('bursts carry their share: arrivals inside bursts follow the burst rate', () => {
  const tr = getTrace('bursty', { durationS: 600, peakQps: 200 });
  const ts = [...poissonArrivals(tr, mulberry32(3))];
  const inBurst = ts.filter((t) => tr.rate(t) === 200).length;
  let burstS = 0;
  for (let t = 0.005; t < 600; t += 0.01) if (tr.rate(t) === 200) burstS += 0.01;
  assert.ok(Math.abs(inBurst - burstS * 200) < 4 * Math.sqrt(burstS * 200), `${inBurst} vs ${(burstS * 200).toFixed(0)}`);
});

test('same seed, same arrivals; different seed, different arrivals', () => {
  assert.deepEqual(count('flux', 7, 50), count('flux', 7, 50));
  assert.notDeepEqual(count('flux', 7, 50), count('flux', 8, 50));
  const a = mulberry32(1), b = mulberry32(1);
  for (let i = 0; i < 100; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
  }
});

test('unknown trace names and bad options are INVALID_ARGUMENT listing the valid names', () => {
  assert.throws(() => getTrace('spiky'), (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_ARGUMENT' && /steady-low, steady-high, flux, bursty, diurnal/.test(e.message));
  assert.throws(() => getTrace('flux', { durationS: 0 }), (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => getTrace('flux', { peakQps: -1 }), (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_ARGUMENT');
});
