// Tests for the policy sets: registry, static-peak sizing, `ours` placement (spread, shed, siblings,
// peak-hold, idle-only shedding), the worker floor after unplaced cold starts or saturation, replica-only
// pools, and tick purity (the input state is never mutated).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../../core/errors.ts';
import { Catalogue } from '../catalogue.ts';
import { makeVariant } from '../fixtures.ts';
import { variantSnap, workerSnap } from '../policy-fixtures.ts';
import type { ClusterSnapshot, PolicyContext, QueryClass, WorkerSnapshot } from '../scaling-policy.ts';
import { assessHealth, HEALTHY } from '../variant-health.ts';
import { getPolicy, POLICY_NAMES } from './index.ts';
import { healthPass } from './common.ts';
import { forecastDemand, OURS_FLOOR, OURS_HEALTH, oursPolicy, saturated } from './ours.ts';
import { placeReplicas, type PlacementConfig } from './placement.ts';
import { replicaOnlyPolicy } from './replica-only.ts';
import { staticPeakPolicy } from './static-peak.ts';

const UC = 'classification/fashion-mnist';
// p50(b) = 0.8·p95·(0.5 + 0.5b): 'x.b' at batch 1 → 8 ms (125/s), cheaper sibling 'x.a' (same artifact)
const a = makeVariant({ name: 'x.a', arch: 'x', p95: 10, maxBatch: 1, costPer1k: 1, accuracy: 90 });
const b = makeVariant({ name: 'x.b', arch: 'x', p95: 10, maxBatch: 1, costPer1k: 2, accuracy: 90 });
const cheap = makeVariant({ name: 'y.a', arch: 'y', p95: 2, maxBatch: 1, costPer1k: 0.1, accuracy: 70 });
const cat = new Catalogue([a, b, cheap]);
const mix: QueryClass[] = [
  { name: 'relaxed', weight: 1, useCase: UC, minAccuracy: 60, latencyMs: 40 },
  { name: 'strict', weight: 1, useCase: UC, minAccuracy: 85, latencyMs: 40 },
];
const ctx: PolicyContext = { catalogue: cat, workerClasses: [{ name: 'cpu-2', threads: 2, memoryMB: 2048, pricePerHour: 0.096 }], mix, peakQps: 1000 };
const snap = (workers: WorkerSnapshot[]): ClusterSnapshot => ({ now: 0, catalogue: cat, workerClasses: ctx.workerClasses, workers, unplaced: [] });
const place: PlacementConfig = { targetUtilisation: 0.5, holdTicks: 3, shedMargin: 1.3 };

test('the registry knows the four policies and refuses others', () => {
  for (const n of POLICY_NAMES) assert.equal(getPolicy(n).name, n);
  assert.throws(() => getPolicy('magic'), (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_ARGUMENT');
});

test('static-peak: the cheapest variant meeting every class, enough workers for the peak at 80%', () => {
  const { state, workers } = staticPeakPolicy().init(ctx);
  assert.equal(state.fixed.get(UC), 'x.a');
  // 1000 qps / (2 replicas × 125/s × 0.8) = 5 workers
  assert.equal(workers.length, 5);
  assert.deepEqual(workers[0].variants, [{ variant: 'x.a', replicas: 2 }]);
  assert.deepEqual(staticPeakPolicy().tick(snap([]), 0, state).actions, []);
});

test('placement spreads a family over free workers for its held peak, then sheds surplus holders', () => {
  const holder = workerSnap('w1', { variants: [variantSnap('x.a', { replicas: 2, minSloMs: 40, stats: { arrivalQps: 500 } })] });
  const empty = ['w2', 'w3', 'w4', 'w5'].map((id) => workerSnap(id));
  // 500/s at 125/s per replica and 50% target = 8 replicas: 2 held, 6 more on 3 workers (2 threads each)
  const r = placeReplicas(snap([holder, ...empty]), place, new Map());
  const loads = r.actions.filter((x) => x.kind === 'load').map((x) => (x.kind === 'load' ? x.worker : ''));
  assert.equal(loads.length, 3);
  assert.equal(r.actions.filter((x) => x.kind === 'addReplica').length, 3);
  assert.equal(r.threadsNeeded, 8);
  assert.deepEqual(r.unplaced, []);
  // demand falls to 50/s: the held peak keeps the replicas for holdTicks, then one holder goes per step
  const spread = ['w1', 'w2', 'w3', 'w4'].map((id) => workerSnap(id, { variants: [variantSnap('x.a', { replicas: 2, minSloMs: 40, stats: { arrivalQps: 12.5 } })] }));
  let hist = r.history;
  for (let i = 0; i < 2; i++) {
    const s = placeReplicas(snap(spread), place, hist);
    assert.deepEqual(s.actions, [], `held at step ${i}`);
    hist = s.history;
  }
  const shed = placeReplicas(snap(spread), place, hist);
  assert.equal(shed.actions.filter((x) => x.kind === 'unload').length, 1);
});

test('placement moves a family onto its cheapest suitable variant and unloads the sibling', () => {
  const w = workerSnap('w1', { variants: [variantSnap('x.b', { minSloMs: 40, stats: { arrivalQps: 10 } })] });
  const r = placeReplicas(snap([w, workerSnap('w2')]), place, new Map());
  assert.ok(r.actions.some((x) => x.kind === 'load' && x.variant === 'x.a'));
  const both = workerSnap('w1', { variants: [variantSnap('x.b', { minSloMs: 40, stats: { arrivalQps: 5 } }), variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 5 } })] });
  assert.deepEqual(placeReplicas(snap([both]), place, new Map()).actions, [{ kind: 'unload', worker: 'w1', variant: 'x.b' }]);
});

test('placement leaves variants asked for by name alone: no SLO known, no sibling swap', () => {
  // x.b takes traffic without an SLO (exact-variant queries): it stays even though x.a is cheaper
  const exact = workerSnap('w1', { variants: [variantSnap('x.b', { stats: { arrivalQps: 5 } }), variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 5 } })] });
  assert.deepEqual(placeReplicas(snap([exact]), place, new Map()).actions, []);
  // a family whose SLO is unknown stays on its busiest held member instead of loading the cheapest sibling
  const unknown = workerSnap('w1', { variants: [variantSnap('x.b', { stats: { arrivalQps: 10 } })] });
  assert.deepEqual(placeReplicas(snap([unknown, workerSnap('w2')]), place, new Map()).actions.filter((x) => x.kind === 'load' && x.variant === 'x.a'), []);
  // a sibling loaded explicitly (pinned) stays beside the cheaper primary
  const kept = workerSnap('w1', { variants: [variantSnap('x.b', { minSloMs: 40, pinned: true }), variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 5 } })] });
  assert.deepEqual(placeReplicas(snap([kept]), place, new Map()).actions, []);
  // two idle siblings loaded ahead of traffic (no SLO known): neither is unloaded for the other
  const preloaded = workerSnap('w1', { variants: [variantSnap('x.a'), variantSnap('x.b')] });
  assert.deepEqual(placeReplicas(snap([preloaded]), place, new Map()).actions, []);
  // with siblingIdleMs, a sibling used 5 s ago stays; one idle for 15 s goes
  const recent = (lastUsedAt: number) => ({ ...snap([workerSnap('w1', { variants: [variantSnap('x.b', { minSloMs: 40, lastUsedAt }), variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 5 } })] })]), now: 20_000 });
  assert.deepEqual(placeReplicas(recent(15_000), { ...place, siblingIdleMs: 10_000 }, new Map()).actions, []);
  assert.deepEqual(placeReplicas(recent(5_000), { ...place, siblingIdleMs: 10_000 }, new Map()).actions, [{ kind: 'unload', worker: 'w1', variant: 'x.b' }]);
});

test('placement packs by compute: light families share a thread, a busy one keeps whole replicas', () => {
  // y.a (1.6 ms at batch 1: 625/s) at 50/s plans 50 / (625/s × 0.5) = 0.16 of a thread, beside x.a on w1
  const w1 = workerSnap('w1', { variants: [variantSnap('x.a', { replicas: 1, minSloMs: 40, stats: { arrivalQps: 110 } }), variantSnap('y.a', { minSloMs: 40, stats: { arrivalQps: 50 } })] });
  const r = placeReplicas(snap([w1]), place, new Map());
  // x.a: 110/s at 125/s × 0.5 = 1.76 replicas of 0.88 thread each; w1 has 2 − 0.88 − 0.16 left: a second
  // replica fits there (reserving a whole thread per replica, y.a's would have left none: unplaced)
  assert.deepEqual(r.actions, [{ kind: 'addReplica', worker: 'w1', variant: 'x.a' }]);
  assert.deepEqual(r.unplaced, []);
  // the live workers hold one replica per variant: capped at 1, the second replica has nowhere to go
  const live = placeReplicas(snap([w1]), { ...place, maxReplicasPerWorker: 1 }, new Map());
  assert.deepEqual(live.actions, []);
  assert.deepEqual(live.unplaced, ['x.a']);
  // memory counts whole replicas (2 of x.a, 1 of y.a, 10 MB each)
  assert.equal(r.memoryNeededMB, 30);
  // whole replicas from one up (2 for x.a), a fraction below one (y.a: 0.16 of its 1 thread)
  assert.ok(Math.abs(r.threadsNeeded - 2.16) < 0.001, String(r.threadsNeeded));
  // two light families on one 2-thread worker: nothing to add, nothing unplaced
  const light = workerSnap('w1', { variants: ['x.a', 'y.a'].map((v) => variantSnap(v, { minSloMs: 40, stats: { arrivalQps: 10 } })) });
  const l = placeReplicas(snap([light]), place, new Map());
  assert.deepEqual(l.actions, []);
  assert.deepEqual(l.unplaced, []);
});

test('placement counts a slowed worker at its speed: more replicas elsewhere, its lost threads needed', () => {
  // x.a: 110/s at 125/s × 0.5 = 1.76 → 2 replicas, both on w1, which runs 3x slower than profiled
  const slowed = workerSnap('w1', { variants: [variantSnap('x.a', { replicas: 2, minSloMs: 40, stats: { arrivalQps: 110, completedQps: 110, avgBatch: 1, p50Ms: 24, slowdownP50: 3 } })] });
  const idle = workerSnap('w2');
  const off = placeReplicas(snap([slowed, idle]), place, new Map());
  assert.deepEqual(off.actions, [], 'without slowdownAt two replicas are enough');
  // a threshold at or below 1 does not make every worker slowed (their slowdown is never below 1)
  assert.deepEqual(placeReplicas(snap([workerSnap('w1', { variants: [variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 110 } })] }), idle]), { ...place, slowdownAt: 1 }, new Map()).actions,
    [{ kind: 'load', worker: 'w2', variant: 'x.a' }]);
  const on = placeReplicas(snap([slowed, idle]), { ...place, slowdownAt: 1.5 }, new Map());
  // two replicas at a third of their speed are 0.67 of one: two more, on w2 (never on the slowed worker)
  assert.deepEqual(on.actions, [{ kind: 'load', worker: 'w2', variant: 'x.a' }, { kind: 'addReplica', worker: 'w2', variant: 'x.a' }]);
  // 2 whole replicas + what no longer fits w1: 2 × 0.88 threads of work, of which its 2 threads at a third of
  // their speed do 0.67
  assert.ok(Math.abs(on.threadsNeeded - (2 + 1.76 - 2 / 3)) < 1e-9, String(on.threadsNeeded));
  // a slowed worker with little to do needs nothing more: 10/s wants 0.16 of a replica, a third of one is enough
  const light = workerSnap('w1', { variants: [variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 10, completedQps: 10, avgBatch: 1, p50Ms: 24, slowdownP50: 3 } })] });
  const l = placeReplicas(snap([light, idle]), { ...place, slowdownAt: 1.5 }, new Map());
  assert.deepEqual(l.actions, []);
  assert.ok(Math.abs(l.threadsNeeded - 0.16) < 1e-9, String(l.threadsNeeded));
});

test('rebalance moves a replica off a worker planned above its threads: the smallest that covers the excess', () => {
  // x.a: 2 replicas of 0.88 thread; y.a (625/s): 156/s plans 0.5 thread; 2.26 threads on a 2-thread worker
  const over = workerSnap('w1', { variants: [
    variantSnap('x.a', { replicas: 2, minSloMs: 40, stats: { arrivalQps: 110 } }),
    variantSnap('y.a', { minSloMs: 40, stats: { arrivalQps: 156 } }),
  ] });
  const idle = workerSnap('w2');
  assert.deepEqual(placeReplicas(snap([over, idle]), place, new Map()).actions, []);
  // make: a replica on w2 first, w1's stays while it is the only one serving
  const r = placeReplicas(snap([over, idle]), { ...place, rebalance: true }, new Map());
  assert.deepEqual(r.actions, [{ kind: 'load', worker: 'w2', variant: 'y.a' }]);
  const loading = workerSnap('w2', { variants: [variantSnap('y.a', { replicas: 0, loading: 1, minSloMs: 40 })] });
  assert.deepEqual(placeReplicas(snap([over, loading]), { ...place, rebalance: true }, new Map()).actions, [], 'still loading');
  // once w2's serves, y.a's plan is spread over two replicas: w1 is within its threads, nothing moves
  const split = workerSnap('w1', { variants: [
    variantSnap('x.a', { replicas: 2, minSloMs: 40, stats: { arrivalQps: 110 } }),
    variantSnap('y.a', { minSloMs: 40, stats: { arrivalQps: 78 } }),
  ] });
  const serving = workerSnap('w2', { variants: [variantSnap('y.a', { minSloMs: 40, stats: { arrivalQps: 78 } })] });
  assert.deepEqual(placeReplicas(snap([split, serving]), { ...place, rebalance: true, shedIdleShare: 0.02 }, new Map()).actions, []);
  // where the family's replicas elsewhere already carry its plan, one on the overcommitted worker just goes: x.a
  // wants 1.76 replicas, has 4 of 0.44 thread; w1 runs 3x slow, so its two take 2.64 threads; w2's two carry it
  const crowded = workerSnap('w1', { variants: [variantSnap('x.a', { replicas: 2, minSloMs: 40, stats: { arrivalQps: 60, completedQps: 60, avgBatch: 1, p50Ms: 24, slowdownP50: 3 } })] });
  const carried = workerSnap('w2', { variants: [variantSnap('x.a', { replicas: 2, minSloMs: 40, stats: { arrivalQps: 50 } })] });
  const cfg = { ...place, rebalance: true, shedIdleShare: 0.02, slowdownAt: 1.5 };
  assert.deepEqual(placeReplicas(snap([crowded, carried]), cfg, new Map()).actions, [{ kind: 'removeReplica', worker: 'w1', variant: 'x.a' }]);
  // nowhere with room: nothing moves
  const busy = workerSnap('w2', { variants: [variantSnap('x.a', { replicas: 2, minSloMs: 40, stats: { arrivalQps: 110 } })] });
  const stuck = placeReplicas(snap([over, busy]), { ...place, rebalance: true }, new Map());
  assert.deepEqual(stuck.actions.filter((x) => x.kind === 'unload' && x.worker === 'w1'), []);
});

test('when no worker has threads left the family is reported unplaced', () => {
  const full = workerSnap('w1', { variants: [variantSnap('x.a', { replicas: 2, minSloMs: 40, stats: { arrivalQps: 400 } })] });
  const r = placeReplicas(snap([full]), place, new Map());
  assert.deepEqual(r.unplaced, ['x.a']);
});

test('replica-only: a new worker of a pool gets that pool\'s variant; hot pools ask for workers', () => {
  const p = replicaOnlyPolicy();
  const init = p.init(ctx);
  assert.equal(init.workers.length, 1);
  const hot = workerSnap('w1', { utilisation: 0.95, variants: [variantSnap('x.a', { replicas: 2, stats: { arrivalQps: 200 } })] });
  const r = p.tick(snap([hot]), 15_000, init.state);
  const adds = r.actions.filter((x) => x.kind === 'addWorker').length;
  assert.ok(adds >= 1);
  assert.deepEqual(r.state.pending, Array(adds).fill('x.a'));
  const r2 = p.tick(snap([hot, workerSnap('w2')]), 16_000, r.state);
  assert.ok(r2.actions.some((x) => x.kind === 'load' && x.worker === 'w2' && x.variant === 'x.a'));
  assert.equal(r2.state.pending.length, adds - 1);
});

test('ticks are pure: the same inputs give the same outputs and the input state is not changed', () => {
  for (const n of POLICY_NAMES) {
    const p = getPolicy(n);
    const { state } = p.init(ctx);
    const before = JSON.stringify(state, (_k, v) => (v instanceof Map ? [...v] : v));
    const s = snap([workerSnap('w1', { utilisation: 0.9, variants: [variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 300, queueLength: 50 } })] })]);
    const r1 = p.tick(s, 5000, state);
    const r2 = p.tick(s, 5000, state);
    assert.deepEqual(r1.actions, r2.actions, n);
    assert.equal(JSON.stringify(state, (_k, v) => (v instanceof Map ? [...v] : v)), before, n);
  }
});

test('ours health: demand above the observed-batch capacity alone does not flag; a slow p95 or a long queue does', () => {
  // profile p50 10 ms / p95 12 ms at batch 1: one replica does 100 samples/s at that batch
  const prof = { p50: 10, p95: 12 };
  const base = { arrivalQps: 300, completedQps: 200, queueLength: 5, avgBatch: 1, avgMs: 10, p50Ms: 10, p95Ms: 12, e2eP95Ms: 20, replicas: 2 };
  // 300/s > 2 × 100/s, but the queue (5) is far below half a second of work: batching will absorb it
  assert.equal(assessHealth(HEALTHY, base, prof, OURS_HEALTH, 1000).state, 'active');
  // the same window with p95 above 2× the profile (a noisy neighbour): interfered
  assert.equal(assessHealth(HEALTHY, { ...base, p95Ms: 30 }, prof, OURS_HEALTH, 1000).state, 'interfered');
  // a queue of more than half a second of work (0.5 × 2 replicas × 100/s = 100): overloaded
  assert.equal(assessHealth(HEALTHY, { ...base, queueLength: 150 }, prof, OURS_HEALTH, 1000).state, 'overloaded');
  // a flag holds at least 5 s before it clears
  const flagged = { state: 'interfered' as const, since: 1000 };
  const calm = { ...base, arrivalQps: 50, completedQps: 50, queueLength: 0, p95Ms: 12 };
  assert.equal(assessHealth(flagged, calm, prof, OURS_HEALTH, 4000).state, 'interfered');
  assert.equal(assessHealth(flagged, calm, prof, OURS_HEALTH, 6000).state, 'active');
});

test('placement with shedIdleShare sheds a surplus holder only once the router stopped using it', () => {
  const idlePlace: PlacementConfig = { ...place, shedIdleShare: 0.02 };
  // 20/s in all: one replica (125/s × 50%) would do, so the second holder is surplus
  const two = (second: number) => snap([
    workerSnap('w1', { variants: [variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 20 - second } })] }),
    workerSnap('w2', { variants: [variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: second } })] }),
  ]);
  assert.deepEqual(placeReplicas(two(5), idlePlace, new Map()).actions, [], 'w2 still takes 5/s: kept');
  assert.deepEqual(placeReplicas(two(5), place, new Map()).actions, [{ kind: 'unload', worker: 'w2', variant: 'x.a' }], 'without the option it goes');
  assert.deepEqual(placeReplicas(two(2), idlePlace, new Map()).actions, [{ kind: 'unload', worker: 'w2', variant: 'x.a' }], '2/s ≤ 2% of 125/s: idle, shed');
});

test('a forecast rise within the lead becomes each family\'s expected demand, split by the mix of the history', () => {
  const history = new Map([['x.fp32', [90, 110]], ['y.fp32', [70, 50]]]);
  const burst = { leadMs: 5000, rate: (t: number) => (t >= 4000 && t < 9000 ? 1600 : 160) };
  // measured total 160/s, 1600/s expected 4 s ahead: split 200 : 120 as over the history
  assert.deepEqual([...forecastDemand(history, burst, 0)!], [['x.fp32', 1000], ['y.fp32', 600]]);
  // nothing beyond the lead, nothing when the rise is small, nothing before any demand is measured
  assert.equal(forecastDemand(history, { ...burst, leadMs: 3000 }, 0), undefined);
  assert.equal(forecastDemand(history, { leadMs: 5000, rate: () => 180 }, 0), undefined);
  assert.equal(forecastDemand(new Map([['x.fp32', [0]]]), burst, 0), undefined);
  // in a lull (nothing measured this tick) the mix over the history still splits it
  const lull = new Map([['x.fp32', [90, 110, 0]], ['y.fp32', [70, 50, 0]]]);
  assert.deepEqual([...forecastDemand(lull, burst, 0)!], [['x.fp32', 1000], ['y.fp32', 600]]);
  assert.equal(forecastDemand(lull, { leadMs: 5000, rate: () => 0 }, 0), undefined, 'no load expected');
  // placement plans for it (x.a alone takes the whole 1600/s: 1600 / (125/s × 0.5) = 25.6 → 26 replicas), and its
  // history keeps only what was measured
  const w1 = workerSnap('w1', { variants: [variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 100 } })] });
  const measured = new Map([['x.fp32', [100]]]);
  const planned = placeReplicas(snap([w1]), place, measured, forecastDemand(measured, burst, 0));
  assert.equal(planned.threadsNeeded, 26);
  assert.deepEqual(planned.history.get('x.fp32'), [100, 100]);
});

test('the health pass trusts the shell\'s flag over a book that lost it (an unload cancelled, a replica made anew)', () => {
  const flagged = snap([workerSnap('w1', { variants: [variantSnap('x.a', { state: 'interfered' })] })]);
  const first = healthPass(flagged, OURS_HEALTH, new Map(), 0);
  assert.deepEqual(first.actions, [], 'held for minHoldMs first');
  const later = healthPass(flagged, OURS_HEALTH, first.book, OURS_HEALTH.minHoldMs);
  assert.deepEqual(later.actions, [{ kind: 'setHealth', worker: 'w1', variant: 'x.a', state: 'active' }]);
});

test('ours: a saturated worker (busy, full batches) is told apart from a busy one with batching headroom', () => {
  const sat = (utilisation: number, avgBatch: number) =>
    saturated(workerSnap('w1', { utilisation, variants: [variantSnap('x.a', { stats: { completedQps: 100, avgBatch } })] }), cat, OURS_FLOOR);
  // x.a has max batch 1: any batch is full
  assert.equal(sat(0.95, 1), true);
  assert.equal(sat(0.5, 1), false, 'not busy');
  const big = new Catalogue([makeVariant({ name: 'z.a', arch: 'z', p95: 10, maxBatch: 8 })]);
  const w = (avgBatch: number) => workerSnap('w1', { utilisation: 0.97, variants: [variantSnap('z.a', { stats: { completedQps: 100, avgBatch } })] });
  assert.equal(saturated(w(7), big, OURS_FLOOR), true);
  assert.equal(saturated(w(2), big, OURS_FLOOR), false, 'batches can still grow');
  // a light variant running full batches beside a heavy one with room to batch: the heavy one is where the time
  // goes, so the worker is not saturated (weighted by samples it was)
  const mixed = new Catalogue([
    makeVariant({ name: 'l.a', arch: 'l', p95: 1, maxBatch: 8 }),
    makeVariant({ name: 'h.a', arch: 'h', p95: 20, maxBatch: 8 }),
  ]);
  const both = workerSnap('w1', { utilisation: 0.97, variants: [
    variantSnap('l.a', { stats: { completedQps: 4000, avgBatch: 8, avgMs: 1 } }),
    variantSnap('h.a', { stats: { completedQps: 90, avgBatch: 2, avgMs: 20 } }),
  ] });
  assert.equal(saturated(both, mixed, OURS_FLOOR), false);
});

test('ours: an unplaced cold start adds a worker and keeps it for the floor hold, then it may go', () => {
  const p = oursPolicy({ maxWorkers: 10 });
  let { state } = p.init(ctx);
  const quiet = (ids: string[]) => ids.map((id) => workerSnap(id, { utilisation: 0.05, variants: [variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 1, completedQps: 1, avgBatch: 1 } })] }));
  // a failed cold start of a variant every worker already holds is placement's business, not a worker shortage
  const held = p.tick({ ...snap(quiet(['w1', 'w2'])), unplaced: ['x.a'] }, 1000, state);
  assert.deepEqual(held.actions.filter((x) => x.kind === 'addWorker'), []);
  assert.equal(held.state.floor.count, 0);
  // ... unless the only holder is unloading it
  const going = [workerSnap('w1', { variants: [variantSnap('x.a', { state: 'unloading' })] }), workerSnap('w2')];
  assert.equal(p.tick({ ...snap(going), unplaced: ['x.a'] }, 1000, state).state.floor.count, 3);
  // one that no worker holds (none had the memory) adds a worker and raises the floor
  const first = p.tick({ ...snap(quiet(['w1', 'w2'])), unplaced: ['y.a'] }, 1000, state);
  assert.deepEqual(first.actions.filter((x) => x.kind === 'addWorker'), [{ kind: 'addWorker', workerClass: 'cpu-2' }]);
  assert.equal(first.state.floor.count, 3);
  state = first.state;
  // three quiet workers, far above the demand estimate: none removed while the floor holds
  for (let t = 2000; t < 1000 + OURS_FLOOR.holdMs; t += 1000) {
    const r = p.tick(snap(quiet(['w1', 'w2', 'w3'])), t, state);
    assert.equal(r.actions.filter((x) => x.kind === 'removeWorker').length, 0, `removed at ${t}`);
    state = r.state;
  }
  let removed = 0;
  for (let t = 1000 + OURS_FLOOR.holdMs; t < 30_000 + OURS_FLOOR.holdMs; t += 1000) {
    const r = p.tick(snap(quiet(['w1', 'w2', 'w3'])), t, state);
    removed += r.actions.filter((x) => x.kind === 'removeWorker').length;
    state = r.state;
  }
  assert.ok(removed >= 1, 'after the hold the surplus worker goes');
});

test('ours: workers above the estimate go even while busy (deadline-aware batching keeps any fleet busy)', () => {
  const p = oursPolicy({ maxWorkers: 10 });
  let { state } = p.init(ctx);
  // x.a at 20/s needs one replica: the estimate is the 2 initial workers; four busy ones (88%: above the old
  // "mean ≤ 85%" removal gate, below the saturation floor's 90%) are two too many
  const busy = ['w1', 'w2', 'w3', 'w4'].map((id) => workerSnap(id, { utilisation: 0.88, variants: [variantSnap('x.a', { minSloMs: 40, stats: { arrivalQps: 5, completedQps: 5, avgBatch: 1 } })] }));
  let removed = 0;
  for (let t = 1000; t <= 10_000; t += 1000) {
    const r = p.tick(snap(busy), t, state);
    removed += r.actions.filter((x) => x.kind === 'removeWorker').length;
    state = r.state;
  }
  assert.ok(removed >= 1, 'a busy surplus worker is removed');
});

test('ours: a model idle in a lull stays loaded while a forecast expects its load, and is unloaded without one', () => {
  // x.a took 50/s for a few ticks, then nothing for longer than idleUnloadMs (30 s); a window of 500/s is 5 s ahead
  const forecast = { leadMs: 10_000, rate: (t: number) => (t >= 45_000 ? 500 : 0) };
  const run = (withForecast: boolean) => {
    const p = oursPolicy({ maxWorkers: 10, ...(withForecast ? { forecast } : {}) });
    let { state } = p.init(ctx);
    const w = (qps: number) => snap([workerSnap('w1', { variants: [variantSnap('x.a', { minSloMs: 40, lastUsedAt: 3000, stats: { arrivalQps: qps, completedQps: qps, avgBatch: 1 } })] })]);
    for (let t = 1000; t <= 3000; t += 1000) state = p.tick(w(50), t, state).state;
    return p.tick(w(0), 40_000, state).actions;
  };
  const unloads = (acts: ReturnType<typeof run>) => acts.filter((x) => x.kind === 'unload' && x.variant === 'x.a');
  assert.deepEqual(unloads(run(false)), [{ kind: 'unload', worker: 'w1', variant: 'x.a' }], 'idle 37 s: scale to zero');
  const kept = run(true);
  assert.deepEqual(unloads(kept), [], 'the forecast keeps it');
  assert.ok(kept.some((x) => x.kind === 'addWorker' || (x.kind === 'load' && x.variant === 'x.a')), `planned for 500/s: ${JSON.stringify(kept)}`);
});

test('ours: with workers that run one batch at a time, a 2-thread worker holds one stream of compute, not two', () => {
  // x.a (125/s a replica) at 44/s and y.a (625/s) at 220/s: each keeps 0.7 of a replica busy at the 50% target
  const load = snap([workerSnap('w1', { variants: [
    variantSnap('x.a', { minSloMs: 40, lastUsedAt: 1000, stats: { arrivalQps: 44, completedQps: 44, avgBatch: 1 } }),
    variantSnap('y.a', { minSloMs: 40, lastUsedAt: 1000, stats: { arrivalQps: 220, completedQps: 220, avgBatch: 1 } }),
  ] })]);
  const adds = (oneBatchPerWorker: boolean) => {
    const p = oursPolicy({ maxWorkers: 4, placement: { ...place, holdTicks: 60, oneBatchPerWorker } });
    let { state } = p.init(ctx);
    let added = 0;
    for (let t = 1000; t <= 3000; t += 1000) {
      const r = p.tick({ ...load, now: t }, t, state);
      added += r.actions.filter((x) => x.kind === 'addWorker').length;
      state = r.state;
    }
    return added;
  };
  assert.equal(adds(false), 0, '1.4 threads fit one 2-thread worker whose threads run batches in parallel');
  assert.ok(adds(true) >= 1, '1.4 streams do not fit one worker running one batch at a time');
});
