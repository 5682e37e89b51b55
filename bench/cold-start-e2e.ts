// Cold start end to end: the first query to an unloaded variant (REST on loopback → controller → worker loads
// the ONNX file → runs it) divided by raw ONNX Runtime session creation + first run of the same file in a fresh
// process, both measured in this run. Usage: npx tsx bench/cold-start-e2e.ts [--n 10]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ZOO_DIR } from '../src/zoo/manifest.ts';
import { decodeValidationSet } from '../src/core/validation-set.ts';
import * as ort from 'onnxruntime-node';
import { measureRawColdStart } from './cold-start.ts';
import { percentile, printTable, registerZooModel, startServerProcess } from './lib/server-process.ts';

const N = Number(process.argv[process.argv.indexOf('--n') + 1]) || 10;
const ARCH = 'fmnist-cnn-m';
const FILE = join(ZOO_DIR, 'fashion-mnist', `${ARCH}.fp32.onnx`);
const VARIANT = `${ARCH}.fp32.t1.b1.all`;
const sample = decodeValidationSet(readFileSync(join(ZOO_DIR, 'fashion-mnist', 'validation.valset'))).inputs.slice(0, 784);
const body = Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength);

async function query(url: string): Promise<{ ms: number; json: any }> {
  const t = performance.now();
  const r = await fetch(`${url}/v1/infer?variant=${VARIANT}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
  const json = await r.json();
  if (r.status !== 200) throw new Error(JSON.stringify(json));
  return { ms: performance.now() - t, json };
}

const raw = await measureRawColdStart(FILE, N);

/** Session create + first run in a process whose ONNX Runtime is already initialised (as a worker's is). */
async function rawWarmEnvLoad(n: number): Promise<number[]> {
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const, executionMode: 'sequential' as const };
  const warmup = await ort.InferenceSession.create(FILE, opts);
  await warmup.release();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const s = await ort.InferenceSession.create(FILE, opts);
    await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', sample, [1, 1, 28, 28]) });
    out.push(performance.now() - t);
    await s.release();
  }
  return out;
}
const rawWarm = await rawWarmEnvLoad(N);
const server = await startServerProcess({ profiling: { threads: [1], maxBatch: [1], optLevels: ['all'], runs: 10, warmup: 2 } });
try {
  await registerZooModel(server.url, ARCH);
  const cold: number[] = [];
  const coldLoad: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < N; i++) {
    await fetch(`${server.url}/v1/variants/${VARIANT}/unload`, { method: 'POST' });
    const c = await query(server.url);
    if (!c.json.coldStart) throw new Error('expected a cold start');
    cold.push(c.ms);
    coldLoad.push(c.json.timing.loadMs);
    warm.push((await query(server.url)).ms);
  }
  const base = raw.loadMs;
  const wbase = percentile(rawWarm, 50);
  const row = (what: string, ms: number) => ({ what, p50_ms: ms, vs_fresh_process: ms / base, vs_initialised_ort: ms / wbase });
  console.log(`\nCold start, ${ARCH} batch 1, ${N} rounds (unload, cold query, warm query)\n`);
  printTable([
    row('raw ORT create + first run (fresh process)', base),
    row('raw ORT create + first run (ORT already initialised)', percentile(rawWarm, 50)),
    row('cold query end to end (REST, load on worker)', percentile(cold, 50)),
    row('  of which load on the worker', percentile(coldLoad, 50)),
    row('warm query end to end', percentile(warm, 50)),
  ]);
} finally {
  await server.stop();
}
