// Cold-start baseline: raw ONNX Runtime session creation + first run of one ONNX file, each in a fresh Node process
// (no INFaaS code involved), p50 over n processes. The end-to-end cold-start bench (a query that has to load a
// variant on a worker) reuses `measureRawColdStart` as its denominator.
// Usage: npx tsx bench/cold-start.ts [--model PATH] [--n 10]

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RawColdStart {
  /** Processes measured. */
  n: number;
  /** p50s, milliseconds. */
  importMs: number;
  createMs: number;
  firstRunMs: number;
  /** createMs + firstRunMs of the same process, p50 over processes. */
  loadMs: number;
  /** Whole process, spawn to exit (Node start-up, import, load, exit). */
  processMs: number;
  samples: { importMs: number; createMs: number; firstRunMs: number; processMs: number }[];
}

// Runs in the fresh process: import ORT, create the session, run once on zeros (symbolic dims = 1), print JSON.
const CHILD = `
const t0 = performance.now();
const ort = await import(process.env.ORT_URL);
const t1 = performance.now();
const s = await ort.InferenceSession.create(process.env.MODEL_PATH, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
const t2 = performance.now();
const dims = s.inputMetadata[0].shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims) });
const t3 = performance.now();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, createMs: t2 - t1, firstRunMs: t3 - t2 }));
`;

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function once(path: string): Promise<RawColdStart['samples'][number]> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, ORT_URL: import.meta.resolve('onnxruntime-node'), MODEL_PATH: path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const processMs = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) return reject(new Error(`cold-start process failed (exit ${code}): ${err.trim()}`));
      resolve({ ...(JSON.parse(out) as { importMs: number; createMs: number; firstRunMs: number }), processMs });
    });
  });
}

/** Measures raw ORT cold start of `path` in `n` fresh processes, one after the other. */
export async function measureRawColdStart(path: string, n = 10): Promise<RawColdStart> {
  if (!existsSync(path)) throw new Error(`no model at ${path}`);
  const samples: RawColdStart['samples'] = [];
  for (let i = 0; i < n; i++) samples.push(await once(path));
  return {
    n,
    importMs: p50(samples.map((s) => s.importMs)),
    createMs: p50(samples.map((s) => s.createMs)),
    firstRunMs: p50(samples.map((s) => s.firstRunMs)),
    loadMs: p50(samples.map((s) => s.createMs + s.firstRunMs)),
    processMs: p50(samples.map((s) => s.processMs)),
    samples,
  };
}

function printTable(rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(2) : c)));
  const w = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  for (const r of cells) console.log(r.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  '));
}

async function main(): Promise<void> {
  const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
  const n = Number(arg('--n') ?? 10);
  let model = arg('--model') ?? fileURLToPath(new URL('../zoo/fashion-mnist/fmnist-cnn-m.fp32.onnx', import.meta.url));
  let tmp: string | undefined;
  if (!existsSync(model) && !arg('--model')) {
    const { buildTinyModel } = await import('../src/profiler/test-fixtures.ts');
    tmp = mkdtempSync(join(tmpdir(), 'infaas-cold-'));
    model = join(tmp, 'tiny.fp32.onnx');
    writeFileSync(model, buildTinyModel().bytes);
    console.log(`(zoo model missing, run \`npm run zoo\`; measuring the tiny test model instead)`);
  }
  try {
    const r = await measureRawColdStart(model, n);
    console.log(`raw ONNX Runtime cold start, ${r.n} fresh processes, p50 ms: ${model}`);
    printTable([
      ['stage', 'p50 ms', 'share of process'],
      ['import onnxruntime-node', r.importMs, `${((r.importMs / r.processMs) * 100).toFixed(0)}%`],
      ['session create', r.createMs, `${((r.createMs / r.processMs) * 100).toFixed(0)}%`],
      ['first run', r.firstRunMs, `${((r.firstRunMs / r.processMs) * 100).toFixed(0)}%`],
      ['create + first run', r.loadMs, `${((r.loadMs / r.processMs) * 100).toFixed(0)}%`],
      ['whole process', r.processMs, '100%'],
    ]);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
