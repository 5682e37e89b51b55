// Where `ours` sits between SLO violations and cost (issue 3's simulator goals), in two tables:
// 1. a fixed fleet of N workers with `ours`' placement and no worker scaling, on one trace (default bursty):
//    what the cheapest fleet under 1% violations costs, against `infaas`, and under it the least any fleet that
//    holds the peak's capacity could cost (every thread busy all the time at the best batch that fits the SLO);
// 2. `ours` as shipped and `ours` set for cost (replicas at 110% of their SLO-batch throughput, added workers
//    held 5 s instead of 60 s), next to `infaas`, on every trace;
// 3. `ours` given the trace itself as a forecast (plans 6 s ahead, placement hold 3 s instead of 60): what knowing
//    when the load comes is worth, an upper bound for any predictor, next to `infaas`, with the goals.
// Run: npx tsx bench/ours-dial.ts [--seed N] [--trace bursty] [--fleets 4,5,6,7] [--peak-qps 10000] [--duration 300]

import { Catalogue, p50At, p95At } from '../src/policy/catalogue.ts';
import { defaultMix } from '../src/sim/query-mix.ts';
import { infaasPolicy } from '../src/policy/policies/infaas.ts';
import { OURS_FLOOR, OURS_PLACEMENT, oursPolicy, type OursOptions } from '../src/policy/policies/ours.ts';
import type { ScalingPolicy } from '../src/policy/scaling-policy.ts';
import type { RunMetrics } from '../src/sim/metrics.ts';
import { simulate, traceForecast } from '../src/sim/simulator.ts';
import { getTrace, TRACE_NAMES } from '../src/sim/traces.ts';
import { SIM_WORKER_CLASSES, zooVariants } from '../src/sim/variant-source.ts';
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

// The least capacity for the peak: per query class, the fewest thread-ms per query of any variant meeting its
// accuracy, at any batch whose profiled p95 fits `share` of the SLO, as if every thread were busy all the time
// with no wait to fill a batch (mean of the simulator's lognormal noise, e^(σ²/2), included). No fleet serving
// the peak at its SLO needs fewer threads. Half the SLO is the budget `ours` sizes batches within (the other half
// is the batch's wait); every batch size is tried here, not only sloBatch's 1, 2, 3, 4, 8, ..., and at 100% busy
// rather than `ours`' 90%, so that row too is a bound below what `ours` itself would plan.
const mix = defaultMix(catalogue);
const weight = mix.reduce((a, c) => a + c.weight, 0);
const peakThreads = (share: number) => mix.reduce((sum, c) => {
  let best = Infinity;
  for (const e of catalogue.byUseCaseCost(c.useCase)) {
    if (e.accuracy < c.minAccuracy) continue;
    for (let b = 1; b <= e.maxBatch; b++) {
      if (p95At(e, b) > share * c.latencyMs) break;
      const sigma = Math.log(p95At(e, b) / p50At(e, b)) / 1.645;
      best = Math.min(best, (e.variant.config.threads * p50At(e, b) * Math.exp((sigma * sigma) / 2)) / b);
    }
  }
  return sum + ((peakQps * c.weight) / weight) * (best / 1000);
}, 0);
const pricePerThreadHour = Math.min(...SIM_WORKER_CLASSES.map((c) => c.pricePerHour / c.threads));
console.log(`  the least any fleet holding the peak's capacity for ${durationS} s could cost (every thread busy, no wait to batch):`);
printTable([1, 0.5].map((share) => {
  const threads = peakThreads(share);
  const cost = (threads * pricePerThreadHour * durationS) / 3600;
  return { 'batch p95 within': share === 1 ? 'the SLO' : 'half the SLO', threads: threads.toFixed(2), 'cost $': cost.toFixed(4), 'cost vs infaas': (cost / base.cost).toFixed(2) };
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
