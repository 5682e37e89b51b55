// `infaas simulate`: replays workload traces in simulated time over the variant profiles (a data dir's, or
// the built-in zoo catalogue) under one or all autoscaling policies; prints a table, --json, an SVG chart.

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { POLICY_NAMES } from '../../policy/policies/index.ts';
import { comparisonSvg } from '../../sim/chart.ts';
import type { RunMetrics } from '../../sim/metrics.ts';
import { costVsStatic, runMatrix } from '../../sim/run-matrix.ts';
import { TRACE_NAMES } from '../../sim/traces.ts';
import { storedVariants, ZOO_LATENCY_SCALE, zooVariants } from '../../sim/variant-source.ts';
import { flag, numberFlag, str } from '../args.ts';
import { printJson, type Command } from '../command.ts';
import { money, table } from '../format.ts';

export const DEFAULT_SIM_PEAK_QPS = 10_000;
export const DEFAULT_SIM_DURATION_S = 300;

function names(text: string | undefined, all: readonly string[], fallback: string): string[] {
  const v = text ?? fallback;
  return v === 'all' ? [...all] : v.split(',').map((s) => s.trim()).filter(Boolean);
}

export function simulateTable(runs: readonly RunMetrics[]): string {
  return table(
    ['TRACE', 'POLICY', 'QUERIES', 'VIOL_%', 'LATE', 'REJECTED', 'COST', 'COST/STATIC', 'ACC_%', 'UTIL_%', 'WORKERS', 'MAX_W', 'P50_MS', 'P99_MS'],
    runs.map((m) => {
      const ratio = costVsStatic(runs, m);
      return [
        m.trace, m.policy, m.queries, (m.violationRate * 100).toFixed(2), m.late, m.rejected, money(m.cost), ratio === undefined ? '-' : ratio.toFixed(2),
        m.avgAccuracy.toFixed(2), (m.utilisation * 100).toFixed(0), m.meanWorkers.toFixed(1), m.maxWorkers, m.p50Ms.toFixed(1), m.p99Ms.toFixed(1),
      ];
    }),
  );
}

export const simulateCommand: Command = {
  spec: {
    name: 'simulate',
    summary: 'Replay a workload trace in simulated time and compare autoscaling policies (SLO violations, cost, accuracy).',
    usage: 'simulate [--trace NAME|all] [--policy NAME|all] [--duration S] [--peak-qps N] [--seed N] [--overhead-ms MS] [--chart FILE.svg] [--data-dir DIR] [--json]',
    examples: [
      'infaas simulate --trace bursty --policy all',
      'infaas simulate --trace all --policy ours,infaas --duration 120 --chart sim.svg',
      'infaas simulate --trace diurnal --policy static-peak --data-dir .infaas --peak-qps 50000 --json',
    ],
    notes: [
      `traces: ${TRACE_NAMES.join(', ')} (comma-separated, or all); policies: ${POLICY_NAMES.join(', ')} (or all).`,
      'Without --data-dir the variants are synthesised from zoo/manifest.json with latencies ×' + ZOO_LATENCY_SCALE +
        ' (so a few thousand qps needs tens of workers); with --data-dir the stored profiles are used (×--latency-scale, default 1). ' +
        'The server must not be running on that data dir.',
      'Runs are deterministic for a given --seed; every policy sees the same arrivals. A violation is a query answered after its SLO or rejected.',
    ],
    options: {
      trace: { type: 'string', valueName: 'NAME', description: 'trace(s) to replay (default bursty)' },
      policy: { type: 'string', valueName: 'NAME', description: 'policy or policies (default all)' },
      duration: { type: 'string', valueName: 'S', description: `trace length in simulated seconds (default ${DEFAULT_SIM_DURATION_S})` },
      'peak-qps': { type: 'string', valueName: 'N', description: `peak query rate (default ${DEFAULT_SIM_PEAK_QPS})` },
      seed: { type: 'string', valueName: 'N', description: 'random seed (default 1)' },
      chart: { type: 'string', valueName: 'FILE', description: 'write an SVG chart of violations, cost and workers over time' },
      'data-dir': { type: 'string', valueName: 'DIR', description: 'use the variants registered in this data dir' },
      'latency-scale': { type: 'string', valueName: 'X', description: 'multiply every profiled latency' },
      'overhead-ms': { type: 'string', valueName: 'MS', description: 'fixed time per query outside the workers (HTTP, controller), added to every latency (default 0)' },
      json: { type: 'boolean', description: 'print machine-readable JSON on stdout' },
    },
    positionals: { min: 0, max: 0 },
    client: false,
  },
  async run(args, ctx) {
    const traces = names(str(args, 'trace'), TRACE_NAMES, 'bursty');
    const policies = names(str(args, 'policy'), POLICY_NAMES, 'all');
    const durationS = numberFlag('duration', str(args, 'duration'), { exclusiveMin: 0 }, 'simulate') ?? DEFAULT_SIM_DURATION_S;
    const peakQps = numberFlag('peak-qps', str(args, 'peak-qps'), { exclusiveMin: 0 }, 'simulate') ?? DEFAULT_SIM_PEAK_QPS;
    const seed = numberFlag('seed', str(args, 'seed'), { integer: true, min: 0 }, 'simulate') ?? 1;
    const scale = numberFlag('latency-scale', str(args, 'latency-scale'), { exclusiveMin: 0 }, 'simulate');
    const overheadMs = numberFlag('overhead-ms', str(args, 'overhead-ms'), { min: 0 }, 'simulate');
    const dataDir = str(args, 'data-dir');
    const variants = dataDir ? await storedVariants(resolve(dataDir), scale ?? 1) : zooVariants({ latencyScale: scale ?? ZOO_LATENCY_SCALE });
    const json = flag(args, 'json');
    const result = runMatrix({
      traces, policies, variants, durationS, peakQps, seed, ...(overheadMs !== undefined ? { sim: { requestOverheadMs: overheadMs } } : {}),
      onRun: (m) => { if (!json) ctx.stderr(`  ${m.trace} × ${m.policy}: ${m.simulatedQueries} queries in ${m.wallS.toFixed(1)} s\n`); },
    });
    const chart = str(args, 'chart');
    if (chart) writeFileSync(chart, comparisonSvg(result.runs, result.series, traces[0]));
    if (json) {
      printJson(ctx, { durationS, peakQps, seed, ...(overheadMs !== undefined ? { overheadMs } : {}), source: dataDir ? resolve(dataDir) : 'zoo', runs: result.runs, ...(chart ? { chart } : {}) });
      return;
    }
    ctx.stdout(simulateTable(result.runs));
    if (chart) ctx.stdout(`chart written to ${chart}\n`);
  },
};
