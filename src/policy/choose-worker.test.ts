// Tests of worker choice: least-waiting healthy replica, cold starts by free memory, eviction, back-off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import { chooseWorker, planWorker, type WorkerReplicaView, type WorkerView } from './choose-worker.ts';
import { makeVariant } from './fixtures.ts';

const V = makeVariant({ name: 'v', memoryMB: 30 });
const NOW = 5_000;
const rep = (variant: string, over: Partial<WorkerReplicaView> = {}): WorkerReplicaView =>
  ({ variant, state: 'active', queued: 0, estimatedWaitMs: 0, memoryMB: 30, lastUsedAt: 0, ...over });
const worker = (id: string, over: Partial<WorkerView> = {}): WorkerView =>
  ({ id, memoryBudgetMB: 100, memoryUsedMB: 0, queued: 0, replicas: [], ...over });

test('loaded: the healthy replica with the least wait; overloaded/interfered ones skipped', () => {
  const ws = [
    worker('a', { replicas: [rep('v', { estimatedWaitMs: 5 })], memoryUsedMB: 30 }),
    worker('b', { replicas: [rep('v', { estimatedWaitMs: 1, state: 'overloaded' })], memoryUsedMB: 30 }),
    worker('c', { replicas: [rep('v', { estimatedWaitMs: 2 })], memoryUsedMB: 30 }),
    worker('d', { replicas: [rep('v', { estimatedWaitMs: 0, state: 'interfered' })], memoryUsedMB: 30 }),
  ];
  const p = planWorker(V, ws, NOW);
  assert.deepEqual([p.workerId, p.coldStart, p.evictions], ['c', false, []]);
});

test('equal waits go to fewer queued on the replica, then on the worker, then id', () => {
  const ws = [
    worker('b', { queued: 1, replicas: [rep('v', { queued: 1 })] }),
    worker('a', { queued: 3, replicas: [rep('v', { queued: 2 })] }),
    worker('c', { queued: 0, replicas: [rep('v', { queued: 1 })] }),
  ];
  assert.equal(chooseWorker(V, ws, NOW), 'c');
  assert.equal(chooseWorker(V, [worker('y', { replicas: [rep('v')] }), worker('x', { replicas: [rep('v')] })], NOW), 'x');
});

test('a loading replica counts its remaining load time as wait', () => {
  const ws = [
    worker('a', { replicas: [rep('v', { state: 'loading', readyAt: NOW + 100 })] }),
    worker('b', { replicas: [rep('v', { estimatedWaitMs: 20 })] }),
  ];
  assert.equal(chooseWorker(V, ws, NOW), 'b');
  assert.equal(chooseWorker(V, ws, NOW + 90), 'a');
});

test('cold start: the worker with the most free memory that fits, ties to fewer queued', () => {
  const ws = [worker('a', { memoryUsedMB: 60 }), worker('b', { memoryUsedMB: 20, queued: 4 }), worker('c', { memoryUsedMB: 20, queued: 1 })];
  const p = planWorker(V, ws, NOW);
  assert.deepEqual([p.workerId, p.coldStart, p.evictions], ['c', true, []]);
});

test('cold start skips workers whose only replica of the variant is flagged; prefers the variant worker class', () => {
  const ws = [
    worker('a', { replicas: [rep('v', { state: 'overloaded' })], memoryUsedMB: 30 }),
    worker('b', { memoryUsedMB: 50, workerClass: 'cpu-1' }),
    worker('g', { memoryUsedMB: 0, workerClass: 'gpu' }),
  ];
  assert.equal(chooseWorker(V, ws, NOW), 'b');
  assert.equal(chooseWorker(V, [ws[0], ws[2]], NOW), 'g', 'another class when the right one has none');
});

test('no room anywhere: the worker where LRU eviction frees enough, fewest evictions', () => {
  const ws = [
    worker('a', { memoryUsedMB: 90, replicas: [rep('x', { memoryMB: 45, lastUsedAt: 1 }), rep('y', { memoryMB: 45, lastUsedAt: 2 })] }),
    worker('b', { memoryUsedMB: 90, replicas: [rep('p', { memoryMB: 10, lastUsedAt: 1 }), rep('q', { memoryMB: 80, lastUsedAt: 2 })] }),
    worker('c', { memoryUsedMB: 100, replicas: [rep('busy', { memoryMB: 100, queued: 3 })] }),
  ];
  const p = planWorker(V, ws, NOW);
  assert.deepEqual([p.workerId, p.coldStart, p.evictions], ['a', true, ['x']]);
});

test('all replicas flagged and no room: degrade to the least-waiting flagged replica', () => {
  const ws = [
    worker('a', { memoryUsedMB: 100, replicas: [rep('v', { state: 'overloaded', estimatedWaitMs: 9, queued: 1, memoryMB: 100 })] }),
    worker('b', { memoryUsedMB: 100, replicas: [rep('v', { state: 'interfered', estimatedWaitMs: 3, queued: 1, memoryMB: 100 })] }),
  ];
  const p = planWorker(V, ws, NOW);
  assert.deepEqual([p.workerId, p.coldStart], ['b', false]);
});

test('workers in back-off are passed over unless all are', () => {
  const ws = [worker('a', { skipUntil: NOW + 1 }), worker('b', { memoryUsedMB: 50 })];
  assert.equal(chooseWorker(V, ws, NOW), 'b');
  assert.equal(chooseWorker(V, ws, NOW + 1), 'a');
  assert.equal(chooseWorker(V, [ws[0]], NOW), 'a');
});

test('UNAVAILABLE with no workers, or when none can hold the variant', () => {
  const code = (ws: WorkerView[]) => {
    try {
      chooseWorker(V, ws, NOW);
    } catch (e) {
      return (e as InfaasError).code + ' ' + (e as InfaasError).message;
    }
    return 'chosen';
  };
  assert.match(code([]), /^UNAVAILABLE no workers/);
  assert.match(code([worker('a', { memoryBudgetMB: 20 })]), /^UNAVAILABLE no worker can hold v: it needs 30 MiB/);
});

test('cold start: the least busy worker with room first, then the most free memory', () => {
  const ws = [worker('roomy', { memoryUsedMB: 0, waitMs: 12 }), worker('idle', { memoryUsedMB: 50, waitMs: 0 }), worker('busy', { memoryUsedMB: 60, waitMs: 3 })];
  const p = planWorker(V, ws, NOW);
  assert.deepEqual([p.workerId, p.coldStart], ['idle', true]);
  assert.match(p.reason, /most free memory/);
  assert.equal(planWorker(V, [ws[0], ws[2]], NOW).workerId, 'busy');
  assert.match(planWorker(V, [ws[0], ws[2]], NOW).reason, /least busy worker with room/);
});
