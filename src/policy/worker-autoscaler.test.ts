// Tests for the worker autoscaler: hot rules, back-off, min/max, sustained-low removal and its reset,
// victim choice, placement requests, demand-based `wanted`, the period.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalogue } from './catalogue.ts';
import { variantSnap, workerSnap } from './policy-fixtures.ts';
import type { ClusterSnapshot, WorkerSnapshot } from './scaling-policy.ts';
import { autoscaleWorkers, EMPTY_WORKER_AUTOSCALER_STATE, infaasWorkerAutoscaler, type WorkerAutoscalerConfig, type WorkerAutoscalerState } from './worker-autoscaler.ts';

const cat = Catalogue.empty();
const snap = (workers: WorkerSnapshot[], unplaced: string[] = []): ClusterSnapshot => ({ now: 0, catalogue: cat, workerClasses: [], workers, unplaced });
const utils = (...us: number[]) => us.map((u, i) => workerSnap(`w${i + 1}`, { utilisation: u }));
const infaas = infaasWorkerAutoscaler('cpu-2', 1, 4);
const S0 = EMPTY_WORKER_AUTOSCALER_STATE;

test('INFaaS: add one worker only when the least-utilised is above 80%', () => {
  assert.deepEqual(autoscaleWorkers(snap(utils(0.9, 0.85)), infaas, S0, 0).actions, [{ kind: 'addWorker', workerClass: 'cpu-2' }]);
  assert.deepEqual(autoscaleWorkers(snap(utils(0.99, 0.79)), infaas, S0, 0).actions, []);
});

test('back-off after adding, then add again; never above max; starting workers count', () => {
  let r = autoscaleWorkers(snap(utils(0.9)), infaas, S0, 0);
  assert.equal(r.actions.length, 1);
  r = autoscaleWorkers(snap([...utils(0.9), workerSnap('w9', { phase: 'starting' })]), infaas, r.state, 2000);
  assert.deepEqual(r.actions, [], 'within 30 s back-off');
  r = autoscaleWorkers(snap(utils(0.9, 0.9)), infaas, r.state, 30_000);
  assert.equal(r.actions.length, 1);
  r = autoscaleWorkers(snap(utils(0.9, 0.9, 0.9, 0.9)), infaas, r.state, 120_000);
  assert.deepEqual(r.actions, [], 'at max');
});

test('below min adds at once; above max removes the least-utilised', () => {
  const cfg: WorkerAutoscalerConfig = { ...infaas, limits: [{ workerClass: 'cpu-2', min: 3, max: 4 }] };
  assert.equal(autoscaleWorkers(snap(utils(0.1)), cfg, S0, 0).actions.filter((a) => a.kind === 'addWorker').length, 2);
  assert.deepEqual(autoscaleWorkers(snap(utils(0.5, 0.2, 0.6, 0.7, 0.9)), cfg, S0, 0).actions, [{ kind: 'removeWorker', worker: 'w2' }]);
});

test('remove one worker after 15 consecutive low checks; a busy check resets the count; never below min', () => {
  let st: WorkerAutoscalerState = S0;
  let t = 0;
  const low = snap(utils(0.2, 0.04, 0.3));
  for (let i = 0; i < 14; i++, t += 2000) {
    const r = autoscaleWorkers(low, infaas, st, t);
    assert.deepEqual(r.actions, []);
    st = r.state;
  }
  let r = autoscaleWorkers(snap(utils(0.9, 0.85, 0.95)), { ...infaas, backoffMs: Infinity }, st, t); // hot but backing off: still resets
  st = r.state;
  assert.equal(st.lowChecks['cpu-2'], 0);
  t += 2000;
  for (let i = 0; i < 14; i++, t += 2000) st = autoscaleWorkers(low, infaas, st, t).state;
  r = autoscaleWorkers(low, infaas, st, t);
  assert.deepEqual(r.actions, [{ kind: 'removeWorker', worker: 'w2' }]);
  // at min (1): never
  st = S0;
  for (let i = 0; i < 30; i++) {
    r = autoscaleWorkers(snap(utils(0.0)), infaas, st, i * 2000);
    assert.deepEqual(r.actions, []);
    st = r.state;
  }
});

test('the victim is a worker whose variants are held elsewhere, even if another is idler', () => {
  const a = workerSnap('w1', { utilisation: 0.01, variants: [variantSnap('only-here')] });
  const b = workerSnap('w2', { utilisation: 0.03, variants: [variantSnap('shared')] });
  const c = workerSnap('w3', { utilisation: 0.2, variants: [variantSnap('shared')] });
  const cfg = { ...infaas, lowChecks: 1 };
  assert.deepEqual(autoscaleWorkers(snap([a, b, c]), cfg, S0, 0).actions, [{ kind: 'removeWorker', worker: 'w2' }]);
  // a worker holding a variant loaded explicitly (pinned) is never the victim, however idle: w3 goes instead
  const pinnedHere = workerSnap('w2', { utilisation: 0.0, variants: [variantSnap('shared', { pinned: true })] });
  assert.deepEqual(autoscaleWorkers(snap([a, pinnedHere, c]), cfg, S0, 0).actions, [{ kind: 'removeWorker', worker: 'w3' }]);
});

test('an unplaceable variant asks for a worker of the placement class; the period is respected', () => {
  const r = autoscaleWorkers(snap(utils(0.1), ['v']), infaas, S0, 0);
  assert.deepEqual(r.actions, [{ kind: 'addWorker', workerClass: 'cpu-2' }]);
  assert.deepEqual(autoscaleWorkers(snap(utils(0.99), ['v']), infaas, { ...S0, lastRunAt: 0 }, 1999).actions, [], 'before the next period');
});

test('proportional step and demand-based wanted add several at once; excess removal sheds the surplus or half', () => {
  const cfg: WorkerAutoscalerConfig = { ...infaas, hotRule: 'mean', step: 'proportional', targetUtilisation: 0.5, limits: [{ workerClass: 'cpu-2', min: 1, max: 100 }] };
  // mean 0.9 on 4 workers: 3.6 busy / 0.5 = 8 → add 4
  assert.equal(autoscaleWorkers(snap(utils(0.9, 0.9, 0.9, 0.9)), cfg, S0, 0).actions.length, 4);
  // cool, but demand says 10
  const wanted = new Map([['cpu-2', 10]]);
  assert.equal(autoscaleWorkers(snap(utils(0.4, 0.4)), cfg, S0, 0, wanted).actions.length, 8);
  // 10 idle workers, 2 wanted: remove (10 − 2)/2 = 4 once the low checks have passed, or all 8
  const half = { ...cfg, removeStep: 'half-excess' as const, lowChecks: 1 };
  const r = autoscaleWorkers(snap(utils(...Array(10).fill(0.01))), half, S0, 0, new Map([['cpu-2', 2]]));
  assert.equal(r.actions.filter((a) => a.kind === 'removeWorker').length, 4);
  assert.equal(new Set(r.actions.map((a) => (a.kind === 'removeWorker' ? a.worker : ''))).size, 4, 'distinct victims');
  const all = autoscaleWorkers(snap(utils(...Array(10).fill(0.01))), { ...half, removeStep: 'excess' as const }, S0, 0, new Map([['cpu-2', 2]]));
  assert.equal(new Set(all.actions.map((a) => (a.kind === 'removeWorker' ? a.worker : ''))).size, 8);
});
