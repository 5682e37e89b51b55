// Leader election over the in-memory store with a fake clock: one leader, takeover after the ttl, stepping
// down when the store cannot be reached, and resigning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unavailable } from '../core/errors.ts';
import { MemoryStore } from '../metadata/memory/memory-store.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';
import { LeaderElection } from './leader-election.ts';

function setup() {
  let now = 0;
  const store = new MemoryStore({ now: () => now });
  let down = false;
  // the same store, failing every call while `down`
  const flaky = new Proxy(store, {
    get: (t, p) => {
      const v = Reflect.get(t, p);
      return typeof v === 'function' ? (...a: unknown[]) => (down ? Promise.reject(unavailable('store is down')) : v.apply(t, a)) : v;
    },
  }) as MetadataStore;
  const events: string[] = [];
  const make = (id: string, s: MetadataStore = store) =>
    new LeaderElection({ store: s, id, ttlMs: 3000, now: () => now, onElected: () => events.push(`${id} elected`), onDeposed: () => events.push(`${id} deposed`) });
  return { make, events, flaky, tick: (ms: number) => (now += ms), setDown: (d: boolean) => (down = d) };
}

test('one leader at a time; another takes over once the leader stops renewing', async () => {
  const { make, events, tick } = setup();
  const c1 = make('c1');
  const c2 = make('c2');
  assert.equal(c1.everyMs, 1000);
  await c1.update();
  await c2.update();
  assert.deepEqual(events, ['c1 elected']);
  assert.deepEqual(c2.status(), { controller: 'c2', leader: false, leaderId: 'c1' });
  for (let i = 0; i < 5; i++) {
    tick(1000);
    await c1.update();
    await c2.update();
  }
  assert.equal(c1.isLeader, true, 'renewals keep it');
  tick(3001); // c1 is gone (no renewal)
  await c2.update();
  assert.deepEqual(events, ['c1 elected', 'c2 elected']);
  await c1.update(); // c1 comes back: it is not the leader any more
  assert.deepEqual(events, ['c1 elected', 'c2 elected', 'c1 deposed']);
  await c2.resign();
  await c1.update();
  assert.deepEqual(events.slice(3), ['c2 deposed', 'c1 elected']);
});

test('a leader that cannot reach the store steps down before its lease could have passed on', async () => {
  const { make, events, flaky, tick, setDown } = setup();
  const c1 = make('c1', flaky);
  await c1.update();
  assert.equal(c1.isLeader, true);
  setDown(true);
  tick(1000);
  await assert.rejects(c1.update());
  assert.equal(c1.isLeader, true, 'one missed renewal: still well within the ttl');
  tick(1000);
  await assert.rejects(c1.update());
  assert.equal(c1.isLeader, false);
  assert.deepEqual(events, ['c1 elected', 'c1 deposed']);
  setDown(false);
  await c1.update();
  assert.equal(c1.isLeader, true, 'its own lease: renewed as soon as the store is back');
});
