// Where `ours` sits between SLO violations and cost (issue 3's simulator goals), in two tables:
// 1. a fixed fleet of N workers with `ours`' placement and no worker scaling, on one trace (default bursty):
//    what the cheapest fleet under 1% violations costs, against `infaas`;
// 2. `ours` as shipped and `ours` set for cost (replicas at 110% of their SLO-batch throughput, added workers
//    held 5 s instead of 60 s), next to `infaas`, on every trace;
// 3. `ours` given the trace itself as a forecast (plans 6 s ahead, placement hold 3 s instead of 60): what knowing
//    when the load comes is worth, an upper bound for any predictor, next to `infaas`, with the goals.
// Run: npx tsx bench/ours-dial.ts [--seed N] [--trace bursty] [--fleets 4,5,6,7] [--peak-qps 10000] [--duration 300]

import { Catalogue } from '../src/policy/catalogue.ts';
import { infaasPolicy } from '../src/policy/policies/infaas.ts';
import { OURS_FLOOR, OURS_PLACEMENT, oursPolicy, type OursOptions } from '../src/policy/policies/ours.ts';
import type { ScalingPolicy } from '../src/policy/scaling-policy.ts';
import type { RunMetrics } from '../src/sim/metrics.ts';
import { simulate, traceForecast } from '../src/sim/simulator.ts';
import { getTrace, TRACE_NAMES } from '../src/sim/traces.ts';
import { zooVariants } from '../src/sim/variant-source.ts';
import { printTable } from './lib/server-process.ts';

const flag = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const seed = Number(flag('seed', '1'));
const peakQps = Number(flag('peak-qps', '10000'));
const durationS = Number(flag('duration', '300'));
const sweepTrace = flag('trace', 'bursty');
const fleets = flag('fleets', '4,5,6,7').split(',').map(Number);
const catalogue = new Catalogue(zooVariants());
const erase = <S>(p: ScalingPolicy<S>) => p as unknown as ScalingPolicy<unknown>;
const run = (trace: string, policy: ScalingPolicy<unknown>): RunMetrics =>
  simulate({ trace: getTrace(trace, { durationS, peakQps }), policy, variants: catalogue, seed }).metrics;
const pct = (m: RunMetrics) => `${(m.violationRate * 100).toFixed(2)}%`;

console.log(`peak ${peakQps} qps, ${durationS} s, seed ${seed}\n`);
const infaasOn = new Map(TRACE_NAMES.map((t) => [t, run(t, erase(infaasPolicy()))]));

// A fixed fleet: at most N workers, replicas planned at 30% so the fleet fills up to N at once, and every added
// worker held for the whole run.
const fixed = (n: number) => erase(oursPolicy({
  maxWorkers: n, placement: { ...OURS_PLACEMENT, targetUtilisation: 0.3, holdTicks: durationS * 2 }, floor: { ...OURS_FLOOR, holdMs: durationS * 2000 },
}));
const base = infaasOn.get(sweepTrace as (typeof TRACE_NAMES)[number])!;
console.log(`1. fixed fleets on ${sweepTrace} (infaas there: ${pct(base)} at $${base.cost.toFixed(4)})`);
printTable(fleets.map((n) => {
  const m = run(sweepTrace, fixed(n));
  return { workers: n, violations: pct(m), 'cost $': m.cost.toFixed(4), 'cost vs infaas': (m.cost / base.cost).toFixed(2) };
}));

const forCost: OursOptions = { placement: { ...OURS_PLACEMENT, targetUtilisation: 1.1 }, floor: { ...OURS_FLOOR, holdMs: 5000 } };
console.log('\n2. ours as shipped and set for cost, next to infaas (violations / cost, cost vs infaas)');
printTable(TRACE_NAMES.map((t) => {
  const i = infaasOn.get(t)!;
  const cell = (m: RunMetrics) => `${pct(m)} / ${m.cost.toFixed(4)} (${(m.cost / i.cost).toFixed(2)}x)`;
  return { trace: t, infaas: `${pct(i)} / ${i.cost.toFixed(4)}`, ours: cell(run(t, erase(oursPolicy()))), 'ours set for cost': cell(run(t, erase(oursPolicy(forCost)))) };
}));

// The trace as its own forecast: 6 s ahead covers a worker's 5 s start and the tick.
const FORECAST_LEAD_MS = 6000;
console.log(`\n3. ours given the trace as its forecast (${FORECAST_LEAD_MS / 1000} s ahead, placement hold 3 s), next to infaas`);
let met = 0;
printTable(TRACE_NAMES.map((t) => {
  const i = infaasOn.get(t)!;
  const trace = getTrace(t, { durationS, peakQps });
  const m = run(t, erase(oursPolicy({ placement: { ...OURS_PLACEMENT, holdTicks: 3 }, forecast: traceForecast(trace, FORECAST_LEAD_MS) })));
  const ok = m.violationRate <= 0.01 && m.violationRate < i.violationRate && m.cost <= i.cost;
  if (ok) met++;
  return { trace: t, infaas: `${pct(i)} / ${i.cost.toFixed(4)}`, 'ours + forecast': `${pct(m)} / ${m.cost.toFixed(4)}`, 'cost vs infaas': (m.cost / i.cost).toFixed(2), 'goals (≤ 1%, fewer violations at no higher cost)': ok ? 'met' : 'missed' };
}));
console.log(`  ${met}/${TRACE_NAMES.length} traces meet the goals with a forecast`);
