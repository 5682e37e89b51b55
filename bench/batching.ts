// Dynamic batching, live: 40 closed-loop clients (keep-alive HTTP) send single-sample queries for the mid-size
// CNN through the real REST server (its own process, worker in another). Throughput with dynamic batching is
// divided by raw ONNX Runtime throughput at its best batch size, same ONNX file and intra-op threads, measured
// in this same run (goal: >= 0.8). Rows also show the same load on a batch-1 variant (no merging possible) and
// with a latency SLO (deadlines: early DEADLINE_EXCEEDED rejections count as errors).
// Usage: npx tsx bench/batching.ts [--seconds 8] [--clients 40] [--threads 1]

import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { ZOO_DIR } from '../src/zoo/manifest.ts';
import { decodeValidationSet } from '../src/core/validation-set.ts';
import type { Variant } from '../src/core/types.ts';
import { OrtNativeBackend } from '../src/backend/ort-native/ort-backend.ts';
import { ReplicaManager } from '../src/worker/replica-manager.ts';
import { percentile, printTable, registerZooModel, startServerProcess } from './lib/server-process.ts';

const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
const SECONDS = arg('--seconds', 8);
const CLIENTS = arg('--clients', 40);
const THREADS = arg('--threads', 1);
const ARCH = 'fmnist-cnn-m';
const FILE = join(ZOO_DIR, 'fashion-mnist', `${ARCH}.fp32.onnx`);
const V32 = `${ARCH}.fp32.t${THREADS}.b32.all`;
const V1 = `${ARCH}.fp32.t${THREADS}.b1.all`;
const SAMPLE = 784;

const val = decodeValidationSet(readFileSync(join(ZOO_DIR, 'fashion-mnist', 'validation.valset')));

/** Raw session.run throughput (samples/s) at each batch size, each run back to back for `ms`. */
async function rawThroughput(batches: number[], ms: number): Promise<Map<number, number>> {
  const session = await ort.InferenceSession.create(FILE, { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const out = new Map<number, number>();
  for (const b of batches) {
    const data = new Float32Array(b * SAMPLE);
    for (let i = 0; i < b; i++) data.set(val.inputs.subarray((i % val.count) * SAMPLE, (i % val.count + 1) * SAMPLE), i * SAMPLE);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [b, 1, 28, 28]) };
    for (let i = 0; i < 5; i++) await session.run(feeds);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      await session.run(feeds);
      n += b;
    }
    out.set(b, (n * 1000) / (performance.now() - t0));
  }
  await session.release();
  return out;
}

/** The same closed loop straight on a ReplicaManager in this process (no HTTP, no transport): the batcher's own cost. */
async function inProcess(variant: Variant, clients: number, seconds: number): Promise<LoadResult> {
  const rm = new ReplicaManager({ id: 'bench', workerClass: 'cpu', classThreads: THREADS, memoryBudgetMB: 4096, backend: new OrtNativeBackend(), resolvePath: async () => FILE });
  const spec = { name: variant.name, artifactKey: 'x', threads: THREADS, optLevel: 'all' as const, maxBatch: variant.config.maxBatch, memoryMB: 1, latency: variant.profile.latency };
  await rm.load(spec);
  const latencies: number[] = [];
  const batchSamples: number[] = [];
  let stop = false;
  let measuring = false;
  let done = 0;
  const loop = async (c: number) => {
    const from = (c * 7) % val.count;
    const input = { shape: [1, 1, 28, 28], data: val.inputs.slice(from * SAMPLE, (from + 1) * SAMPLE) };
    while (!stop) {
      const t = performance.now();
      const r = await rm.infer(spec, input);
      if (!measuring) continue;
      latencies.push(performance.now() - t);
      batchSamples.push(r.batch?.samples ?? 1);
      done++;
    }
  };
  const loops = Array.from({ length: clients }, (_, c) => loop(c));
  await new Promise((r) => setTimeout(r, 300));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = performance.now() - t0;
  stop = true;
  await Promise.all(loops);
  await rm.close();
  return { throughput: (done * 1000) / elapsed, latencies, errors: new Map(), batchSamples, answered: done };
}

/** CPU time (user + system) of a process so far, ms, from /proc (Linux); 0 where unreadable. */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

interface Reply {
  mergedBatch?: { requests: number; samples: number };
}

interface LoadResult {
  throughput: number;
  latencies: number[];
  errors: Map<number, number>;
  batchSamples: number[];
  /** Every request answered, warm-up included. */
  answered: number;
}

/** `clients` closed loops posting one sample each to `path` for `seconds` (after a 0.5 s warm-up). */
async function closedLoop(url: string, path: string, clients: number, seconds: number, midway?: () => Promise<void>): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const post = (body: Buffer): Promise<{ status: number; reply?: Reply }> =>
    new Promise((resolve, reject) => {
      const req = request(`${url}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reply: res.statusCode === 200 ? (JSON.parse(text) as Reply) : undefined }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const latencies: number[] = [];
  const batchSamples: number[] = [];
  const errors = new Map<number, number>();
  let measuring = false;
  let stop = false;
  let done = 0;
  let answered = 0;
  const loop = async (c: number) => {
    const from = (c * 7) % val.count;
    const body = Buffer.from(val.inputs.buffer, val.inputs.byteOffset + from * SAMPLE * 4, SAMPLE * 4);
    while (!stop) {
      const t = performance.now();
      const r = await post(body);
      answered++;
      if (!measuring) continue;
      if (r.status === 200) {
        latencies.push(performance.now() - t);
        done++;
        if (r.reply?.mergedBatch) batchSamples.push(r.reply.mergedBatch.samples);
      } else errors.set(r.status, (errors.get(r.status) ?? 0) + 1);
    }
  };
  const loops = Array.from({ length: clients }, (_, c) => loop(c));
  await new Promise((r) => setTimeout(r, 500));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
  await midway?.();
  await new Promise((r) => setTimeout(r, Math.max(0, seconds * 1000 - (performance.now() - t0))));
  measuring = false;
  const elapsed = performance.now() - t0;
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  return { throughput: (done * 1000) / elapsed, latencies, errors, batchSamples, answered };
}

const server = await startServerProcess({ profiling: { threads: [THREADS], maxBatch: [1, 32], optLevels: ['all'], runs: 10, warmup: 2 } });
try {
  await registerZooModel(server.url, ARCH);
  const batches = [1, 2, 4, 8, 16, 32];
  // Rounds alternate raw and live measurement so drift on this shared machine hits every row alike.
  const ROUNDS = 3;
  const per = SECONDS / ROUNDS;
  const rawRounds: Array<Map<number, number>> = [];
  const rounds = { dyn: [] as LoadResult[], b1: [] as LoadResult[], slo: [] as LoadResult[], inProc: [] as LoadResult[] };
  const v32 = ((await (await fetch(`${server.url}/v1/variants/${V32}`)).json()) as { variant: Variant }).variant;
  let monitor: Record<string, number> | undefined;
  const snapshot = async () => {
    const ws = (await (await fetch(`${server.url}/v1/workers`)).json()) as { workers: Array<{ replicas: Array<{ variant: string; stats?: Record<string, number> }> }> };
    monitor = ws.workers.flatMap((w) => w.replicas).find((r) => r.variant === V32)?.stats;
  };
  const workerPid = ((await (await fetch(`${server.url}/v1/workers`)).json()) as { workers: Array<{ pid?: number }> }).workers[0]?.pid ?? 0;
  const cpu = { client: 0, controller: 0, worker: 0, requests: 0 };
  /** Runs the dynamic-batching load and charges the CPU each process spent to it. */
  const measuredDyn = async (midway?: () => Promise<void>) => {
    const c0 = process.cpuUsage();
    const [s0, w0] = [cpuMs(server.child.pid!), cpuMs(workerPid)];
    const r = await closedLoop(server.url, `/v1/infer?variant=${V32}`, CLIENTS, per, midway);
    const c1 = process.cpuUsage(c0);
    cpu.client += (c1.user + c1.system) / 1000;
    cpu.controller += cpuMs(server.child.pid!) - s0;
    cpu.worker += cpuMs(workerPid) - w0;
    cpu.requests += r.answered;
    return r;
  };
  for (let i = 0; i < ROUNDS; i++) {
    rawRounds.push(await rawThroughput(batches, 400));
    rounds.dyn.push(await measuredDyn(i === ROUNDS - 1 ? snapshot : undefined));
    rounds.b1.push(await closedLoop(server.url, `/v1/infer?variant=${V1}`, CLIENTS, per));
    rounds.slo.push(await closedLoop(server.url, `/v1/infer?arch=${ARCH}&latencyMs=100`, CLIENTS, per));
    rounds.inProc.push(await inProcess(v32, CLIENTS, per / 2));
  }
  rawRounds.push(await rawThroughput(batches, 400));
  const merge = (rs: LoadResult[]): LoadResult => ({
    throughput: rs.reduce((a, r) => a + r.throughput, 0) / rs.length,
    latencies: rs.flatMap((r) => r.latencies),
    batchSamples: rs.flatMap((r) => r.batchSamples),
    errors: new Map(rs.flatMap((r) => [...r.errors])),
    answered: rs.reduce((a, r) => a + r.answered, 0),
  });
  const [dyn, b1, slo, inProc] = [merge(rounds.dyn), merge(rounds.b1), merge(rounds.slo), merge(rounds.inProc)];

  const raw = batches.map((b) => ({ b, thr: rawRounds.reduce((a, m) => a + m.get(b)!, 0) / rawRounds.length }));
  const best = raw.reduce((a, x) => (x.thr > a.thr ? x : a));
  console.log(`\nRaw ONNX Runtime, ${ARCH}, ${THREADS} intra-op thread(s), in this process (mean of ${rawRounds.length} runs interleaved with the load)\n`);
  printTable(raw.map(({ b, thr }) => ({ batch: b, samples_per_s: Math.round(thr), vs_best: thr / best.thr })));

  const avg = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);
  const row = (name: string, r: LoadResult) => ({
    path: name,
    req_per_s: Math.round(r.throughput),
    vs_raw_best: r.throughput / best.thr,
    p50_ms: percentile(r.latencies, 50),
    p99_ms: percentile(r.latencies, 99),
    batch_per_request: avg(r.batchSamples),
    errors: [...r.errors].map(([s, n]) => `${n}x${s}`).join(' ') || '0',
  });
  console.log(`\n${CLIENTS} closed-loop clients over REST (raw float32 body, keep-alive), one sample per request, ${SECONDS} s; raw best: batch ${best.b}, ${Math.round(best.thr)} samples/s\n`);
  printTable([
    row(`dynamic batching (${V32})`, dyn),
    row(`no merging possible (${V1})`, b1),
    row(`arch + SLO 100 ms (deadlines)`, slo),
    row(`worker batcher alone, in process, no HTTP (${V32})`, inProc),
  ]);
  const st = monitor;
  if (st) console.log(`\nworker monitor for ${V32} (a window in the middle of the last round): ${JSON.stringify(Object.fromEntries(Object.entries(st).map(([k, v]) => [k, Math.round(v * 100) / 100])))}`);
  if (cpu.requests) {
    const perReq = (ms: number) => Math.round((ms * 1000) / cpu.requests);
    console.log(`\nCPU per request under dynamic batching (µs): client ${perReq(cpu.client)}, controller ${perReq(cpu.controller)}, worker ${perReq(cpu.worker)} (of which session runs ~${Math.round(1e6 / best.thr)} at the raw best)`);
  }
  console.log(`\ngoal: dynamic batching >= 0.8 x raw best -> ${(dyn.throughput / best.thr).toFixed(3)}`);
} finally {
  await server.stop();
}
