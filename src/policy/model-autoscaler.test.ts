// Tests for the per-worker model autoscaler: scale-up arithmetic and bounds, sustained-low scale-down,
// scale to zero, INFaaS's replicate-vs-upgrade rule, load-before-unload, cost-aware downgrade, pinning.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalogue } from './catalogue.ts';
import { makeVariant } from './fixtures.ts';
import {
  autoscaleModels, EMPTY_MODEL_AUTOSCALER_STATE, INFAAS_CPU_MODEL_AUTOSCALER, type ModelAutoscalerConfig, type ModelAutoscalerState,
} from './model-autoscaler.ts';
import { variantSnap, workerSnap } from './policy-fixtures.ts';

// p50(b) = 8·(0.5 + 0.5b) → batch 1: 8 ms, 125 samples/s per replica.
const slow = makeVariant({ name: 'a.slow', arch: 'a', p95: 10, maxBatch: 1, loadMs: 100, costPer1k: 1, memoryMB: 100 });
// A faster, pricier sibling: 250 samples/s per replica, slow to load.
const fast = makeVariant({ name: 'a.fast', arch: 'a', p95: 5, maxBatch: 1, loadMs: 150, costPer1k: 2, memoryMB: 100 });
const cat = new Catalogue([slow, fast]);
const cfg: ModelAutoscalerConfig = { ...INFAAS_CPU_MODEL_AUTOSCALER, vertical: 'none' };
const S0 = EMPTY_MODEL_AUTOSCALER_STATE;

test('scale up by ⌈(demand − 0.95·capacity)/thr⌉ replicas, bounded by free threads', () => {
  const w = workerSnap('w1', { threads: 8, variants: [variantSnap('a.slow', { replicas: 1, stats: { arrivalQps: 400 } })] });
  const { actions } = autoscaleModels(w, cat, cfg, S0, 0);
  // (400 − 0.95·125)/125 = 2.25 → 3
  assert.deepEqual(actions, Array(3).fill({ kind: 'addReplica', worker: 'w1', variant: 'a.slow' }));
  const small = workerSnap('w1', { threads: 2, variants: [variantSnap('a.slow', { replicas: 1, stats: { arrivalQps: 400 } })] });
  assert.equal(autoscaleModels(small, cat, cfg, S0, 0).actions.length, 1, 'one free thread left');
  const full = workerSnap('w1', { threads: 8, memoryUsedMB: 1990, variants: [variantSnap('a.slow', { replicas: 1, stats: { arrivalQps: 400 } })] });
  assert.equal(autoscaleModels(full, cat, cfg, S0, 0).actions.length, 0, 'no memory left');
  const ok = workerSnap('w1', { threads: 8, variants: [variantSnap('a.slow', { replicas: 1, stats: { arrivalQps: 100 } })] });
  assert.equal(autoscaleModels(ok, cat, cfg, S0, 0).actions.length, 0, 'within capacity');
});

test('scale down one replica only after demand stayed low for scaleDownAfterMs, and the timer resets', () => {
  const low = (qps: number) => workerSnap('w1', { variants: [variantSnap('a.slow', { replicas: 3, stats: { arrivalQps: qps } })] });
  let st: ModelAutoscalerState = S0;
  let r = autoscaleModels(low(100), cat, cfg, st, 0); // 100 ≤ 2·125: wants one fewer
  assert.deepEqual(r.actions, []);
  st = r.state;
  r = autoscaleModels(low(100), cat, cfg, st, 9000);
  assert.deepEqual(r.actions, []);
  r = autoscaleModels(low(300), cat, cfg, r.state, 9500); // demand came back: forget
  assert.deepEqual(r.state.lowSince, {});
  r = autoscaleModels(low(100), cat, cfg, r.state, 10_000);
  r = autoscaleModels(low(100), cat, cfg, r.state, 19_999);
  assert.deepEqual(r.actions, []);
  r = autoscaleModels(low(100), cat, cfg, r.state, 20_000);
  assert.deepEqual(r.actions, [{ kind: 'removeReplica', worker: 'w1', variant: 'a.slow' }]);
});

test('idle variants are unloaded after idleUnloadMs (scale to zero); never with INFaaS defaults or when pinned', () => {
  const w = workerSnap('w1', { variants: [variantSnap('a.slow', { lastUsedAt: 1000 })] });
  const zero = { ...cfg, idleUnloadMs: 30_000 };
  assert.deepEqual(autoscaleModels(w, cat, zero, S0, 30_999).actions, []);
  assert.deepEqual(autoscaleModels(w, cat, zero, S0, 31_000).actions, [{ kind: 'unload', worker: 'w1', variant: 'a.slow' }]);
  assert.deepEqual(autoscaleModels(w, cat, cfg, S0, 1e9).actions, []);
  assert.deepEqual(autoscaleModels(w, cat, { ...zero, pinned: new Set(['a.slow']) }, S0, 1e9).actions, []);
  // pinned by the snapshot: loaded explicitly by an operator
  const explicit = workerSnap('w1', { variants: [variantSnap('a.slow', { lastUsedAt: 1000, pinned: true })] });
  assert.deepEqual(autoscaleModels(explicit, cat, zero, S0, 1e9).actions, []);
  const queued = workerSnap('w1', { variants: [variantSnap('a.slow', { lastUsedAt: 1000, stats: { queueLength: 3 } })] });
  assert.deepEqual(autoscaleModels(queued, cat, zero, S0, 1e9).actions, [], 'not while it still has work');
});

test('INFaaS vertical rule: upgrade when replicating costs more than 1.5x the upgrade, then load before unload', () => {
  const infaas = INFAAS_CPU_MODEL_AUTOSCALER;
  // 700/s on one slow replica: need ⌈(700 − 118.75)/125⌉ = 5 replicas × 100 ms = 500 vs fast: ⌈700/250⌉ = 3 × 150 = 450 → 500 < 675: replicate
  const w = (qps: number) => workerSnap('w1', { threads: 8, variants: [variantSnap('a.slow', { replicas: 1, stats: { arrivalQps: qps } })] });
  const rep = autoscaleModels(w(700), cat, infaas, S0, 0).actions;
  assert.ok(rep.length === 5 && rep.every((a) => a.kind === 'addReplica'), JSON.stringify(rep));
  // with a costlier replication (load 7 s instead of 100 ms), the upgrade wins
  const heavy = new Catalogue([makeVariant({ name: 'a.slow', arch: 'a', p95: 10, maxBatch: 1, loadMs: 7000, costPer1k: 1 }), fast]);
  const r = autoscaleModels(w(400), heavy, infaas, S0, 0);
  // need 3 × 7000 = 21000 vs fast ⌈400/250⌉ = 2 × 150 = 300 → upgrade: load fast + 1 replica
  assert.deepEqual(r.actions, [{ kind: 'load', worker: 'w1', variant: 'a.fast' }, { kind: 'addReplica', worker: 'w1', variant: 'a.fast' }]);
  assert.deepEqual(r.state.switches.map((s) => [s.from, s.to]), [['a.slow', 'a.fast']]);
  // next tick: a.fast still loading → the old one stays
  const loading = workerSnap('w1', { threads: 8, variants: [variantSnap('a.slow', { stats: { arrivalQps: 400 } }), variantSnap('a.fast', { replicas: 0, loading: 2, state: 'loading' })] });
  const r2 = autoscaleModels(loading, heavy, infaas, r.state, 1000);
  assert.ok(!r2.actions.some((a) => a.kind === 'unload'), 'never unload before the new variant serves');
  assert.equal(r2.state.switches.length, 1);
  // then a.fast serves → unload a.slow, switch done
  const served = workerSnap('w1', { threads: 8, variants: [variantSnap('a.slow', { stats: { arrivalQps: 50 } }), variantSnap('a.fast', { replicas: 2 })] });
  const r3 = autoscaleModels(served, heavy, infaas, r2.state, 2000);
  assert.deepEqual(r3.actions.filter((a) => a.kind === 'unload'), [{ kind: 'unload', worker: 'w1', variant: 'a.slow' }]);
  assert.equal(r3.state.switches.length, 0);
});

test('cost-aware downgrade: a cheaper sibling that keeps accuracy and SLO takes over, loaded first', () => {
  const cheap = makeVariant({ name: 'b.cheap', arch: 'b', p95: 4, maxBatch: 1, costPer1k: 1, accuracy: 90 });
  const dear = makeVariant({ name: 'b.dear', arch: 'b', p95: 4, maxBatch: 1, costPer1k: 3, accuracy: 90 });
  const worse = makeVariant({ name: 'b.worse', arch: 'b', p95: 4, maxBatch: 1, costPer1k: 0.5, accuracy: 80 });
  const c = new Catalogue([cheap, dear, worse]);
  const aware: ModelAutoscalerConfig = { ...cfg, vertical: 'cost-aware', capacityBatch: 'slo', targetUtilisation: 0.6, upMargin: 1 };
  const w = workerSnap('w1', { variants: [variantSnap('b.dear', { minSloMs: 20, maxMinAccuracy: 85, stats: { arrivalQps: 50 } })] });
  const r = autoscaleModels(w, c, aware, S0, 0);
  assert.deepEqual(r.actions, [{ kind: 'load', worker: 'w1', variant: 'b.cheap' }], 'b.worse is cheaper but misses the accuracy');
  const strict = workerSnap('w1', { variants: [variantSnap('b.dear', { minSloMs: 6, maxMinAccuracy: 85, stats: { arrivalQps: 50 } })] });
  assert.deepEqual(autoscaleModels(strict, c, aware, S0, 0).actions, [], 'a 6 ms SLO leaves no slack for a 4 ms p95');
});

test('workers that are not ready are left alone', () => {
  const w = workerSnap('w1', { phase: 'draining', variants: [variantSnap('a.slow', { stats: { arrivalQps: 1000 } })] });
  assert.deepEqual(autoscaleModels(w, cat, cfg, S0, 0).actions, []);
});
