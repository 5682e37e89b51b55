// Overload and admission control (issue 11): a real `infaas serve` (default settings: one cpu-2 worker) with one
// architecture registered. Architecture queries load the variant selection picks; the capacity of that loaded
// replica is measured first (closed loop, exact-variant queries of it, so that no SLO refuses any), then
// open-loop Poisson architecture queries at 1x, 2x and 3x that capacity. The load generator runs in its own process (pinned with taskset to the last core
// where available). Per level: throughput, the share of successes that reached the client after their SLO (timed
// from the moment the request was written, so the generator's own lag does not count), rejections by reason, the
// p99 of the control endpoints (GET /v1/health and /v1/workers, polled by this process during the load), and the
// RSS of the server and its workers before, during (peak) and after.
//
// The share of late successes is given three ways: as the client saw them (from the write), as the server timed
// them (its timing.totalMs), and the generator's own event-loop delay, which a reply read late adds to the first.
//
// Usage: npx tsx bench/overload.ts [--seconds 20] [--arch fmnist-cnn-m] [--slo 50] [--levels 1,2,3]
//          [--capacity-clients 64] [--max-sockets 1024] [--grid default|small] [--nice N]
// --nice N runs the server, its workers and the generator at niceness N (e.g. -10: ahead of other jobs on a
// shared machine; root only).

import { spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runLoad } from '../src/loadgen/open-loop.ts';
import { inferPath, zooSamples, type QuerySelection } from '../src/loadgen/query-mix.ts';
import type { LoadReport } from '../src/loadgen/report.ts';
import { getTrace } from '../src/sim/traces.ts';
import { percentile, printTable, registerZooModel, startServerProcess } from './lib/server-process.ts';

const flag = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const SECONDS = Number(flag('seconds', '20'));
const ARCH = flag('arch', 'fmnist-cnn-m');
const SLO = Number(flag('slo', '50'));
const LEVELS = flag('levels', '1,2,3').split(',').map(Number);
const CAPACITY_CLIENTS = Number(flag('capacity-clients', '64'));
const MAX_SOCKETS = Number(flag('max-sockets', '1024'));
const NICE = process.argv.includes('--nice') ? Number(flag('nice', '0')) : undefined;
const SELECTION: QuerySelection = { level: 'arch', arch: ARCH, latencyMs: SLO };

interface ClosedResult {
  ok: number;
  seconds: number;
  codes: Record<string, number>;
}

/**
 * Child mode: `--child URL open RATE SECONDS` or `--child URL closed CLIENTS SECONDS [VARIANT]` (architecture
 * queries, or exact-variant ones of VARIANT); prints one JSON line.
 */
async function child(url: string, mode: string, a: number, seconds: number, variant?: string): Promise<void> {
  const samples = zooSamples('fashion-mnist', 256);
  if (mode === 'open') {
    const { report } = await runLoad({
      server: url, trace: getTrace('steady-high', { durationS: seconds, peakQps: a }), selection: SELECTION, samples, seed: 11,
      maxSockets: MAX_SOCKETS, maxRequests: 1_000_000, requestTimeoutMs: 10_000,
    });
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  // Closed loop: `a` clients, each sending the next request when the last is answered.
  const agent = new Agent({ keepAlive: true, maxSockets: a });
  const path = inferPath(variant ? { level: 'variant', variant, latencyMs: SLO } : SELECTION);
  const codes: Record<string, number> = {};
  let ok = 0;
  const until = performance.now() + seconds * 1000;
  const one = (body: Buffer) =>
    new Promise<number>((resolve) => {
      const req = request(`${url}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: a }, async (_, c) => {
    for (let i = c; performance.now() < until; i += a) {
      const status = await one(samples.bodies[i % samples.bodies.length]);
      if (status === 200) ok++;
      else codes[status] = (codes[status] ?? 0) + 1;
    }
  }));
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ ok, seconds: (performance.now() - t0) / 1000, codes } satisfies ClosedResult)}\n`);
}

/** Runs this file as a child process on its own core where taskset exists; resolves with its JSON line. */
function runChild<T>(url: string, mode: string, a: number, seconds: number, variant?: string): Promise<T> {
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--child', url, mode, String(a), String(seconds), ...(variant ? [variant] : []), '--arch', ARCH, '--slo', String(SLO), '--max-sockets', String(MAX_SOCKETS)];
  const core = cpus().length - 1;
  const taskset = core > 0 && spawnSync('taskset', ['--version']).status === 0;
  const cmd = [...(NICE !== undefined ? ['nice', '-n', String(NICE)] : []), ...(taskset ? ['taskset', '-c', String(core)] : []), process.execPath, ...args];
  const p = spawn(cmd[0], cmd.slice(1));
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}

/** RSS (MiB) of a process, NaN when gone. */
function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function workerPids(url: string): Promise<number[]> {
  const j = (await (await fetch(`${url}/v1/workers`)).json()) as { workers: Array<{ pid?: number }> };
  return j.workers.map((w) => w.pid).filter((p): p is number => typeof p === 'number');
}

/** Polls the control endpoints and samples RSS until stop(); returns their latencies and the peak RSS. */
function probe(url: string, serverPid: number, pids: () => number[]): { stop(): Promise<{ health: number[]; workers: number[]; failed: number; serverMB: number; workersMB: number }> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const health: number[] = [];
  const workers: number[] = [];
  let failed = 0;
  let serverMB = 0;
  let workersMB = 0;
  let stopped = false;
  const get = (path: string) =>
    new Promise<number>((resolve) => {
      const t = performance.now();
      const req = request(`${url}${path}`, { agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t : -1));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(-1));
      req.end();
    });
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const path = i % 2 ? '/v1/workers' : '/v1/health';
      const ms = await get(path);
      if (ms < 0) failed++;
      else (i % 2 ? workers : health).push(ms);
      serverMB = Math.max(serverMB, rssMB(serverPid));
      workersMB = Math.max(workersMB, pids().reduce((s, p) => s + (rssMB(p) || 0), 0));
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      agent.destroy();
      return { health, workers, failed, serverMB, workersMB };
    },
  };
}

async function main(): Promise<void> {
  const grid = flag('grid', 'default');
  const server = await startServerProcess(grid === 'small' ? { profiling: { threads: [1, 2], maxBatch: [1, 8, 32], optLevels: ['all'], runs: 20, warmup: 3 } } : {});
  try {
    const t = performance.now();
    await registerZooModel(server.url, ARCH);
    console.log(`registered ${ARCH} (profiled in ${((performance.now() - t) / 1000).toFixed(1)} s); server ${server.url}, pid ${server.child.pid}`);
    // Warm up: the first queries load the variant selection picks.
    const warm = await runChild<ClosedResult>(server.url, 'closed', 4, 2);
    const w0 = (await (await fetch(`${server.url}/v1/workers`)).json()) as { workers: Array<{ id: string; replicas: Array<{ variant: string; state: string }> }> };
    console.log(`warm-up: ${warm.ok} architecture queries answered; loaded: ${w0.workers.map((w) => `${w.id}: ${w.replicas.map((r) => `${r.variant} (${r.state})`).join(', ')}`).join('; ')}`);
    if (NICE !== undefined) {
      const all = [server.child.pid!, ...(await workerPids(server.url))];
      spawnSync('renice', ['-n', String(NICE), '-p', ...all.map(String)]);
      console.log(`niceness ${NICE} for the server and workers (pids ${all.join(', ')}) and the load generator`);
    }
    const loaded = w0.workers.flatMap((w) => w.replicas.map((r) => r.variant));
    if (loaded.length !== 1) throw new Error(`expected one loaded replica, found ${loaded.join(', ') || 'none'}`);
    const capacity = await runChild<ClosedResult>(server.url, 'closed', CAPACITY_CLIENTS, 5, loaded[0]);
    const capQps = capacity.ok / capacity.seconds;
    console.log(`capacity: ${capQps.toFixed(0)} successes/s of ${loaded[0]} with ${CAPACITY_CLIENTS} closed-loop clients for ${capacity.seconds.toFixed(1)} s (other replies: ${JSON.stringify(capacity.codes)})`);
    let pids = await workerPids(server.url);
    const rows: Array<Record<string, string | number>> = [];
    const rejections: Array<Record<string, string | number>> = [];
    for (const level of LEVELS) {
      pids = await workerPids(server.url).catch(() => pids);
      const before = { server: rssMB(server.child.pid!), workers: pids.reduce((s, p) => s + rssMB(p), 0) };
      const watch = probe(server.url, server.child.pid!, () => pids);
      const report = await runChild<LoadReport>(server.url, 'open', level * capQps, SECONDS);
      const seen = await watch.stop();
      await new Promise((r) => setTimeout(r, 3000));
      pids = await workerPids(server.url).catch(() => pids);
      const after = { server: rssMB(server.child.pid!), workers: pids.reduce((s, p) => s + rssMB(p), 0) };
      const control = [...seen.health, ...seen.workers];
      rows.push({
        load: `${level}x (${(level * capQps).toFixed(0)}/s)`,
        sent: report.requests,
        'ok/s': report.achievedQps,
        'ok late % (client)': report.sinceWrite.lateShare * 100,
        'ok late % (server)': report.serverLate.lateShare * 100,
        'ok p50 ms': report.sinceWrite.p50 ?? '-',
        'ok p99 ms': report.sinceWrite.p99 ?? '-',
        refused: report.requests - report.ok,
        'control p99 ms': percentile(control, 99),
        'control max ms': Math.max(...control),
        'server MiB before/peak/after': `${before.server.toFixed(0)}/${seen.serverMB.toFixed(0)}/${after.server.toFixed(0)}`,
        'workers MiB before/peak/after': `${before.workers.toFixed(0)}/${seen.workersMB.toFixed(0)}/${after.workers.toFixed(0)}`,
      });
      rejections.push({
        load: `${level}x`, ...report.errors, 'generator loop delay p99/max ms': `${report.generatorLag?.p99.toFixed(1)}/${report.generatorLag?.max.toFixed(1)}`,
        'send lag p99 ms': report.sendLag.p99, 'control probes failed': seen.failed,
      });
      console.log(`${level}x done: ${JSON.stringify(rows[rows.length - 1])}`);
    }
    console.log(`\nOverload: ${ARCH}, architecture queries, batch 1, SLO ${SLO} ms, open-loop Poisson for ${SECONDS} s per level; capacity ${capQps.toFixed(0)}/s measured first\n`);
    printTable(rows);
    console.log('\nReplies other than 200, by status and code\n');
    const keys = [...new Set(rejections.flatMap((r) => Object.keys(r)))];
    printTable(rejections.map((r) => Object.fromEntries(keys.map((k) => [k, r[k] ?? 0]))));
  } finally {
    await server.stop();
  }
}

const ci = process.argv.indexOf('--child');
if (ci >= 0) await child(process.argv[ci + 1], process.argv[ci + 2], Number(process.argv[ci + 3]), Number(process.argv[ci + 4]), process.argv[ci + 5]?.startsWith('--') ? undefined : process.argv[ci + 5]);
else await main();
