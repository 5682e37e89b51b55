// Serving overhead: one client, sequential, batch 1, the mid-size CNN. End-to-end p50 over REST on loopback
// (server in its own process, worker in another) divided by raw `session.run` p50 of the same ONNX file,
// measured in this same run. Usage: npx tsx bench/overhead.ts [--n 2000] [--arch fmnist-cnn-m]

import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { ZOO_DIR } from '../src/zoo/manifest.ts';
import { decodeValidationSet } from '../src/core/validation-set.ts';
import { readFileSync } from 'node:fs';
import { percentile, printTable, registerZooModel, startServerProcess } from './lib/server-process.ts';

const N = Number(process.argv[process.argv.indexOf('--n') + 1]) || 2000;
const ARCH = process.argv.includes('--arch') ? process.argv[process.argv.indexOf('--arch') + 1] : 'fmnist-cnn-m';
const FILE = join(ZOO_DIR, 'fashion-mnist', `${ARCH}.fp32.onnx`);
const VARIANT = `${ARCH}.fp32.t1.b1.all`;

const val = decodeValidationSet(readFileSync(join(ZOO_DIR, 'fashion-mnist', 'validation.valset')));
const sample = val.inputs.slice(0, 784);

/** Raw runs; with `gapMs`, the process idles that long before each run, as a worker does between requests. */
async function rawRun(n: number, gapMs = 0): Promise<number[]> {
  const session = await ort.InferenceSession.create(FILE, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', sample, [1, 1, 28, 28]) };
  for (let i = 0; i < 50; i++) await session.run(feeds);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
    const t = performance.now();
    await session.run(feeds);
    out.push(performance.now() - t);
  }
  await session.release();
  return out;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

interface Timing {
  totalMs: number;
  inferenceMs: number;
}

function call(url: string, body: Buffer | undefined, contentType: string): Promise<{ timing?: Timing }> {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'content-type': contentType, 'content-length': body.length } : {};
    const req = request(url, { method: body ? 'POST' : 'GET', agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sequential requests; returns client-side latency and the server's own timing of each. */
async function e2e(url: string, body: Buffer | undefined, contentType: string, n: number, timings: Timing[] = []): Promise<number[]> {
  for (let i = 0; i < 100; i++) await call(url, body, contentType);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const reply = await call(url, body, contentType);
    out.push(performance.now() - t);
    if (reply.timing) timings.push(reply.timing);
  }
  return out;
}

const server = await startServerProcess({ profiling: { threads: [1], maxBatch: [1], optLevels: ['all'], runs: 10, warmup: 2 } });
try {
  await registerZooModel(server.url, ARCH);
  const rawBody = Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength);
  const jsonBody = Buffer.from(JSON.stringify({ variant: VARIANT, inputs: [Array.from(sample)] }));
  // Interleave rounds so drift on this shared machine hits both sides alike.
  const raw: number[] = [];
  const rawIdle: number[] = [];
  const health: number[] = [];
  const restRaw: number[] = [];
  const restJson: number[] = [];
  const timings: Timing[] = [];
  for (let round = 0; round < 4; round++) {
    raw.push(...(await rawRun(N / 4)));
    rawIdle.push(...(await rawRun(N / 8, 1)));
    health.push(...(await e2e(`${server.url}/v1/health`, undefined, '', N / 4)));
    restRaw.push(...(await e2e(`${server.url}/v1/infer?variant=${VARIANT}`, rawBody, 'application/octet-stream', N / 4, timings)));
    restJson.push(...(await e2e(`${server.url}/v1/infer`, jsonBody, 'application/json', N / 4)));
  }
  const base = percentile(raw, 50);
  const row = (name: string, xs: number[]) => ({ path: name, p50_ms: percentile(xs, 50), p95_ms: percentile(xs, 95), p99_ms: percentile(xs, 99), ratio_p50_vs_raw: percentile(xs, 50) / base });
  console.log(`\nServing overhead, ${ARCH} batch 1, ${N} sequential requests each (1 intra-op thread)\n`);
  printTable([
    row('raw session.run, back to back (baseline)', raw),
    row('REST, raw float32 body', restRaw),
    row('REST, JSON body', restJson),
  ]);
  console.log('\nWhere the time goes (p50s; the rows below are parts, not extra paths)\n');
  printTable([
    row('raw session.run after 1 ms idle', rawIdle),
    row('worker: session.run as timed in the worker', timings.map((t) => t.inferenceMs)),
    row('controller: request in to reply out', timings.map((t) => t.totalMs)),
    row('HTTP round trip with no inference (GET /v1/health)', health),
  ]);
} finally {
  await server.stop();
}
