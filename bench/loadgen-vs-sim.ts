// Live trace replay vs the simulator (issue 3): the bursty trace sent open loop by the load generator to a real
// `infaas serve` with the fashion-mnist zoo registered, then the same trace, seed and query class simulated over
// the profiles that server measured (read back from its data dir). Prints SLO attainment, latency and cost side
// by side. Cost on both sides is worker-seconds × class price; the live side also shows the per-query cost.
//
// Run: node --import tsx bench/loadgen-vs-sim.ts [SECONDS=60] [PEAK_QPS=200] [TRACE=bursty] [AUTOSCALE=off|ours|infaas]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../src/config/config.ts';
import { runLoad } from '../src/loadgen/open-loop.ts';
import { zooSamples } from '../src/loadgen/query-mix.ts';
import { getPolicy } from '../src/policy/policies/index.ts';
import { simulate } from '../src/sim/simulator.ts';
import { getTrace } from '../src/sim/traces.ts';
import { storedVariants } from '../src/sim/variant-source.ts';
import { printTable, registerZooModel, startServerProcess } from './lib/server-process.ts';

const SECONDS = Number(process.argv[2] ?? 60);
const PEAK = Number(process.argv[3] ?? 200);
const TRACE = process.argv[4] ?? 'bursty';
/** Live autoscaling policy of the server: off (fixed deployment), ours or infaas. */
const AUTOSCALE = process.argv[5] ?? 'off';
const SEED = 1;
const money = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toPrecision(3));
const SELECTION = { level: 'usecase' as const, task: 'classification', dataset: 'fashion-mnist', minAccuracy: 75, latencyMs: 50 };
const ARCHS = ['fmnist-tiny', 'fmnist-linear', 'fmnist-mlp-s', 'fmnist-cnn-s', 'fmnist-cnn-m'];
const GRID = { threads: [1, 2], maxBatch: [1, 8], optLevels: ['all'], runs: 20, warmup: 3 };

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'infaas-lvs-'));
  writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify({ profiling: GRID, autoscaling: { policy: AUTOSCALE, maxWorkers: 2 } }));
  const trace = getTrace(TRACE, { durationS: SECONDS, peakQps: PEAK });
  const server = await startServerProcess({ dataDir });
  let live;
  try {
    for (const a of ARCHS) await registerZooModel(server.url, a);
    console.log(`registered ${ARCHS.join(', ')}; replaying ${TRACE} for ${SECONDS} s at up to ${PEAK} qps against ${server.url} (live autoscaling: ${AUTOSCALE})`);
    const prices = new Map(defaultConfig('').workerClasses.map((c) => [c.name, c.pricePerHour]));
    live = (await runLoad({ server: server.url, trace, selection: SELECTION, samples: zooSamples('fashion-mnist'), seed: SEED, classPrices: prices })).report;
  } finally {
    await server.stop();
  }
  try {
    const variants = await storedVariants(dataDir, 1);
    const mix = [{ name: 'live', weight: 1, useCase: 'classification/fashion-mnist', minAccuracy: SELECTION.minAccuracy, latencyMs: SELECTION.latencyMs }];
    const rows: Array<Record<string, string | number>> = [{
      run: 'live (loadgen)', queries: live.requests, 'SLO attainment %': live.sloAttainment * 100, 'p50 ms': live.latency.p50, 'p95 ms': live.latency.p95, 'p99 ms': live.latency.p99,
      'errors': live.requests - live.ok, 'cost $ (workers)': money(live.workerCost), 'cost $ (per query)': money(live.queryCost),
    }];
    for (const p of ['ours', 'infaas', 'static-peak']) {
      const m = simulate({ trace, policy: getPolicy(p), variants, mix, seed: SEED, warmupS: 0 }).metrics;
      rows.push({
        run: `simulated (${p})`, queries: m.queries, 'SLO attainment %': (1 - m.violationRate) * 100, 'p50 ms': m.p50Ms, 'p95 ms': m.p95Ms, 'p99 ms': m.p99Ms,
        'errors': m.rejected, 'cost $ (workers)': money(m.cost), 'cost $ (per query)': '-',
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
