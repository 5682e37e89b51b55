// RedisStore: the shared conformance suite (with reopen and a peer store) against a real redis-server,
// plus what only Redis has: outages and recovery, namespaces, the data layout, and URL parsing.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { InfaasError } from '../../core/errors.ts';
import { startRedis } from '../../testing/redis-server.ts';
import { runMetadataStoreConformance } from '../conformance.ts';
import type { StoreChange } from '../metadata-store.ts';
import { RedisStore } from './redis-store.ts';
import { parseRedisUrl } from './redis-url.ts';

const redis = await startRedis();
after(() => redis.stop());

/** A fresh namespace, so that tests sharing the server never meet. */
const namespace = () => `t${randomBytes(6).toString('hex')}:`;

/** Removes every Redis key of a namespace. */
async function dropNamespace(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  try {
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (found.length) await client.unlink(...found);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}

runMetadataStoreConformance('RedisStore', async () => {
  const prefix = namespace();
  const open = () => RedisStore.connect({ url: redis.url, prefix });
  return { store: await open(), reopen: open, peer: open, cleanup: () => dropNamespace(redis.url, prefix) };
});

const isCode = (code: string, text?: string) => (e: unknown) =>
  e instanceof InfaasError && e.code === code && (text === undefined || e.message.includes(text));

/** Polls `check` until it holds, failing after `ms` (for what has no event to await). */
async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`${what}: still not true after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('RedisStore outages', () => {
  it('rejects fast with UNAVAILABLE while Redis is down, then recovers by itself with the data kept', async () => {
    const server = await startRedis();
    const store = await RedisStore.connect({ url: server.url, prefix: namespace() });
    const seen: StoreChange[] = [];
    const stop = store.watch('k/', (c) => seen.push(c));
    try {
      await store.set('k/kept', { v: 1 });
      await eventually('the watcher hears the first set', () => seen.length === 1);
      await server.kill();
      const where = `redis 127.0.0.1:${server.port}`;
      for (const call of [() => store.get('k/kept'), () => store.set('k/x', 1), () => store.list('k/'), () => store.setIfAbsent('k/y', 1)]) {
        const t0 = Date.now();
        await assert.rejects(call(), isCode('UNAVAILABLE', `metadata store (${where}) is unreachable`));
        assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms to reject`);
      }
      await server.restart();
      await eventually('calls succeed again', () => store.get('k/kept').then(() => true, () => false));
      assert.deepEqual(await store.get('k/kept'), { v: 1 }, 'kept across SIGKILL (appendfsync always)');
      await eventually('the watcher gets a reset', () => seen.some((c) => c.type === 'reset'));
      await store.set('k/after', 2);
      await eventually('the watcher hears changes again', () => seen.some((c) => c.type === 'set' && c.key === 'k/after'));
      assert.deepEqual(seen.filter((c) => c.type !== 'reset'), [
        { type: 'set', key: 'k/kept', value: { v: 1 } },
        { type: 'set', key: 'k/after', value: 2 },
      ]);
    } finally {
      stop();
      await store.close();
      await server.stop();
    }
  });

  it('drops a connection that stops answering: calls fail fast, then recover; watchers get a reset', async () => {
    const server = await startRedis();
    const store = await RedisStore.connect({ url: server.url, prefix: namespace(), commandTimeoutMs: 250, healthCheckMs: 100 });
    const admin = new Redis(server.url);
    const seen: StoreChange[] = [];
    const stop = store.watch('', (c) => seen.push(c));
    try {
      await store.set('a', 1);
      await admin.call('CLIENT', 'PAUSE', '800', 'ALL'); // the server stops answering every client for 0.8 s
      for (let i = 0; i < 2; i++) {
        const t0 = Date.now();
        await assert.rejects(store.get('a'), isCode('UNAVAILABLE', 'metadata store (redis 127.0.0.1:'));
        assert.ok(Date.now() - t0 < 600, `took ${Date.now() - t0} ms to reject`);
      }
      await eventually('calls succeed again', () => store.get('a').then((v) => v === 1, () => false));
      await eventually('the watcher gets a reset', () => seen.some((c) => c.type === 'reset'));
    } finally {
      stop();
      await admin.quit();
      await store.close();
      await server.stop();
    }
  });

  it('connect rejects with UNAVAILABLE naming host:port when nothing listens', async () => {
    const port = await closedPort();
    const t0 = Date.now();
    await assert.rejects(RedisStore.connect({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 }),
      isCode('UNAVAILABLE', `metadata store (redis 127.0.0.1:${port}) is unreachable`));
    assert.ok(Date.now() - t0 < 2000);
  });

  it('connect rejects at once with UNAVAILABLE when the server refuses the password', async () => {
    const server = await startRedis({ args: ['--requirepass', 'right'] });
    try {
      const url = `redis://:wrong@127.0.0.1:${server.port}`;
      await assert.rejects(RedisStore.connect({ url, connectTimeoutMs: 10_000 }), isCode('UNAVAILABLE', 'refused'));
      const store = await RedisStore.connect(`redis://:right@127.0.0.1:${server.port}`);
      await store.set('a', 1);
      assert.equal(await store.get('a'), 1);
      await store.close();
    } finally {
      await server.stop();
    }
  });
});

describe('RedisStore namespaces and layout', () => {
  it('stores with different prefixes, or databases, on one server see neither keys nor changes of the other', async () => {
    const [pa, pb] = [namespace(), namespace()];
    const a = await RedisStore.connect({ url: redis.url, prefix: pa });
    const b = await RedisStore.connect({ url: redis.url, prefix: pb });
    const c = await RedisStore.connect({ url: `${redis.url}/1`, prefix: pa });
    const heard: StoreChange[] = [];
    const stop = a.watch('', (ch) => heard.push(ch));
    try {
      await b.set('same', 'b');
      await c.set('same', 'c');
      assert.equal(await a.get('same'), undefined);
      assert.equal(await a.setIfAbsent('same', 'a'), true);
      assert.equal(await b.get('same'), 'b');
      assert.equal(await c.get('same'), 'c');
      await b.set('only-b', 1);
      await c.set('only-c', 1);
      assert.deepEqual(await a.list(''), [{ key: 'same', value: 'a' }]);
      assert.deepEqual(await b.list(''), [{ key: 'only-b', value: 1 }, { key: 'same', value: 'b' }]);
      assert.deepEqual(await c.list(''), [{ key: 'only-c', value: 1 }, { key: 'same', value: 'c' }]);
      assert.equal(await a.delete('only-b'), false);
      await a.set('last', true);
      await eventually('a hears its own changes', () => heard.length >= 2);
      assert.deepEqual(heard, [{ type: 'set', key: 'same', value: 'a' }, { type: 'set', key: 'last', value: true }]);
    } finally {
      stop();
      await Promise.all([a.close(), b.close(), c.close()]);
      await Promise.all([dropNamespace(redis.url, pa), dropNamespace(redis.url, pb), dropNamespace(`${redis.url}/1`, pa)]);
    }
  });

  it('keeps the documented layout: value text, index, change messages; expired keys leave the index', async () => {
    const prefix = namespace();
    const store = await RedisStore.connect({ url: redis.url, prefix });
    const raw = new Redis(redis.url);
    const sub = new Redis(redis.url);
    const messages: string[] = [];
    try {
      await sub.subscribe(`${prefix}changes`);
      sub.on('message', (_channel: string, m: string) => messages.push(m));
      await store.set('x/é', { a: [1] });
      await store.set('x/short', 1, { ttlMs: 30 });
      assert.equal(await store.compareAndSet('x/é', { a: [2] }, 3), false);
      await store.delete('x/é');
      await store.delete('x/é');
      await eventually('three messages arrive', () => messages.length >= 3);
      assert.deepEqual(messages, ['{"t":"s","k":"x/é","v":{"a":[1]}}', '{"t":"s","k":"x/short","v":1}', '{"t":"d","k":"x/é"}']);
      await store.set('x/kept', [true]);
      assert.equal(await raw.get(`${prefix}v:x/kept`), '[true]');
      await eventually('x/short expires', async () => (await raw.exists(`${prefix}v:x/short`)) === 0);
      assert.deepEqual(await raw.zrange(`${prefix}idx`, 0, -1), ['x/kept', 'x/short']);
      assert.deepEqual(await store.list('x/'), [{ key: 'x/kept', value: [true] }]);
      await eventually('the expired key leaves the index', async () => (await raw.zcard(`${prefix}idx`)) === 1);
    } finally {
      sub.disconnect();
      await raw.quit();
      await store.close();
      await dropNamespace(redis.url, prefix);
    }
  });

  it('rejects a key with a lone surrogate (Redis would store it as U+FFFD)', async () => {
    const store = await RedisStore.connect({ url: redis.url, prefix: namespace() });
    try {
      await assert.rejects(store.set('bad\uD800', 1), isCode('INVALID_ARGUMENT'));
      await store.set('ok😀', 1);
      assert.equal(await store.get('ok😀'), 1);
    } finally {
      await store.close();
    }
  });
});

describe('parseRedisUrl', () => {
  it('parses host, port, database, credentials, TLS and prefix', () => {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6390'), { host: '127.0.0.1', port: 6390, db: 0, tls: false, prefix: 'infaas:' });
    assert.deepEqual(parseRedisUrl('redis://redis.internal'), { host: 'redis.internal', port: 6379, db: 0, tls: false, prefix: 'infaas:' });
    assert.deepEqual(parseRedisUrl('rediss://ops:p%40ss%3Aword@cache.example:6380/3?prefix=prod%3A'), {
      host: 'cache.example', port: 6380, db: 3, username: 'ops', password: 'p@ss:word', tls: true, prefix: 'prod:',
    });
    assert.deepEqual(parseRedisUrl('redis://:secret@[::1]:7000/'), { host: '::1', port: 7000, db: 0, password: 'secret', tls: false, prefix: 'infaas:' });
  });

  it('rejects anything else with INVALID_ARGUMENT, without echoing a password', () => {
    const bad = ['', 'localhost:6379', 'http://h:6379', 'redis:h:6379', 'redis://:6379', 'redis://h:0', 'redis://h:70000',
      'redis://h:port', 'redis://h:6379/x', 'redis://h:6379/1/2', 'redis://h:6379?db=1', 'redis://h:6379?prefix=',
      'redis://h:6379#frag', 'redis://u:topsecret@h:6379/db'];
    for (const url of bad) assert.throws(() => parseRedisUrl(url), isCode('INVALID_ARGUMENT'), url);
    assert.throws(() => parseRedisUrl('redis://u:topsecret@h:6379/db'), (e: unknown) => e instanceof Error && !e.message.includes('topsecret'));
    assert.throws(() => parseRedisUrl(42 as unknown as string), isCode('INVALID_ARGUMENT'));
  });

  it('connect checks options too', async () => {
    await assert.rejects(RedisStore.connect({}), isCode('INVALID_ARGUMENT'));
    await assert.rejects(RedisStore.connect({ host: 'h', port: 0 }), isCode('INVALID_ARGUMENT'));
    await assert.rejects(RedisStore.connect({ url: redis.url, prefix: '' }), isCode('INVALID_ARGUMENT'));
    await assert.rejects(RedisStore.connect({ url: redis.url, connectTimeoutMs: -1 }), isCode('INVALID_ARGUMENT'));
    await assert.rejects(RedisStore.connect('nope'), isCode('INVALID_ARGUMENT'));
  });
});
