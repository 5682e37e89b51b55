// Lease over the in-memory store with a fake clock: one holder at a time, renewal, expiry, release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lease } from './lease.ts';
import { MemoryStore } from './memory/memory-store.ts';

test('one holder at a time; the holder renews; another takes over only after the ttl or a release', async () => {
  let now = 1_000;
  const store = new MemoryStore({ now: () => now });
  const a = new Lease(store, 'leader', 'c1', 5_000, () => now);
  const b = new Lease(store, 'leader', 'c2', 5_000, () => now);
  assert.equal(await a.acquire(), true);
  assert.equal(await b.acquire(), false);
  now += 4_000;
  assert.equal(await a.acquire(), true, 'renewed');
  now += 4_000; // 8 s after the take, 4 s after the renewal
  assert.equal(await b.acquire(), false, 'still within the renewed ttl');
  assert.deepEqual(await b.holder(), { holder: 'c1', acquiredAt: 1_000, renewedAt: 5_000 });
  now += 1_001; // a stopped renewing 5 s ago
  assert.equal(await b.acquire(), true, 'taken over after the ttl');
  assert.equal(await a.acquire(), false);
  await a.release(); // not a's: nothing happens
  assert.equal((await b.holder())?.holder, 'c2');
  await b.release();
  assert.equal(await b.holder(), undefined);
  assert.equal(await a.acquire(), true, 'free after a release');
});

test('of many contenders at once exactly one wins', async () => {
  const store = new MemoryStore();
  const leases = Array.from({ length: 10 }, (_, i) => new Lease(store, 'job', `c${i}`, 60_000));
  const won = await Promise.all(leases.map((l) => l.acquire()));
  assert.equal(won.filter(Boolean).length, 1);
});
