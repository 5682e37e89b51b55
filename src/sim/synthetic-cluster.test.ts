// Smoke test of the scale bench's cluster (bench/scale-tick.ts) at a tiny scale: the catalogue and the cluster have
// the sizes asked for, the same seed gives the same cluster, and `ours` and `infaas` ticks over it return actions
// that name its workers and variants, which the cluster then carries out.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPolicy } from '../policy/policies/index.ts';
import { OURS_PLACEMENT, oursPolicy } from '../policy/policies/ours.ts';
import type { ClusterSnapshot, ScalingAction, ScalingPolicy } from '../policy/scaling-policy.ts';
import { scaledVariants, SyntheticCluster } from './synthetic-cluster.ts';

const small = { workers: 50, variants: 500, replicas: 500, distinct: 150, seed: 3 };

test('the synthetic catalogue has exactly the variants asked for, with zoo-shaped profiles', () => {
  const vs = scaledVariants(500, 3);
  assert.equal(vs.length, 500);
  assert.equal(new Set(vs.map((v) => v.name)).size, 500);
  for (const v of vs) {
    assert.ok(v.profile.latency.length >= 4 && v.profile.latency[0].batch === 1, v.name);
    assert.ok(v.profile.latency.every((l, i, a) => l.p95 >= l.p50 && (i === 0 || l.p50 >= a[i - 1].p50)), v.name);
    assert.ok(v.profile.costPer1k > 0 && v.profile.memoryMB > 0, v.name);
  }
});

test('the synthetic cluster has the size asked for and the same seed gives the same one', () => {
  const c = new SyntheticCluster(small);
  const f = c.figures();
  assert.equal(c.catalogue.size, 500);
  assert.equal(f.ready, 50);
  assert.equal(f.replicas, 500);
  assert.equal(f.distinct, 150);
  assert.equal(f.families.idle + f.families.stale + f.families.light + f.families.hot, 150);
  assert.ok(f.families.light > 0 && f.families.idle > 0);
  const snap = c.snapshot();
  assert.equal(snap.workers.reduce((a, w) => a + w.variants.length, 0), 500);
  for (const w of snap.workers) {
    assert.ok(w.memoryUsedMB <= w.memoryBudgetMB, w.id);
    for (const v of w.variants) assert.ok(c.catalogue.entry(v.variant), v.variant);
  }
  assert.ok(snap.workers.some((w) => w.variants.some((v) => v.stats.arrivalQps > 0 && v.minSloMs !== undefined)));
  assert.equal(JSON.stringify(new SyntheticCluster(small).snapshot()), JSON.stringify(snap));
  const { statuses, window } = c.statuses(snap);
  assert.equal(statuses.length, 50);
  assert.equal(statuses.reduce((a, s) => a + s.replicas.length, 0), 500);
  assert.deepEqual(window.unplaced, snap.unplaced);
});

/** Problems with an action against the snapshot it was decided on (empty when it makes sense). */
function check(a: ScalingAction, snap: ClusterSnapshot): string[] {
  if (a.kind === 'addWorker') return snap.workerClasses.some((c) => c.name === a.workerClass) ? [] : [`unknown class ${a.workerClass}`];
  const w = snap.workers.find((x) => x.id === a.worker);
  if (!w) return [`unknown worker ${a.worker}`];
  if (a.kind === 'removeWorker') return [];
  if (!snap.catalogue.entry(a.variant)) return [`unknown variant ${a.variant}`];
  const held = w.variants.some((v) => v.variant === a.variant);
  if (a.kind === 'load') return [];
  return held ? [] : [`${a.kind} of ${a.variant}, which ${a.worker} does not hold`];
}

test('ours and infaas ticks over the synthetic cluster return sane actions the cluster carries out', () => {
  const policies: Array<[string, ScalingPolicy<unknown>]> = [
    ['ours', getPolicy('ours')],
    ['ours (live placement)', oursPolicy({ placement: { ...OURS_PLACEMENT, maxReplicasPerWorker: 1, oneBatchPerWorker: true } }) as unknown as ScalingPolicy<unknown>],
    ['infaas', getPolicy('infaas')],
  ];
  for (const [name, policy] of policies) {
    // Two cold starts per window that no worker could take: every policy has a reason to add a worker.
    const c = new SyntheticCluster({ ...small, unplaced: 2 });
    let state = policy.init({ catalogue: c.catalogue, workerClasses: [c.workerClass], mix: [], peakQps: 0 }).state;
    const kinds = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const snap = c.snapshot();
      const out = policy.tick(snap, c.now, state);
      assert.deepEqual(out.actions.flatMap((a) => check(a, snap)), [], `${name} tick ${i + 1}`);
      for (const a of out.actions) kinds.add(a.kind);
      state = out.state;
      c.apply(out.actions);
      c.advance(policy.tickMs);
    }
    assert.ok(kinds.has('addWorker'), `${name} adds a worker for the unplaced cold starts: ${[...kinds].join(', ')}`);
    // `ours` places replicas for the short families, flags the slowed and queueing ones, and scales idle ones to zero.
    if (name.startsWith('ours')) assert.ok(['load', 'unload', 'setHealth'].every((k) => kinds.has(k)), `${name}: ${[...kinds].join(', ')}`);
  }
});

test('applying actions: loads serve and unloads go at the next window, workers start and drain', () => {
  const c = new SyntheticCluster(small);
  const snap = c.snapshot();
  const w = snap.workers[0];
  const held = w.variants[0].variant;
  const other = c.catalogue.entries().find((e) => !w.variants.some((v) => v.variant === e.name))!.name;
  c.apply([
    { kind: 'unload', worker: w.id, variant: held },
    { kind: 'load', worker: w.id, variant: other },
    { kind: 'addWorker', workerClass: c.workerClass.name },
    { kind: 'removeWorker', worker: snap.workers[1].id },
  ]);
  const during = c.snapshot();
  const mine = during.workers.find((x) => x.id === w.id)!;
  assert.equal(mine.variants.find((v) => v.variant === held)?.state, 'unloading');
  assert.deepEqual(mine.variants.find((v) => v.variant === other)?.loading, 1);
  assert.equal(during.workers.filter((x) => x.phase === 'starting').length, 1);
  assert.equal(during.workers.find((x) => x.id === snap.workers[1].id)?.phase, 'draining');
  c.advance(1000);
  const after = c.snapshot();
  const again = after.workers.find((x) => x.id === w.id)!;
  assert.equal(again.variants.some((v) => v.variant === held), false);
  assert.equal(again.variants.find((v) => v.variant === other)?.replicas, 1);
  assert.equal(after.workers.length, 50);
  assert.ok(after.workers.every((x) => x.phase === 'ready'));
  assert.equal(after.now, snap.now + 1000);
});
