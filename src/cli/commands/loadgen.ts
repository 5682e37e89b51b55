// `infaas loadgen --trace NAME`: replays a workload trace as open-loop Poisson traffic against the running server
// and prints latency percentiles, SLO attainment, errors, achieved vs offered rate and cost (src/loadgen).

import { readFileSync } from 'node:fs';
import { defaultConfig } from '../../config/config.ts';
import { runLoad } from '../../loadgen/open-loop.ts';
import { samplesFromValset, zooSamples, DEFAULT_SELECTION, type QuerySelection, type SamplePool } from '../../loadgen/query-mix.ts';
import type { LoadReport } from '../../loadgen/report.ts';
import { getTrace, TRACE_NAMES } from '../../sim/traces.ts';
import { flag, numberFlag, serverUrl, str } from '../args.ts';
import { CliError, usageError } from '../cli-error.ts';
import { printJson, type Command } from '../command.ts';
import { money, ms, num, table } from '../format.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function loadReportText(r: LoadReport): string {
  const rows: (string | number)[][] = [
    ['trace', `${r.trace} (${r.durationS} s)`],
    ['requests', `${r.requests} sent, ${r.ok} ok, ${r.requests - r.ok} failed`],
    ['offered / achieved', `${num(r.offeredQps, 1)} / ${num(r.achievedQps, 1)} qps`],
    ['latency p50 / p95 / p99', `${ms(r.latency.p50)} / ${ms(r.latency.p95)} / ${ms(r.latency.p99)} ms (max ${ms(r.latency.max)})`],
    ['SLO attainment', `${pct(r.sloAttainment)} (${r.withinSlo} of ${r.requests} answered within ${r.sloMs} ms)`],
    ['send lag p99', `${ms(r.sendLag.p99)} ms`],
    ['cost (per query)', r.queryCost === undefined ? '-' : `$${money(r.queryCost)} (Σ variant costPer1k × queries / 1000; $${money(r.costPer1k)} per 1k)`],
    ['cost (workers)', r.workerCost === undefined ? '-' : `$${money(r.workerCost)} (worker-seconds × class price)`],
    ...(r.maxWorkers !== undefined ? [['workers (most seen)', String(r.maxWorkers)] as [string, string]] : []),
  ];
  let out = table(['METRIC', 'VALUE'], rows);
  const errs = Object.entries(r.errors).sort((a, b) => b[1] - a[1]);
  if (errs.length) out += '\n' + table(['ERROR', 'COUNT'], errs.map(([k, n]) => [k, n]));
  const vs = Object.entries(r.variants).sort((a, b) => b[1] - a[1]);
  if (vs.length) out += '\n' + table(['VARIANT', 'QUERIES'], vs.map(([k, n]) => [k, n]));
  return out;
}

function selectionOf(args: Parameters<Command['run']>[0]): QuerySelection {
  const latencyMs = numberFlag('latency-ms', str(args, 'latency-ms'), { exclusiveMin: 0 }, 'loadgen') ?? DEFAULT_SELECTION.latencyMs;
  const variant = str(args, 'variant');
  const arch = str(args, 'arch');
  const useCase = ['task', 'dataset', 'min-accuracy'].filter((k) => str(args, k) !== undefined);
  if ([variant !== undefined, arch !== undefined, useCase.length > 0].filter(Boolean).length > 1) {
    throw usageError('give one selection level: --variant, --arch, or --task/--dataset/--min-accuracy', 'loadgen');
  }
  if (variant !== undefined) return { level: 'variant', variant, latencyMs };
  if (arch !== undefined) return { level: 'arch', arch, latencyMs };
  const d = DEFAULT_SELECTION as Extract<QuerySelection, { level: 'usecase' }>;
  return {
    level: 'usecase',
    task: str(args, 'task') ?? d.task,
    dataset: str(args, 'dataset') ?? d.dataset,
    minAccuracy: numberFlag('min-accuracy', str(args, 'min-accuracy'), { min: 0, max: 100 }, 'loadgen') ?? d.minAccuracy,
    latencyMs,
  };
}

export const loadgenCommand: Command = {
  spec: {
    name: 'loadgen',
    summary: 'Replay a workload trace as open-loop (Poisson) traffic against the server and report latency, SLO attainment and cost.',
    usage: 'loadgen --trace NAME [--duration S] [--peak-qps N] [--task T --dataset D --min-accuracy A | --arch A | --variant V] [--latency-ms L]',
    examples: [
      'infaas loadgen --trace bursty --duration 60 --peak-qps 100',
      'infaas loadgen --trace steady-low --task classification --dataset fashion-mnist --min-accuracy 80 --latency-ms 20 --json',
      'infaas loadgen --trace flux --arch fmnist-cnn-s --latency-ms 10',
    ],
    notes: [
      `Traces: ${TRACE_NAMES.join(', ')}. Requests are sent at their planned times whether or not earlier ones were`,
      'answered (open loop); latency counts from the planned time. Inputs are random validation samples of the',
      "dataset (from the zoo, or --valset FILE) sent as raw float32. Defaults: 60 s, 100 qps peak, fashion-mnist at",
      '70% accuracy and 50 ms. Cost per query is Σ costPer1k × queries / 1000 over the variants served; worker cost is',
      'worker-seconds × the default class prices (GET /v1/workers at start and end).',
    ],
    options: {
      trace: { type: 'string', valueName: 'NAME', description: `workload trace (${TRACE_NAMES.join(', ')})` },
      duration: { type: 'string', valueName: 'S', description: 'length of the run, seconds (default 60, at most 3600)' },
      'peak-qps': { type: 'string', valueName: 'N', description: 'highest rate of the trace, queries per second (default 100)' },
      task: { type: 'string', short: 't', valueName: 'TASK', description: 'use case task (default classification)' },
      dataset: { type: 'string', short: 'D', valueName: 'DATASET', description: 'use case dataset (default fashion-mnist)' },
      'min-accuracy': { type: 'string', short: 'A', valueName: 'PCT', description: 'minimum accuracy, percent (default 70)' },
      arch: { type: 'string', short: 'a', valueName: 'ARCH', description: 'query an architecture + SLO instead' },
      variant: { type: 'string', short: 'v', valueName: 'VARIANT', description: 'query an exact variant instead' },
      'latency-ms': { type: 'string', short: 'l', valueName: 'MS', description: 'latency SLO, ms (default 50)' },
      valset: { type: 'string', valueName: 'FILE', description: 'validation set (.valset) to draw inputs from (default: the zoo\'s)' },
      seed: { type: 'string', valueName: 'N', description: 'seed of the arrival times and inputs (default 1)' },
      'max-requests': { type: 'string', valueName: 'N', description: 'stop after this many requests (default 100000)' },
      sockets: { type: 'string', valueName: 'N', description: 'keep-alive sockets at most (default 64)' },
    },
    positionals: { min: 0, max: 0 },
    client: true,
  },
  async run(args, ctx) {
    const name = str(args, 'trace');
    if (!name) throw usageError(`missing --trace NAME (one of ${TRACE_NAMES.join(', ')})`, 'loadgen');
    if (!(TRACE_NAMES as readonly string[]).includes(name)) throw usageError(`unknown trace "${name}"; valid traces: ${TRACE_NAMES.join(', ')}`, 'loadgen');
    const durationS = numberFlag('duration', str(args, 'duration'), { exclusiveMin: 0, max: 3600 }, 'loadgen') ?? 60;
    const peakQps = numberFlag('peak-qps', str(args, 'peak-qps'), { exclusiveMin: 0, max: 100_000 }, 'loadgen') ?? 100;
    const seed = numberFlag('seed', str(args, 'seed'), { integer: true, min: 0 }, 'loadgen') ?? 1;
    const maxRequests = numberFlag('max-requests', str(args, 'max-requests'), { integer: true, min: 1 }, 'loadgen') ?? 100_000;
    const maxSockets = numberFlag('sockets', str(args, 'sockets'), { integer: true, min: 1, max: 4096 }, 'loadgen') ?? 64;
    const selection = selectionOf(args);
    const server = serverUrl(args, ctx.env, 'loadgen');
    const valsetPath = str(args, 'valset');
    let samples: SamplePool;
    if (valsetPath) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(valsetPath);
      } catch (e) {
        throw usageError(`cannot read validation set ${valsetPath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'loadgen');
      }
      samples = samplesFromValset(bytes);
    } else samples = zooSamples(selection.level === 'usecase' ? selection.dataset : 'fashion-mnist');
    try {
      await fetch(`${server}/v1/health`);
    } catch {
      throw new CliError(`cannot reach the server at ${server} (start it with \`infaas serve\`)`, 3);
    }
    const trace = getTrace(name, { durationS, peakQps });
    const prices = new Map(defaultConfig('').workerClasses.map((c) => [c.name, c.pricePerHour]));
    const { report } = await runLoad({
      server, trace, selection, samples, seed, maxRequests, maxSockets, classPrices: prices,
      onProgress: ctx.stderrIsTTY ? (sent, done, planned) => ctx.stderr(`\r${sent}/${planned} sent, ${done} done`) : undefined,
    });
    if (ctx.stderrIsTTY) ctx.stderr('\n');
    if (flag(args, 'json')) printJson(ctx, report);
    else ctx.stdout(loadReportText(report));
  },
};
