// Live trace replay vs the simulator (issue 3): the bursty trace sent open loop by the load generator to a real
// `infaas serve` with the fashion-mnist zoo registered, then the same trace, seed and query class simulated over
// the profiles that server measured (read back from its data dir). Prints SLO attainment, latency and cost side
// by side. Cost on both sides is worker-seconds × class price; the live side also shows the per-query cost. The
// simulator is given the serving overhead it does not model (HTTP, controller, transport), measured after the run.
//
// Run: node --import tsx bench/loadgen-vs-sim.ts [SECONDS=60] [PEAK_QPS=200] [TRACE=bursty] [AUTOSCALE=off|ours|infaas]
//        [--archs a,b,...] [--min-accuracy 75] [--latency-ms 50] [--worker-class cpu-2] [--max-workers 2] [--worker-start-ms 400]
// The live server starts one worker of --worker-class and may grow to --max-workers; the simulated policies get the
// same class, limit and worker start time (local worker processes start in ~0.4 s here, not a cloud VM's ~5 s).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../src/config/config.ts';
import { runLoad } from '../src/loadgen/open-loop.ts';
import { inferPath, zooSamples, type SamplePool } from '../src/loadgen/query-mix.ts';
import { infaasPolicy } from '../src/policy/policies/infaas.ts';
import { oursPolicy } from '../src/policy/policies/ours.ts';
import { staticPeakPolicy } from '../src/policy/policies/static-peak.ts';
import type { ScalingPolicy } from '../src/policy/scaling-policy.ts';
import { simulate } from '../src/sim/simulator.ts';
import { getTrace } from '../src/sim/traces.ts';
import { storedVariants } from '../src/sim/variant-source.ts';
import { printTable, registerZooModel, startServerProcess } from './lib/server-process.ts';

const SECONDS = Number(process.argv[2] ?? 60);
const PEAK = Number(process.argv[3] ?? 200);
const TRACE = process.argv[4] ?? 'bursty';
/** Live autoscaling policy of the server: off (fixed deployment), ours or infaas. */
const AUTOSCALE = process.argv[5] ?? 'off';
const flag = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const SEED = 1;
const money = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toPrecision(3));
const SELECTION = {
  level: 'usecase' as const, task: 'classification', dataset: 'fashion-mnist', minAccuracy: Number(flag('min-accuracy', '75')), latencyMs: Number(flag('latency-ms', '50')),
};
const ARCHS = flag('archs', 'fmnist-tiny,fmnist-linear,fmnist-mlp-s,fmnist-cnn-s,fmnist-cnn-m').split(',');
const WORKER_CLASS = flag('worker-class', 'cpu-2');
const MAX_WORKERS = Number(flag('max-workers', '2'));
const WORKER_START_MS = Number(flag('worker-start-ms', '400'));
// Variants only of thread counts the worker class has: selection does not yet know which classes run (with
// cpu-1 workers a 2-thread variant would be chosen live and oversubscribe its core, and never run simulated).
const GRID = { threads: WORKER_CLASS === 'cpu-1' ? [1] : [1, 2], maxBatch: [1, 8], optLevels: ['all'], runs: 20, warmup: 3 };
const erase = <S>(p: ScalingPolicy<S>) => p as unknown as ScalingPolicy<unknown>;
const SIM_POLICIES: Record<string, () => ScalingPolicy<unknown>> = {
  ours: () => erase(oursPolicy({ workerClass: WORKER_CLASS, maxWorkers: MAX_WORKERS })),
  infaas: () => erase(infaasPolicy(WORKER_CLASS, MAX_WORKERS)),
  'static-peak': () => erase(staticPeakPolicy(WORKER_CLASS)),
};


/**
 * The serving overhead the simulator does not model: median over sequential queries of the client's round trip
 * minus the worker's queue, load and inference time (the reply's timing), i.e. HTTP + controller + transport.
 */
async function measureOverheadMs(url: string, samples: SamplePool, n = 300): Promise<number> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch(`${url}${inferPath(SELECTION)}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(samples.bodies[i % samples.bodies.length]) });
    const j = (await r.json()) as { timing?: { queueMs: number; loadMs: number; inferenceMs: number } };
    const took = performance.now() - t;
    if (r.ok && j.timing && i >= n / 3) out.push(took - j.timing.queueMs - j.timing.loadMs - j.timing.inferenceMs);
  }
  return out.sort((a, b) => a - b)[Math.floor(out.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'infaas-lvs-'));
  writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify({
    profiling: GRID, initialWorkers: { workerClass: WORKER_CLASS, count: 1 }, autoscaling: { policy: AUTOSCALE, maxWorkers: MAX_WORKERS },
  }));
  const trace = getTrace(TRACE, { durationS: SECONDS, peakQps: PEAK });
  const server = await startServerProcess({ dataDir });
  let live;
  let overheadMs: number | undefined;
  try {
    for (const a of ARCHS) await registerZooModel(server.url, a);
    console.log(`registered ${ARCHS.join(', ')}; replaying ${TRACE} for ${SECONDS} s at up to ${PEAK} qps against ${server.url} (${WORKER_CLASS} workers, live autoscaling: ${AUTOSCALE}, at most ${MAX_WORKERS} workers)`);
    const prices = new Map(defaultConfig('').workerClasses.map((c) => [c.name, c.pricePerHour]));
    const samples = zooSamples('fashion-mnist');
    live = (await runLoad({ server: server.url, trace, selection: SELECTION, samples, seed: SEED, classPrices: prices })).report;
    const scaling = ((await (await fetch(`${server.url}/v1/workers`)).json()) as { autoscaling: { recent?: string[] } }).autoscaling;
    console.log(`live autoscaler's last actions: ${(scaling.recent ?? []).slice(-12).join('; ') || 'none'}`);
    // After the trace, so that these queries do not warm up or pre-provision the live run.
    overheadMs = await measureOverheadMs(server.url, samples);
    console.log(`serving overhead outside the worker (median of sequential queries): ${overheadMs.toFixed(2)} ms`);
  } finally {
    await server.stop();
  }
  const extraMs = overheadMs ?? 0;
  try {
    const variants = await storedVariants(dataDir, 1);
    const mix = [{ name: 'live', weight: 1, useCase: 'classification/fashion-mnist', minAccuracy: SELECTION.minAccuracy, latencyMs: SELECTION.latencyMs }];
    const rows: Array<Record<string, string | number>> = [{
      run: 'live (loadgen)', queries: live.requests, 'SLO attainment %': live.sloAttainment * 100, 'p50 ms': live.latency.p50, 'p95 ms': live.latency.p95, 'p99 ms': live.latency.p99,
      'errors': live.requests - live.ok, 'workers (max)': live.maxWorkers ?? '-', 'cost $ (workers)': money(live.workerCost), 'cost $ (per query)': money(live.queryCost),
    }];
    for (const [p, policy] of Object.entries(SIM_POLICIES)) {
      const m = simulate({ trace, policy: policy(), variants, mix, seed: SEED, warmupS: 0, workerStartMs: WORKER_START_MS, maxWorkers: MAX_WORKERS, requestOverheadMs: extraMs }).metrics;
      rows.push({
        run: `simulated (${p}, +${extraMs.toFixed(2)} ms)`, queries: m.queries, 'SLO attainment %': (1 - m.violationRate) * 100, 'p50 ms': m.p50Ms, 'p95 ms': m.p95Ms, 'p99 ms': m.p99Ms,
        'errors': m.rejected, 'workers (max)': m.maxWorkers, 'cost $ (workers)': money(m.cost), 'cost $ (per query)': '-',
      });
    }
    console.log(`\n${TRACE}, ${SECONDS} s, peak ${PEAK} qps, use case fashion-mnist ≥ ${SELECTION.minAccuracy}% within ${SELECTION.latencyMs} ms, seed ${SEED}`);
    printTable(rows);
    console.log('\nlive served:', JSON.stringify(live.variants), 'errors:', JSON.stringify(live.errors));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
