// The one MetadataStore conformance suite: every implementation runs it through a five-line test file.
// It tests only the contract in metadata-store.ts: the embedded, memory and Redis stores all pass it unchanged.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import type { MetadataStore, StoreChange } from './metadata-store.ts';

/**
 * What a conformance run needs from an implementation. `open` gives a fresh, empty store over fresh
 * state. `reopen` (durable implementations only) gives a new store over the same state; the suite calls
 * it only after closing the previous store. `cleanup` removes the state; the suite has closed every
 * store it opened by then.
 */
export interface MetadataStoreHarness {
  store: MetadataStore;
  reopen?: () => Promise<MetadataStore>;
  /**
   * Implementations shared by several processes (Redis) only: another store over the same state, open at the
   * same time as `store` (a second controller). The suite closes what it returns.
   */
  peer?: () => Promise<MetadataStore>;
  cleanup: () => Promise<void>;
}

const ODD_KEYS = [
  'with space', 'tab\tand\nnewline', 'uni/é/日本/😀', 'glob*?[x]', 'glob\\*', 'quote"back\\slash',
  'colon:semi;', '%25%', '{}[]', '/leading/slash', 'trailing/', 'a//b', '.', '..', ' ',
];

const JSON_VALUES: Array<[string, unknown]> = [
  ['null', null], ['true', true], ['false', false], ['zero', 0], ['negative', -1.5], ['huge', 1e300],
  ['tiny', 5e-324], ['int', 9007199254740991], ['empty string', ''], ['unicode string', 'é日本😀\n\t"\\\u0000'],
  ['empty array', []], ['empty object', {}], ['nested', { a: [1, { b: [null, 'x', { c: {} }] }], 'key with space': true }],
];

function isCode(code: string) {
  return (e: unknown) => e instanceof InfaasError && e.code === code;
}

/** Polls `check` until it holds (expiry has no event to await), failing after `ms`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`${what}: still not true after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Records what a watcher receives; `next(n)` resolves once n changes in all have arrived. */
function recorder(store: MetadataStore, prefix: string) {
  const changes: StoreChange[] = [];
  let wake: (() => void) | undefined;
  const stop = store.watch(prefix, (c) => {
    changes.push(c);
    wake?.();
  });
  return {
    changes,
    stop,
    /** The first n changes (ignoring 'reset'), once they have arrived. */
    async next(n: number, ms = 10_000): Promise<StoreChange[]> {
      const real = () => changes.filter((c) => c.type !== 'reset');
      const until = Date.now() + ms;
      while (real().length < n) {
        if (Date.now() > until) assert.fail(`expected ${n} changes under '${prefix}', got ${JSON.stringify(real())}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return real().slice(0, n);
    },
  };
}

export function runMetadataStoreConformance(name: string, open: () => Promise<MetadataStoreHarness>): void {
  /** Runs `fn` over a fresh store and always closes what was opened and cleans up. */
  async function withStore(fn: (h: MetadataStoreHarness & { reopened: (s: MetadataStore) => MetadataStore }) => Promise<void>) {
    const h = await open();
    const opened: MetadataStore[] = [h.store];
    try {
      await fn({ ...h, reopened: (s) => (opened.push(s), s) });
    } finally {
      for (const s of opened) await s.close().catch(() => undefined);
      await h.cleanup();
    }
  }

  /** Closes the store and returns a reopened one, or undefined when the implementation is not durable. */
  async function cycle(h: MetadataStoreHarness & { reopened: (s: MetadataStore) => MetadataStore }, s: MetadataStore) {
    if (!h.reopen) return undefined;
    await s.close();
    return h.reopened(await h.reopen());
  }

  describe(`MetadataStore conformance: ${name}`, () => {
    it('gets undefined for a missing key, then what was set, then the overwrite', () => withStore(async ({ store }) => {
      assert.equal(await store.get('missing'), undefined);
      await store.set('k', { v: 1 });
      assert.deepEqual(await store.get('k'), { v: 1 });
      await store.set('k', 'two');
      assert.equal(await store.get('k'), 'two');
      assert.equal(await store.get('k2'), undefined);
    }));

    it('delete reports whether the key existed and removes it from get and list', () => withStore(async ({ store }) => {
      await store.set('d/1', 1);
      await store.set('d/2', 2);
      assert.equal(await store.delete('d/1'), true);
      assert.equal(await store.delete('d/1'), false);
      assert.equal(await store.delete('never'), false);
      assert.equal(await store.get('d/1'), undefined);
      assert.deepEqual(await store.list('d/'), [{ key: 'd/2', value: 2 }]);
    }));

    it('list returns exactly the keys with the prefix, sorted by key', () => withStore(async ({ store }) => {
      const all = ['b/a', 'a/c/d', 'a', 'ab', 'a/b', 'a/', 'a/a', 'A/a', 'a0', 'b'];
      for (const k of all) await store.set(k, k.toUpperCase());
      const keysOf = async (p: string) => (await store.list(p)).map((e) => e.key);
      assert.deepEqual(await keysOf('a/'), ['a/', 'a/a', 'a/b', 'a/c/d']);
      assert.deepEqual(await keysOf('a'), ['a', 'a/', 'a/a', 'a/b', 'a/c/d', 'a0', 'ab']);
      assert.deepEqual(await keysOf(''), [...all].sort());
      assert.deepEqual(await keysOf('zzz'), []);
      assert.deepEqual(await keysOf('a/c/d/'), []);
      assert.deepEqual(await store.list('b'), [{ key: 'b', value: 'B' }, { key: 'b/a', value: 'B/A' }]);
    }));

    it('copies values in and out deeply', () => withStore(async ({ store }) => {
      const v = { list: [1, 2], inner: { x: 'a' } };
      await store.set('c', v);
      v.list.push(3);
      v.inner.x = 'changed';
      const got = await store.get<typeof v>('c');
      assert.deepEqual(got, { list: [1, 2], inner: { x: 'a' } });
      got!.list.push(99);
      const [listed] = await store.list<typeof v>('c');
      assert.deepEqual(listed.value, { list: [1, 2], inner: { x: 'a' } });
      listed.value.inner.x = 'mutated';
      assert.notEqual(await store.get('c'), await store.get('c'));
      assert.deepEqual(await store.get('c'), { list: [1, 2], inner: { x: 'a' } });
    }));

    it('stores values of every JSON type', () => withStore(async (h) => {
      let store = h.store;
      for (const [k, v] of JSON_VALUES) await store.set(`json/${k}`, v);
      for (let round = 0; round < 2; round++) {
        for (const [k, v] of JSON_VALUES) assert.deepEqual(await store.get(`json/${k}`), v, `value ${k}`);
        const listed = new Map((await store.list('json/')).map((e) => [e.key, e.value]));
        assert.equal(listed.size, JSON_VALUES.length);
        for (const [k, v] of JSON_VALUES) assert.deepEqual(listed.get(`json/${k}`), v, `listed ${k}`);
        const next = await cycle(h, store);
        if (!next) break;
        store = next;
      }
    }));

    it('accepts keys with odd characters, and a prefix with glob characters matches literally', () => withStore(async (h) => {
      let store = h.store;
      for (const [i, k] of ODD_KEYS.entries()) await store.set(k, i);
      for (let round = 0; round < 2; round++) {
        for (const [i, k] of ODD_KEYS.entries()) assert.equal(await store.get(k), i, JSON.stringify(k));
        assert.deepEqual((await store.list('')).map((e) => e.key), [...ODD_KEYS].sort());
        assert.deepEqual((await store.list('glob*')).map((e) => e.key), ['glob*?[x]']);
        assert.deepEqual((await store.list('glob\\')).map((e) => e.key), ['glob\\*']);
        assert.deepEqual((await store.list('%')).map((e) => e.key), ['%25%']);
        assert.deepEqual((await store.list('uni/é/')).map((e) => e.key), ['uni/é/日本/😀']);
        const next = await cycle(h, store);
        if (!next) break;
        store = next;
      }
    }));

    it('stores large values (1 MB)', () => withStore(async (h) => {
      let store = h.store;
      const big = 'x'.repeat(1 << 20) + 'é😀';
      const arr = Array.from({ length: 100_000 }, (_, i) => i * 1.5);
      await store.set('big/string', big);
      await store.set('big/array', arr);
      for (let round = 0; round < 2; round++) {
        assert.equal(await store.get('big/string'), big);
        assert.deepEqual(await store.get('big/array'), arr);
        assert.equal((await store.list('big/')).length, 2);
        const next = await cycle(h, store);
        if (!next) break;
        store = next;
      }
    }));

    it('setIfAbsent stores only when absent', () => withStore(async ({ store }) => {
      assert.equal(await store.setIfAbsent('s', 'first'), true);
      assert.equal(await store.setIfAbsent('s', 'second'), false);
      assert.equal(await store.get('s'), 'first');
      await store.set('s', null);
      assert.equal(await store.setIfAbsent('s', 'third'), false, 'a stored null is present');
      assert.equal(await store.get('s'), null);
      assert.equal(await store.delete('s'), true);
      assert.equal(await store.setIfAbsent('s', 'fourth'), true);
      assert.equal(await store.get('s'), 'fourth');
    }));

    it('setIfAbsent is atomic: of concurrent callers exactly one wins', () => withStore(async ({ store }) => {
      for (let round = 0; round < 3; round++) {
        const key = `race/${round}`;
        const results = await Promise.all(Array.from({ length: 32 }, (_, i) => store.setIfAbsent(key, { winner: i })));
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        assert.equal(winners.length, 1, `round ${round}: winners ${winners.join(',')}`);
        assert.deepEqual(await store.get(key), { winner: winners[0] });
      }
      const distinct = await Promise.all(Array.from({ length: 20 }, (_, i) => store.setIfAbsent(`distinct/${i}`, i)));
      assert.ok(distinct.every(Boolean));
      assert.equal((await store.list('distinct/')).length, 20);
    }));

    it('mutations issued by one store take effect in call order', () => withStore(async ({ store }) => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.set('order', i)));
      assert.equal(await store.get('order'), 49);
      await Promise.all([store.set('order2', 'a'), store.delete('order2'), store.set('order3', 1), store.delete('order3'), store.set('order3', 2)]);
      assert.equal(await store.get('order2'), undefined);
      assert.equal(await store.get('order3'), 2);
    }));

    it('rejects an empty key and an unserialisable value with INVALID_ARGUMENT', () => withStore(async ({ store }) => {
      await assert.rejects(store.set('', 1), isCode('INVALID_ARGUMENT'));
      await assert.rejects(store.get(''), isCode('INVALID_ARGUMENT'));
      await assert.rejects(store.setIfAbsent('', 1), isCode('INVALID_ARGUMENT'));
      await assert.rejects(store.delete(''), isCode('INVALID_ARGUMENT'));
      await assert.rejects(store.set('u', undefined), isCode('INVALID_ARGUMENT'));
      await assert.rejects(store.set('f', () => 1), isCode('INVALID_ARGUMENT'));
      await assert.rejects(store.set('b', 1n), isCode('INVALID_ARGUMENT'));
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await assert.rejects(store.set('c', cyclic), isCode('INVALID_ARGUMENT'));
      assert.deepEqual(await store.list(''), []);
    }));

    it('close lets calls already made finish, then every call rejects with UNAVAILABLE', () => withStore(async (h) => {
      const pending = Array.from({ length: 20 }, (_, i) => h.store.set(`pending/${i}`, i));
      await h.store.close();
      await Promise.all(pending);
      await assert.rejects(h.store.get('pending/0'), isCode('UNAVAILABLE'));
      await assert.rejects(h.store.set('x', 1), isCode('UNAVAILABLE'));
      await assert.rejects(h.store.setIfAbsent('x', 1), isCode('UNAVAILABLE'));
      await assert.rejects(h.store.delete('pending/0'), isCode('UNAVAILABLE'));
      await assert.rejects(h.store.list(''), isCode('UNAVAILABLE'));
      if (h.reopen) {
        const again = h.reopened(await h.reopen());
        assert.equal((await again.list('pending/')).length, 20);
      }
    }));

    it('keeps sets, overwrites and deletes across reopen', (t) => withStore(async (h) => {
      if (!h.reopen) return void t.skip('not a durable implementation');
      let store = h.store;
      for (let i = 0; i < 100; i++) await store.set(`dur/${String(i).padStart(3, '0')}`, { i });
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.set(`dur/${String(i).padStart(3, '0')}`, { i, v: 2 })));
      for (let i = 0; i < 100; i += 3) await store.delete(`dur/${String(i).padStart(3, '0')}`);
      assert.equal(await store.setIfAbsent('dur/once', 1), true);
      const expected = await store.list('');
      store = (await cycle(h, store))!;
      assert.deepEqual(await store.list(''), expected);
      assert.equal(await store.setIfAbsent('dur/once', 2), false);
      await store.set('dur/after', 'reopen');
      await store.delete('dur/001');
      const expected2 = await store.list('');
      store = (await cycle(h, store))!;
      assert.deepEqual(await store.list(''), expected2);
      assert.equal(await store.get('dur/after'), 'reopen');
      assert.equal(await store.get('dur/001'), undefined);
    }));

    it('compareAndSet replaces, creates and deletes only when the current value matches', () => withStore(async ({ store }) => {
      assert.equal(await store.compareAndSet('cas', undefined, { n: 1 }), true, 'create when absent');
      assert.equal(await store.compareAndSet('cas', undefined, { n: 9 }), false, 'not absent any more');
      assert.equal(await store.compareAndSet('cas', { n: 2 }, { n: 9 }), false, 'wrong expected value');
      assert.deepEqual(await store.get('cas'), { n: 1 });
      const read = await store.get('cas');
      assert.equal(await store.compareAndSet('cas', read, { n: 2, list: [1, 'x', null] }), true, 'a value read back matches');
      const again = await store.get('cas');
      assert.equal(await store.compareAndSet('cas', again, 'scalar'), true);
      assert.equal(await store.compareAndSet('cas', 'scalar', undefined), true, 'undefined deletes');
      assert.equal(await store.get('cas'), undefined);
      assert.equal(await store.compareAndSet('cas', 'scalar', undefined), false);
      assert.equal(await store.compareAndSet('never', 'x', undefined), false);
      await store.set('nullish', null);
      assert.equal(await store.compareAndSet('nullish', undefined, 1), false, 'a stored null is present');
      assert.equal(await store.compareAndSet('nullish', null, 1), true);
      await assert.rejects(store.compareAndSet('', undefined, 1), isCode('INVALID_ARGUMENT'));
      await assert.rejects(store.compareAndSet('x', undefined, () => 1), isCode('INVALID_ARGUMENT'));
      await assert.rejects(store.compareAndSet('x', 1n, 1), isCode('INVALID_ARGUMENT'));
    }));

    it('compareAndSet is atomic: concurrent read-modify-write loops lose no update', () => withStore(async (h) => {
      const peer = h.peer ? h.reopened(await h.peer()) : undefined;
      const stores = peer ? [h.store, peer] : [h.store];
      await h.store.set('counter', { n: 0 });
      const increment = async (s: MetadataStore) => {
        for (;;) {
          const cur = await s.get<{ n: number }>('counter');
          if (await s.compareAndSet('counter', cur, { n: cur!.n + 1 })) return;
        }
      };
      await Promise.all(Array.from({ length: 40 }, (_, i) => increment(stores[i % stores.length])));
      assert.deepEqual(await h.store.get('counter'), { n: 40 });
    }));

    it('a key set with ttlMs expires for get, list, setIfAbsent and compareAndSet', () => withStore(async ({ store }) => {
      await store.set('ttl/a', 'gone soon', { ttlMs: 300 });
      assert.equal(await store.setIfAbsent('ttl/b', 'also', { ttlMs: 300 }), true);
      await store.set('ttl/kept', 'stays');
      assert.equal(await store.get('ttl/a'), 'gone soon');
      assert.deepEqual((await store.list('ttl/')).map((e) => e.key), ['ttl/a', 'ttl/b', 'ttl/kept']);
      await eventually('ttl/a expires', async () => (await store.get('ttl/a')) === undefined);
      await eventually('ttl/b expires', async () => (await store.get('ttl/b')) === undefined);
      assert.deepEqual(await store.list('ttl/'), [{ key: 'ttl/kept', value: 'stays' }]);
      assert.equal(await store.setIfAbsent('ttl/a', 'again'), true, 'an expired key is absent');
      await store.set('ttl/c', 1, { ttlMs: 300 });
      await eventually('ttl/c expires', async () => (await store.get('ttl/c')) === undefined);
      assert.equal(await store.compareAndSet('ttl/c', undefined, 2), true, 'an expired key is absent for compareAndSet');
    }));

    it('a write without ttlMs makes an expiring key permanent; compareAndSet with ttlMs renews it', () => withStore(async ({ store }) => {
      await store.set('p/made-permanent', 1, { ttlMs: 200 });
      await store.set('p/made-permanent', 2);
      await store.set('p/renewed', { v: 1 }, { ttlMs: 200 });
      assert.equal(await store.compareAndSet('p/renewed', { v: 1 }, { v: 2 }, { ttlMs: 60_000 }), true);
      await store.set('p/witness', 'x', { ttlMs: 400 }); // expires after the others would have
      await eventually('the witness expires', async () => (await store.get('p/witness')) === undefined);
      assert.equal(await store.get('p/made-permanent'), 2);
      assert.deepEqual(await store.get('p/renewed'), { v: 2 });
    }));

    it('rejects a ttlMs that is not a positive integer with INVALID_ARGUMENT', () => withStore(async ({ store }) => {
      for (const ttlMs of [0, -5, 1.5, NaN, Infinity]) {
        await assert.rejects(store.set('t', 1, { ttlMs }), isCode('INVALID_ARGUMENT'), `set ttlMs ${ttlMs}`);
        await assert.rejects(store.setIfAbsent('t', 1, { ttlMs }), isCode('INVALID_ARGUMENT'), `setIfAbsent ttlMs ${ttlMs}`);
        await assert.rejects(store.compareAndSet('t', undefined, 1, { ttlMs }), isCode('INVALID_ARGUMENT'), `compareAndSet ttlMs ${ttlMs}`);
      }
      assert.equal(await store.get('t'), undefined);
    }));

    it('watch delivers every change under its prefix, in order, with the values, after the call', () => withStore(async ({ store }) => {
      const w = recorder(store, 'w/');
      const other = recorder(store, 'other/');
      let inCall = true;
      let syncCall = false;
      const stopSync = store.watch('w/', () => (syncCall ||= inCall));
      const p = store.set('w/a', { v: 1 });
      inCall = false;
      await p;
      stopSync();
      await store.set('x/outside', 1);
      assert.equal(await store.setIfAbsent('w/b', 'b'), true);
      assert.equal(await store.setIfAbsent('w/b', 'lost'), false);
      assert.equal(await store.compareAndSet('w/a', { v: 1 }, { v: 2 }), true);
      assert.equal(await store.compareAndSet('w/a', { v: 1 }, { v: 3 }), false);
      assert.equal(await store.delete('w/b'), true);
      assert.equal(await store.delete('w/b'), false);
      assert.equal(await store.compareAndSet('w/a', { v: 2 }, undefined), true);
      await store.set('w/ttl', 't', { ttlMs: 60_000 });
      await store.set('other/o', 'o');
      assert.deepEqual(await w.next(6), [
        { type: 'set', key: 'w/a', value: { v: 1 } },
        { type: 'set', key: 'w/b', value: 'b' },
        { type: 'set', key: 'w/a', value: { v: 2 } },
        { type: 'delete', key: 'w/b' },
        { type: 'delete', key: 'w/a' },
        { type: 'set', key: 'w/ttl', value: 't' },
      ]);
      assert.deepEqual(await other.next(1), [{ type: 'set', key: 'other/o', value: 'o' }]);
      assert.equal(syncCall, false, 'a listener was called inside the mutating call');
      w.stop();
      other.stop();
    }));

    it('watch values are copies; a throwing listener harms nothing; a stopped watcher hears nothing more', () => withStore(async ({ store }) => {
      const thrower = store.watch('c/', () => {
        throw new Error('listener bug');
      });
      const mutator = store.watch('c/', (c) => {
        if (c.type === 'set') (c.value as { list: number[] }).list.push(99);
      });
      const w = recorder(store, 'c/');
      await store.set('c/1', { list: [1] });
      const [first] = await w.next(1);
      assert.deepEqual(first, { type: 'set', key: 'c/1', value: { list: [1] } });
      assert.deepEqual(await store.get('c/1'), { list: [1] });
      w.stop();
      thrower();
      mutator();
      const after = recorder(store, 'c/');
      await store.set('c/2', 2);
      await after.next(1);
      assert.equal(w.changes.filter((c) => c.type !== 'reset').length, 1, 'a stopped watcher was called');
      after.stop();
    }));

    it('a peer store over the same state sees writes, races setIfAbsent fairly and delivers its changes to watchers', (t) => withStore(async (h) => {
      if (!h.peer) return void t.skip('not shared between processes');
      const peer = h.reopened(await h.peer());
      const w = recorder(h.store, 'peer/');
      await peer.set('peer/a', { from: 'peer' });
      assert.deepEqual(await h.store.get('peer/a'), { from: 'peer' });
      await h.store.set('peer/b', 'mine', { ttlMs: 60_000 });
      assert.equal(await peer.get('peer/b'), 'mine');
      await peer.delete('peer/a');
      assert.deepEqual(await w.next(3), [
        { type: 'set', key: 'peer/a', value: { from: 'peer' } },
        { type: 'set', key: 'peer/b', value: 'mine' },
        { type: 'delete', key: 'peer/a' },
      ]);
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? peer : h.store).setIfAbsent(`peer/race/${round}`, i)));
        assert.equal(results.filter(Boolean).length, 1, `round ${round}`);
      }
      w.stop();
    }));
  });
}
