// Bench: metadata store write throughput (sequential and 64 concurrent writers, i.e. group commit) for the
// embedded log store vs MemoryStore vs RedisStore (a local redis-server, appendfsync always), and the
// embedded store's open/replay time for 10,000 keys.
// Run: npx tsx bench/metadata-store.ts   (about 20 s)

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetadataStore } from '../src/metadata/metadata-store.ts';
import { EmbeddedStore } from '../src/metadata/embedded/log-store.ts';
import { MemoryStore } from '../src/metadata/memory/memory-store.ts';
import { RedisStore } from '../src/metadata/redis/redis-store.ts';
import { startRedis } from '../src/testing/redis-server.ts';

const SECONDS = 1.5;
const value = (i: number) => ({ variant: `digits-cnn-m-int8-t${i % 4}`, p50Ms: i * 0.01, batch: [1, 2, 4, 8], state: 'active' });

/** Runs `writers` loops of awaited sets for SECONDS; returns sets per second and the count. */
async function throughput(store: MetadataStore, writers: number): Promise<{ rate: number; n: number }> {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; performance.now() < end; i++, n++) await store.set(`bench/${w}/${i % 500}`, value(i));
  }));
  return { rate: n / ((performance.now() - t0) / 1000), n };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'infaas-bench-meta-'));
  const redis = await startRedis();
  try {
    const rows: string[][] = [];
    for (const writers of [1, 64]) {
      const mem = new MemoryStore();
      const memRate = (await throughput(mem, writers)).rate;
      await mem.close();
      const emb = await EmbeddedStore.open(join(dir, `w${writers}`));
      const before = emb.stats().fsyncs;
      const { rate: embRate, n } = await throughput(emb, writers);
      const perSync = n / Math.max(1, emb.stats().fsyncs - before);
      await emb.close();
      const red = await RedisStore.connect({ url: redis.url, prefix: `bench${writers}:` });
      const redisRate = (await throughput(red, writers)).rate;
      await red.close();
      rows.push([writers === 1 ? 'sequential (1 writer)' : '64 concurrent writers', fmt(embRate), fmt(memRate), fmt(redisRate), `${(memRate / embRate).toFixed(0)}x`, perSync.toFixed(1)]);
    }
    printTable(['sets/s', 'embedded', 'memory', 'redis', 'memory/embedded', 'sets per fsync (embedded)'], rows);

    const replayDir = join(dir, 'replay');
    let store = await EmbeddedStore.open(replayDir);
    for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 10_000 }, (_, i) => store.set(`variant/v${i}`, value(i + round))));
    await store.close();
    const logBytes = (await stat(join(replayDir, 'meta.log')).then((s) => s.size));
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      store = await EmbeddedStore.open(replayDir);
      times.push(performance.now() - t0);
      if (store.stats().keys !== 10_000) throw new Error(`replayed ${store.stats().keys} keys`);
      await store.close();
    }
    times.sort((a, b) => a - b);
    console.log();
    printTable(['open/replay', 'keys', 'records', 'log MiB', 'median ms', 'min ms'],
      [['embedded', '10000', '30000', (logBytes / 2 ** 20).toFixed(2), times[2].toFixed(1), times[0].toFixed(1)]]);
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

await main();
