// Runs every (trace, policy) pair of a comparison with common random numbers (same seed, same arrivals),
// for `infaas simulate` and bench/simulator.ts.

import type { Variant } from '../core/types.ts';
import { Catalogue } from '../policy/catalogue.ts';
import { getPolicy } from '../policy/policies/index.ts';
import type { RunMetrics, SeriesPoint } from './metrics.ts';
import { simulate, type SimOptions } from './simulator.ts';
import { getTrace } from './traces.ts';

export interface MatrixOptions {
  traces: readonly string[];
  policies: readonly string[];
  variants: readonly Variant[] | Catalogue;
  durationS?: number;
  peakQps?: number;
  seed?: number;
  /** Extra simulator options (warm-up, worker start time, interference). */
  sim?: Partial<Omit<SimOptions, 'trace' | 'policy' | 'variants' | 'seed'>>;
  /** Called after each run (progress). */
  onRun?: (m: RunMetrics) => void;
}

export interface MatrixResult {
  runs: RunMetrics[];
  /** trace → policy → per-second series. */
  series: Map<string, Map<string, SeriesPoint[]>>;
}

/** Validates every name first (INVALID_ARGUMENT), then runs traces × policies in order. */
export function runMatrix(opts: MatrixOptions): MatrixResult {
  const catalogue = opts.variants instanceof Catalogue ? opts.variants : new Catalogue(opts.variants);
  const traces = opts.traces.map((t) => getTrace(t, { durationS: opts.durationS, peakQps: opts.peakQps }));
  opts.policies.forEach((p) => getPolicy(p));
  const runs: RunMetrics[] = [];
  const series = new Map<string, Map<string, SeriesPoint[]>>();
  for (const trace of traces) {
    const byPolicy = new Map<string, SeriesPoint[]>();
    series.set(trace.name, byPolicy);
    for (const p of opts.policies) {
      const r = simulate({ ...opts.sim, trace, policy: getPolicy(p), variants: catalogue, seed: opts.seed ?? 1 });
      runs.push(r.metrics);
      byPolicy.set(p, r.series);
      opts.onRun?.(r.metrics);
    }
  }
  return { runs, series };
}

/** Cost of each run divided by the static-peak run of the same trace (undefined when there is none). */
export function costVsStatic(runs: readonly RunMetrics[], m: RunMetrics): number | undefined {
  const s = runs.find((r) => r.trace === m.trace && r.policy === 'static-peak');
  return s && s.cost > 0 ? m.cost / s.cost : undefined;
}
