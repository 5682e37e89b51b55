// The pieces that keep a controller's in-memory state in step with the shared metadata store, over the in-memory
// store: the worker directory (adopts workers of its protocol, refuses others), the catalogue sync (another
// controller's registration reaches this one's index), shared dispatch windows and durable pins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Architecture, UseCase } from '../core/types.ts';
import { keys } from '../metadata/metadata-store.ts';
import { MemoryStore } from '../metadata/memory/memory-store.ts';
import { PROTOCOL_VERSION } from '../protocol/worker-protocol.ts';
import type { WorkerRecord } from '../protocol/worker-record.ts';
import { makeVariant } from '../policy/fixtures.ts';
import { CatalogueSync } from './catalogue-sync.ts';
import { ModelIndex } from './model-index.ts';
import { StorePins } from './pins.ts';
import { SharedWindows } from './shared-windows.ts';
import { WorkerDirectory } from './worker-directory.ts';
import type { KnownWorker } from './worker-pool.ts';
import type { DispatchWindow } from './dispatcher.ts';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const settle = () => new Promise((r) => setImmediate(r));

function record(id: string, protocol = PROTOCOL_VERSION): WorkerRecord {
  return {
    id, workerClass: 'cpu-2', address: `tcp://10.0.0.${id.length}:7070`, startedAt: 1000, updatedAt: 2000, memoryBudgetMB: 2048, memoryUsedMB: 0,
    replicas: [], protocol, threads: 2, pricePerHour: 0.096, host: 'h',
  };
}

test('the worker directory hands workers of this protocol to the pool and refuses the others, saying why', async () => {
  const store = new MemoryStore();
  await store.set(keys.worker('w1'), record('w1'));
  const adopted: KnownWorker[] = [];
  const warnings: string[] = [];
  const dir = new WorkerDirectory({ store, adopt: async (w) => void adopted.push(w), log: { ...quiet, warn: (m) => warnings.push(m) } });
  await dir.start();
  assert.deepEqual(adopted.map((w) => [w.id, w.address, w.workerClass]), [['w1', 'tcp://10.0.0.2:7070', { name: 'cpu-2', threads: 2, memoryMB: 2048, pricePerHour: 0.096 }]]);
  await store.set(keys.worker('old'), record('old', 1), { ttlMs: 5000 });
  await store.set(keys.worker('w2'), record('w2'), { ttlMs: 5000 });
  await settle();
  assert.deepEqual(adopted.map((w) => w.id), ['w1', 'w2']);
  assert.deepEqual(dir.refused().map((r) => [r.id, r.protocol]), [['old', 1]]);
  assert.match(warnings[0], new RegExp(`not using worker old at .*: it speaks worker protocol 1 and this controller speaks ${PROTOCOL_VERSION}`));
  await store.set(keys.worker('old'), record('old', 1)); // its next heartbeat: not logged again
  await settle();
  assert.equal(warnings.length, 1);
  await store.delete(keys.worker('old'));
  await settle();
  assert.deepEqual(dir.refused(), []);
  dir.close();
});

test("another controller's registration reaches this controller's index through the store, in one rebuild", async () => {
  const store = new MemoryStore();
  let index = ModelIndex.empty();
  let rebuilds = 0;
  const sync = new CatalogueSync({ store, get: () => index, set: (i) => void ((index = i), rebuilds++), log: quiet });
  sync.start();
  const uc: UseCase = { id: 'classification/fashion-mnist', task: 'classification', dataset: 'fashion-mnist', inputShape: [4] };
  const v1 = makeVariant({ name: 'm.fp32.t1.b1.all' });
  const v2 = makeVariant({ name: 'm.fp32.t1.b8.all', maxBatch: 8 });
  const arch: Architecture = { name: 'm', useCase: uc.id, registeredAt: '', artifacts: [] };
  await Promise.all([store.set(keys.useCase(uc.id), uc), store.set(keys.variant(v1.name), v1), store.set(keys.variant(v2.name), v2), store.set(keys.architecture('m'), arch)]);
  await sync.settled();
  await settle();
  await sync.settled();
  assert.deepEqual([...index.variants.keys()].sort(), [v1.name, v2.name]);
  assert.equal(index.architecture('m').name, 'm');
  assert.equal(index.catalogue.byArchCost('m').length, 2);
  assert.equal(rebuilds, 1, 'one burst, one rebuild');
  const same = index;
  index = index.applying([{ type: 'set', key: keys.variant(v1.name), value: JSON.parse(JSON.stringify(v1)) }]);
  assert.equal(index, same, 'a change already applied gives the same index');
  await store.delete(keys.variant(v2.name));
  await sync.settled();
  await settle();
  await sync.settled();
  assert.deepEqual([...index.variants.keys()], [v1.name]);
  sync.close();
});

test("the leader's window merges each follower's latest published window with its own", async () => {
  const store = new MemoryStore();
  const own = (w: Partial<DispatchWindow>) => () => ({ unplaced: [], slo: new Map(), ...w });
  const follower = new SharedWindows({ store, controllerId: 'c2', take: own({ unplaced: ['b'], slo: new Map([['a', { minSloMs: 20, maxMinAccuracy: 90 }]]) }) });
  const leader = new SharedWindows({ store, controllerId: 'c1', take: own({ unplaced: ['a'], slo: new Map([['a', { minSloMs: 50, maxMinAccuracy: 80 }]]) }) });
  leader.start();
  await follower.publish();
  await settle();
  const merged = leader.merged();
  assert.deepEqual(merged.unplaced.sort(), ['a', 'b']);
  assert.deepEqual(merged.slo.get('a'), { minSloMs: 20, maxMinAccuracy: 90 });
  assert.deepEqual(leader.merged().unplaced, ['a'], "a follower's window is used once");
  leader.close();
});

test('pins live in the store: another controller and a restarted one see them', async () => {
  const store = new MemoryStore();
  const a = new StorePins(store);
  const b = new StorePins(store);
  await a.start();
  await b.start();
  await a.add('v1');
  await settle();
  assert.equal(b.has('v1'), true);
  await b.remove('v1');
  await b.add('v2');
  await settle();
  assert.deepEqual([...a.all()], ['v2']);
  const restarted = new StorePins(store);
  await restarted.start();
  assert.deepEqual([...restarted.all()], ['v2']);
  for (const p of [a, b, restarted]) p.close();
});
