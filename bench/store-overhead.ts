// Query latency through a controller whose metadata store is Redis, divided by the same through a controller with
// the embedded store: both servers run at once as child processes (`infaas serve`), each with one local worker
// over loopback TCP, the same model and variant, rounds interleaved. Goal: p50 and p99 ratios at most 1.05 (no
// Redis round trip on the query path). Also the CPU time each controller and worker process spends per request
// (from /proc, so other jobs on a shared machine do not inflate it).
// Usage: npx tsx bench/store-overhead.ts [--n 4000] [--arch fmnist-cnn-m]

import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { cpuMs } from './lib/proc-cpu.ts';
import { ZOO_DIR } from '../src/zoo/manifest.ts';
import { decodeValidationSet } from '../src/core/validation-set.ts';
import { startRedis } from '../src/testing/redis-server.ts';
import { ClusterProcess } from '../src/testing/cluster.ts';
import { freePort, percentile, printTable, registerZooModel } from './lib/server-process.ts';

const arg = (name: string, dflt: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const N = Number(arg('--n', '4000'));
const ARCH = arg('--arch', 'fmnist-cnn-m');
const VARIANT = `${ARCH}.fp32.t1.b1.all`;
const CONCURRENT = 8;
const ROUNDS = 8;

const val = decodeValidationSet(readFileSync(join(ZOO_DIR, 'fashion-mnist', 'validation.valset')));
const body = Buffer.from(val.inputs.buffer, val.inputs.byteOffset, 784 * 4);
const localhost = { name: 'localhost', ip: '127.0.0.1', spawn };

async function serve(name: string, extra: string[]): Promise<{ url: string; proc: ClusterProcess; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), `infaas-bench-${name}-`));
  // The same profiling grid and worker transport for both: the store is the only difference.
  writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify({
    profiling: { threads: [1], maxBatch: [1], optLevels: ['all'], runs: 10, warmup: 2 },
    provisioner: { kind: 'local', localTransport: 'tcp' },
  }));
  const port = await freePort();
  const proc = new ClusterProcess(name, localhost, ['serve', '--port', String(port), '--data-dir', dataDir, ...extra]);
  await proc.printed(/INFaaS serving on/);
  return { url: `http://127.0.0.1:${port}`, proc, dataDir };
}

function call(agent: Agent, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `n` requests from `clients` closed-loop clients; each request's latency, ms. */
async function run(url: string, n: number, clients: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const target = `${url}/v1/infer?variant=${VARIANT}`;
  const out: number[] = [];
  let left = n;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (left-- > 0) {
      const t = performance.now();
      await call(agent, target);
      out.push(performance.now() - t);
    }
  }));
  agent.destroy();
  return out;
}

const redis = await startRedis();
const embedded = await serve('embedded', []);
const shared = await serve('redis', ['--metadata', `${redis.url}/0`]);
try {
  for (const s of [embedded, shared]) {
    await registerZooModel(s.url, ARCH);
    await run(s.url, 300, 1); // cold start and warm-up
  }
  const lat = { embedded: { seq: [] as number[], conc: [] as number[] }, redis: { seq: [] as number[], conc: [] as number[] } };
  const pids = async (s: { url: string; proc: ClusterProcess }) => [s.proc.child.pid!, ((await (await fetch(`${s.url}/v1/workers`)).json()) as any).workers[0].pid as number];
  const procs = { embedded: await pids(embedded), redis: await pids(shared) };
  const cpu0 = { embedded: procs.embedded.map(cpuMs), redis: procs.redis.map(cpuMs) };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first so drift on this shared machine hits both sides alike.
    const order = round % 2 ? (['redis', 'embedded'] as const) : (['embedded', 'redis'] as const);
    for (const which of order) {
      const url = which === 'redis' ? shared.url : embedded.url;
      lat[which].seq.push(...(await run(url, N / ROUNDS, 1)));
      lat[which].conc.push(...(await run(url, N / ROUNDS, CONCURRENT)));
    }
  }
  console.log(`\nQuery latency through a controller with the Redis store vs the embedded store: ${ARCH} batch 1 (${VARIANT}), ${N} requests per row, ${ROUNDS} interleaved rounds\n`);
  const rows = [];
  for (const [mode, label] of [['seq', '1 client, sequential'], ['conc', `${CONCURRENT} concurrent clients`]] as const) {
    const e = lat.embedded[mode];
    const r = lat.redis[mode];
    rows.push({ clients: label, store: 'embedded (baseline)', p50_ms: percentile(e, 50), p99_ms: percentile(e, 99), p50_ratio: 1, p99_ratio: 1 });
    rows.push({ clients: label, store: 'redis', p50_ms: percentile(r, 50), p99_ms: percentile(r, 99), p50_ratio: percentile(r, 50) / percentile(e, 50), p99_ratio: percentile(r, 99) / percentile(e, 99) });
  }
  printTable(rows);
  console.log('\nGoal: p50 and p99 ratios at most 1.05.');
  console.log(`\nCPU time per request over the whole run (${2 * N} requests per server), µs\n`);
  const cpuRow = (which: 'embedded' | 'redis') => {
    const [controller, worker] = procs[which].map((pid, i) => ((cpuMs(pid) - cpu0[which][i]) * 1000) / (2 * N));
    return { store: which, controller_us: controller, worker_us: worker };
  };
  const [e, r] = [cpuRow('embedded'), cpuRow('redis')];
  printTable([e, { ...r }, { store: 'redis / embedded', controller_us: r.controller_us / e.controller_us, worker_us: r.worker_us / e.worker_us }]);
} finally {
  await Promise.all([embedded.proc.stop(), shared.proc.stop()]);
  await redis.stop();
  for (const s of [embedded, shared]) rmSync(s.dataDir, { recursive: true, force: true });
}
