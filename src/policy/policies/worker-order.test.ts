// Tests for WorkerOrder: after any sequence of key changes made through update, the order is the one a fresh
// sort gives; non-members' keys change without touching it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../core/random.ts';
import { workerSnap } from '../policy-fixtures.ts';
import { byId, WorkerOrder } from './worker-order.ts';

test('a worker order stays sorted as keys change through update', () => {
  const rng = mulberry32(7);
  const workers = Array.from({ length: 200 }, (_, i) => workerSnap(`w${i}`, { utilisation: Math.floor(rng() * 4) / 4 }));
  const free = new Map(workers.map((w) => [w.id, Math.floor(rng() * 5)]));
  const cmp = (a: typeof workers[number], b: typeof workers[number]) => free.get(b.id)! - free.get(a.id)! || a.utilisation - b.utilisation || byId(a, b);
  const members = workers.slice(0, 150);
  const order = new WorkerOrder(members, cmp);
  for (let i = 0; i < 2000; i++) {
    const w = workers[Math.floor(rng() * workers.length)];
    order.update(w, () => free.set(w.id, free.get(w.id)! + (rng() < 0.5 ? -1 : 1) * rng()));
    if (i % 100 === 0) assert.deepEqual(order.items.map((x) => x.id), [...members].sort(cmp).map((x) => x.id));
  }
  assert.deepEqual(order.items.map((x) => x.id), [...members].sort(cmp).map((x) => x.id));
});
