// Cost of the ONNX Runtime model check on registrations with a precomputed profile: registrations per second
// through the Registry (in-memory store, local repository in a temp dir), with the real check (a child process
// loading and running each model once at batch 1 and 2) and with a no-op check, alternating, plus the first
// check's latency (child start included). Usage: npx tsx bench/model-check.ts [--n 200] [--concurrency 8]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from '../src/controller/registry.ts';
import { MemoryStore } from '../src/metadata/memory/memory-store.ts';
import { LocalRepository } from '../src/repository/local/local-repository.ts';
import { ModelChecker } from '../src/profiler/model-check.ts';
import { variantsFromProfileFile } from '../src/profiler/precomputed.ts';
import { buildTinyModel } from '../src/profiler/test-fixtures.ts';
import { ZOO_DIR } from '../src/zoo/manifest.ts';
import { printTable } from './lib/server-process.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '8' } } });
const N = Number(values.n);
const CONCURRENCY = Number(values.concurrency);
const workerClasses = [{ name: 'cpu-1', threads: 1, memoryMB: 1024, pricePerHour: 0.048 }];
const profile = { accuracy: 80, variants: [{ config: { threads: 1, maxBatch: 8, optLevel: 'all' }, profile: { loadMs: 3, latency: [{ batch: 1, p50: 0.1, p95: 0.2 }, { batch: 8, p50: 0.5, p95: 0.6 }], memoryMB: 2 } }] };
const models: Array<[string, Uint8Array]> = [
  ['tiny linear (test fixture)', buildTinyModel().bytes],
  ['fmnist-cnn-m', new Uint8Array(readFileSync(join(ZOO_DIR, 'fashion-mnist', 'fmnist-cnn-m.fp32.onnx')))],
];

async function run(model: Uint8Array, check: boolean): Promise<{ perS: number; firstMs?: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-bench-check-'));
  const checker = new ModelChecker();
  try {
    let firstMs: number | undefined;
    if (check) {
      const t = performance.now();
      await checker.check({ model, inputShape: [1, 28, 28] });
      firstMs = performance.now() - t;
    }
    const registry = new Registry({
      store: new MemoryStore(), repo: new LocalRepository(dir), onChange: () => undefined,
      precomputed: (json, ctx) => variantsFromProfileFile(json, { ...ctx, workerClasses }),
      profiler: { profile: () => Promise.reject(new Error('not profiled here')), check: check ? (job) => checker.check(job) : () => Promise.resolve() },
    });
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) await registry.register({ task: 'classification', dataset: 'bench', arch: `m${next++}`, model, profile });
    }));
    return { perS: N / ((performance.now() - t0) / 1000), firstMs };
  } finally {
    await checker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Array<Record<string, string>> = [];
for (const [name, model] of models) {
  const off = await run(model, false);
  const on = await run(model, true);
  rows.push({
    model: `${name}, ${(model.byteLength / 1024).toFixed(0)} KiB`, 'no check (reg/s)': off.perS.toFixed(1),
    'ORT check (reg/s)': on.perS.toFixed(1), 'first check, child start included (ms)': on.firstMs!.toFixed(0),
  });
}
console.log(`${N} registrations with a profile file, ${CONCURRENCY} at a time`);
printTable(rows);
