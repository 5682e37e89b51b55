// Tests of the live cluster view's waits: the work in flight on a worker over all its variants, drained in batches
// at the corrected latency; a cold start's load; what other controllers queued on shared workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkerStatus } from '../core/types.ts';
import { makeVariant } from '../policy/fixtures.ts';
import { LatencyEstimator } from '../policy/latency-estimator.ts';
import { LiveClusterView } from './live-cluster-view.ts';

// p50 at batch b: 0.8·p95·(0.5 + 0.5·b) → a: 0.8 ms at 1, 3.6 ms at 8; b: 8 ms at 1 (one sample per run).
const a = makeVariant({ name: 'a.fp32.t1.b8.all', arch: 'a', p95: 1, maxBatch: 8, loadMs: 20 });
const b = makeVariant({ name: 'b.fp32.t1.b1.all', arch: 'b', p95: 10, maxBatch: 1, loadMs: 20 });
const variants = new Map([a, b].map((x) => [x.name, x]));
const status = (id: string, held: Array<{ name: string; queued?: number }>): WorkerStatus => ({
  id, workerClass: 'cpu-1', address: '', startedAt: 1, updatedAt: 0, memoryBudgetMB: 100, memoryUsedMB: 0,
  replicas: held.map((h) => ({ variant: h.name, state: 'active', queued: h.queued ?? 0, lastUsedAt: 0, memoryMB: 10 })),
});
const close = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-9, `${x} != ${y}`);

/** b measured at twice its profile once `slow` is set, a as profiled. */
class Measured extends LatencyEstimator {
  slow = false;
  override runFactor(variant: string): number {
    return this.slow && variant === b.name ? 2 : 1;
  }
}

test('the wait on a worker drains every variant in flight there in batches, at the corrected p50', () => {
  const estimator = new Measured();
  const view = new LiveClusterView({ estimator });
  view.sync([status('w1', [{ name: a.name }, { name: b.name }])], variants);
  for (let i = 0; i < 9; i++) view.begin(a, 'w1', 1, 0); // 9 samples of a: a batch of 8 (3.6 ms) and one of 1 (0.8 ms)
  view.begin(b, 'w1', 1, 0); // one run of b: 8 ms
  close(view.waitMs('w1'), 3.6 + 0.8 + 8);
  close(view.replicas(a.name)![0].estimatedWaitMs, 12.4);
  assert.equal(view.workerLoad('w1'), 10);
  // b measured at twice its profile: its run counts twice as long.
  estimator.slow = true;
  close(view.waitMs('w1'), 3.6 + 0.8 + 16);
  const p = view.predict(b, 'w1', 1, 0);
  assert.deepEqual([p.cold, p.loadMs], [false, 0]);
  close(p.serviceMs, 20); // p95 10 x 2
  view.end(b, 'w1', true, 1);
  close(view.waitMs('w1'), 4.4);
  assert.equal(view.waitMs('w2'), 0);
});

test('a cold start: loading until the measured load ends, a first load apart from a reload', () => {
  const view = new LiveClusterView();
  view.sync([status('w1', []), status('w2', [])], variants);
  view.estimator.observeLoad(a.name, 60, 20, true, 0); // first loads take 3x
  view.estimator.observeLoad(a.name, 30, 20, false, 0); // reloads 1.5x
  const cold = view.predict(a, 'w1', 1, 100);
  assert.deepEqual([cold.cold, cold.firstLoad], [true, true]);
  close(cold.loadMs, 60);
  view.begin(a, 'w1', 1, 100);
  close(view.replicas(a.name)![0].readyAt!, 160);
  close(view.predict(a, 'w1', 1, 110).waitMs, 50);
  view.end(a, 'w1', true, 1);
  assert.equal(view.replicas(a.name)![0].state, 'active');
  // Unloaded on this controller's request: the next request there is a cold start at once, not a wait.
  view.unloaded(a.name, 'w1');
  assert.equal(view.predict(a, 'w1', 1, 0).cold, true);
  // w1 has loaded the artifact: after an unload, a reload there; never on w2.
  view.sync([status('w1', []), status('w2', [])], variants);
  close(view.predict(a, 'w1', 1, 0).loadMs, 30);
  close(view.predict(a, 'w2', 1, 0).loadMs, 60);
  close(view.corrections().loadMs(a), 30); // selection: some worker has it
});

test("shared workers: what a worker reports queued beyond this controller's requests counts", () => {
  const shared = new LiveClusterView({ sharedWorkers: true });
  const alone = new LiveClusterView();
  for (const view of [shared, alone]) {
    view.begin(b, 'w1', 1, 0);
    view.sync([status('w1', [{ name: b.name, queued: 3 }])], variants); // ours 1 + 2 from another controller
  }
  close(shared.waitMs('w1'), 3 * 8);
  assert.equal(shared.workerLoad('w1'), 3);
  close(alone.waitMs('w1'), 8);
});
