// Predicted vs observed latency (issue 11): a real `infaas serve` (autoscaling off, so nothing loads or unloads
// behind the bench's back) with a representative set of zoo architectures registered. For each variant, five
// rounds of: unload it, one query (a cold start), then ten sequential queries (warm). Each reply carries what the
// controller predicted when it sent the request (predictedMs: the profile corrected by what the live system has
// measured so far) and the server's own time (timing.totalMs); the client times it too. Prints, per variant, the
// median of observed / predicted for warm and cold queries (server-side, and as the client saw it), the very first
// cold start apart (a worker's first load of a file, before anything of that variant was measured), and what the
// worker's status shows of its corrections.
//
// Usage: npx tsx bench/predicted-vs-observed.ts [--archs fmnist-linear,fmnist-mlp-s,...] [--rounds 5] [--warm 10]

import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeValidationSet } from '../src/core/validation-set.ts';
import { ZOO_DIR, readZooManifest } from '../src/zoo/manifest.ts';
import { percentile, printTable, registerZooModel, startServerProcess } from './lib/server-process.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const flag = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const ARCHS = flag('archs', 'fmnist-linear,fmnist-mlp-s,fmnist-mlp-l,fmnist-cnn-s,fmnist-cnn-m,fmnist-cnn-l').split(',');
const ROUNDS = Number(flag('rounds', '5'));
const WARM = Number(flag('warm', '10'));
const GRID = { threads: [1], maxBatch: [1, 8], optLevels: ['all'], runs: 20, warmup: 3 };

const uc = readZooManifest().useCases.find((u) => u.dataset === 'fashion-mnist')!;
const sample = decodeValidationSet(readFileSync(join(ZOO_DIR, uc.validation))).inputs.slice(0, 784);
const body = Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength);

interface Reply {
  coldStart: boolean;
  predictedMs: number;
  timing: { totalMs: number; loadMs: number };
}

async function query(url: string, variant: string): Promise<{ reply: Reply; clientMs: number }> {
  const t = performance.now();
  const r = await fetch(`${url}/v1/infer?variant=${variant}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
  const reply = (await r.json()) as Reply;
  const clientMs = performance.now() - t;
  if (r.status !== 200) throw new Error(`${variant}: ${r.status} ${JSON.stringify(reply)}`);
  return { reply, clientMs };
}

const median = (xs: number[]) => (xs.length ? percentile(xs, 50) : NaN);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'infaas-pvo-'));
  writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify({ profiling: GRID, autoscaling: { policy: 'off', maxWorkers: 1 } }));
  const server = await startServerProcess({ dataDir });
  try {
    const variants: string[] = [];
    for (const a of ARCHS) {
      const reg = await registerZooModel(server.url, a);
      variants.push(...(reg.variants as Array<{ name: string }>).map((v) => v.name));
    }
    console.log(`registered ${ARCHS.join(', ')}: ${variants.length} variants; ${ROUNDS} rounds of (unload, 1 cold query, ${WARM} warm queries) each, in order`);
    const rows: Array<Record<string, string | number>> = [];
    const all = { warm: [] as number[], cold: [] as number[], first: [] as number[] };
    for (const v of variants) {
      const warm: Array<{ p: number; s: number; c: number }> = [];
      const cold: Array<{ p: number; s: number; c: number }> = [];
      for (let round = 0; round < ROUNDS; round++) {
        await fetch(`${server.url}/v1/variants/${v}/unload`, { method: 'POST' });
        const c = await query(server.url, v);
        if (!c.reply.coldStart) throw new Error(`${v}: expected a cold start`);
        cold.push({ p: c.reply.predictedMs, s: c.reply.timing.totalMs, c: c.clientMs });
        for (let i = 0; i < WARM; i++) {
          const w = await query(server.url, v);
          warm.push({ p: w.reply.predictedMs, s: w.reply.timing.totalMs, c: w.clientMs });
        }
      }
      const ratio = (xs: typeof warm, k: 's' | 'c') => median(xs.map((x) => x[k] / x.p));
      all.warm.push(ratio(warm, 's'));
      all.cold.push(ratio(cold.slice(1), 's'));
      all.first.push(cold[0].s / cold[0].p);
      rows.push({
        variant: v,
        'warm predicted ms': median(warm.map((x) => x.p)),
        'warm observed ms': median(warm.map((x) => x.s)),
        'warm ratio': ratio(warm, 's'),
        'warm ratio (client)': ratio(warm, 'c'),
        'cold predicted ms': median(cold.slice(1).map((x) => x.p)),
        'cold observed ms': median(cold.slice(1).map((x) => x.s)),
        'cold ratio': ratio(cold.slice(1), 's'),
        'cold ratio (client)': ratio(cold.slice(1), 'c'),
        'first cold: pred/obs ms': `${cold[0].p.toFixed(1)}/${cold[0].s.toFixed(1)}`,
      });
      console.log(`${v}: ${JSON.stringify(rows[rows.length - 1])}`);
    }
    console.log('\nObserved / predicted, per variant: medians (warm: all warm queries; cold: cold starts after the first, which is');
    console.log('shown apart: a worker\'s first load of the file, predicted before anything of that variant was measured)\n');
    printTable(rows);
    const inRange = (xs: number[]) => xs.filter((x) => x >= 0.8 && x <= 1.25).length;
    console.log(`\nmedian ratio within 0.8-1.25: warm ${inRange(all.warm)}/${all.warm.length} variants, cold ${inRange(all.cold)}/${all.cold.length}; first cold starts: ${inRange(all.first)}/${all.first.length} (median ${median(all.first).toFixed(2)})`);
    const st = (await (await fetch(`${server.url}/v1/workers`)).json()) as { workers: Array<{ replicas: Array<{ variant: string; estimate?: unknown }> }> };
    console.log('\nWhat the worker shows of its corrections (GET /v1/workers, replicas[].estimate), for the variants it still holds:');
    for (const w of st.workers) for (const r of w.replicas) console.log(`  ${r.variant}: ${JSON.stringify(r.estimate)}`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
