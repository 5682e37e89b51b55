// Tests for the simulator: conservation of queries, determinism by seed, a static policy on steady-low,
// noisy neighbours, and the built-in catalogue.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalogue } from '../policy/catalogue.ts';
import { makeVariant } from '../policy/fixtures.ts';
import { getPolicy } from '../policy/policies/index.ts';
import type { QueryClass, ScalingPolicy } from '../policy/scaling-policy.ts';
import { selectVariant } from '../policy/select-variant.ts';
import { simulate, type SimOptions } from './simulator.ts';
import { getTrace } from './traces.ts';
import { defaultMix } from './query-mix.ts';
import { zooVariants } from './variant-source.ts';

const zoo = new Catalogue(zooVariants());
const base = (over: Partial<SimOptions> = {}): SimOptions => ({
  trace: getTrace('bursty', { durationS: 40, peakQps: 1500 }), policy: getPolicy('ours'), variants: zoo, seed: 5, warmupS: 10, ...over,
});

test('every measured query completes or is rejected exactly once, under every policy', () => {
  for (const p of ['ours', 'infaas', 'static-peak', 'replica-only']) {
    const m = simulate(base({ policy: getPolicy(p) })).metrics;
    assert.ok(m.queries > 10_000, `${p}: ${m.queries}`);
    assert.equal(m.completed + m.rejected, m.queries, `${p}: ${m.completed} + ${m.rejected} ≠ ${m.queries}`);
    assert.equal(m.rejected, m.rejectedBy.unsatisfiable + m.rejectedBy.unplaced + m.rejectedBy.deadline);
    assert.ok(m.late <= m.completed);
    assert.ok(m.cost > 0 && m.utilisation > 0 && m.utilisation <= 1, `${p}: cost ${m.cost} util ${m.utilisation}`);
    assert.ok(m.p50Ms <= m.p95Ms && m.p95Ms <= m.p99Ms);
  }
});

test('the same seed gives the same run; another seed another one', () => {
  const strip = (o: SimOptions) => {
    const { wallS: _w, ...rest } = simulate(o).metrics;
    return rest;
  };
  assert.deepEqual(strip(base()), strip(base()));
  assert.notDeepEqual(strip(base()), strip(base({ seed: 6 })));
});

test('a static fleet sized for the peak has ~no violations on steady-low without noisy neighbours', () => {
  const m = simulate(base({ trace: getTrace('steady-low', { durationS: 30, peakQps: 1000 }), policy: getPolicy('static-peak'), interference: false })).metrics;
  assert.ok(m.violationRate < 0.002, `violations ${m.violationRate}`);
  assert.ok(m.meanWorkers >= 1);
});

test('a per-request overhead adds to every latency and eats into the SLO', () => {
  const opts = base({ trace: getTrace('steady-low', { durationS: 30, peakQps: 1000 }), policy: getPolicy('static-peak'), interference: false });
  const none = simulate(opts).metrics;
  const some = simulate({ ...opts, requestOverheadMs: 2 }).metrics;
  assert.equal(some.queries, none.queries);
  assert.ok(Math.abs(some.p50Ms - none.p50Ms - 2) < 0.5, `p50 ${none.p50Ms} -> ${some.p50Ms}`);
  // an overhead as long as the tightest SLO of the mix leaves no time for it: those queries all miss
  const tightest = Math.min(...defaultMix(zoo).map((c) => c.latencyMs));
  const over = simulate({ ...opts, requestOverheadMs: tightest }).metrics;
  assert.ok(over.violationRate > none.violationRate + 0.05, `violations ${none.violationRate} -> ${over.violationRate}`);
  assert.throws(() => simulate({ ...opts, requestOverheadMs: -1 }), /requestOverheadMs must be >= 0/);
});

test('noisy neighbours slow a worker down: late queries appear that do not without them', () => {
  // one worker, one variant near its SLO: interference (always on, 3x) makes it miss
  const v = makeVariant({ name: 'm.v', arch: 'm', p95: 4, maxBatch: 4, loadMs: 10, memoryMB: 10 });
  const mix: QueryClass[] = [{ name: 'only', weight: 1, useCase: v.useCase, minAccuracy: 0, latencyMs: 15 }];
  const one: ScalingPolicy<null> = {
    name: 'one', description: 'one worker', tickMs: 1000,
    init: () => ({ state: null, workers: [{ workerClass: 'cpu-2', variants: [{ variant: 'm.v', replicas: 2 }] }] }),
    tick: (_s, _n, state) => ({ actions: [], state }),
    route: (_q, view, cat, now) => selectVariant({ kind: 'variant', variant: 'm.v', batch: 1 }, cat, view, now),
  };
  const run = (interference: SimOptions['interference']) => simulate({
    trace: getTrace('steady-high', { durationS: 20, peakQps: 200 }), policy: one as ScalingPolicy<unknown>, variants: [v], mix, seed: 1, warmupS: 0, interference,
  }).metrics;
  const quiet = run(false);
  const noisy = run({ meanGapS: 0.001, durationS: [1000, 1000], slowdown: [3, 3] });
  assert.ok(quiet.violationRate < 0.01, `quiet ${quiet.violationRate}`);
  assert.ok(noisy.violationRate > 0.2, `noisy ${noisy.violationRate}`);
});

test('the built-in catalogue has every zoo artifact in six configurations with sane profiles', () => {
  assert.ok(zoo.size >= 12 && zoo.size % 6 === 0, `size ${zoo.size}`);
  assert.deepEqual(zoo.rejected, []);
  for (const e of zoo.entries()) {
    assert.ok(e.loadMs > 0 && e.memoryMB > 0 && e.costPer1k > 0);
    assert.ok(e.p95b1 > e.p50[0]);
  }
});

test('a variant needing more threads than any worker has is never run: its queries count as violations', () => {
  const v = makeVariant({ name: 'm.t2', arch: 'm', p95: 1, maxBatch: 4, loadMs: 10, memoryMB: 10, threads: 2 });
  const mix: QueryClass[] = [{ name: 'only', weight: 1, useCase: v.useCase, minAccuracy: 0, latencyMs: 50 }];
  const policy = (preload: boolean): ScalingPolicy<null> => ({
    name: 'small', description: 'one cpu-1 worker', tickMs: 1000,
    init: () => ({ state: null, workers: [{ workerClass: 'cpu-1', variants: preload ? [{ variant: 'm.t2', replicas: 1 }] : [] }] }),
    tick: (_s, _n, state) => ({ actions: [], state }),
    route: (_q, view, cat, now) => selectVariant({ kind: 'variant', variant: 'm.t2', batch: 1 }, cat, view, now),
  });
  for (const preload of [false, true]) {
    const m = simulate({ trace: getTrace('steady-low', { durationS: 5, peakQps: 100 }), policy: policy(preload) as ScalingPolicy<unknown>, variants: [v], mix, seed: 1, warmupS: 0, interference: false }).metrics;
    assert.ok(m.queries > 10);
    assert.equal(m.completed + m.rejected, m.queries, `preload ${preload}: every query accounted for`);
    assert.equal(m.violationRate, 1, `preload ${preload}: violations ${m.violationRate}`);
  }
});
