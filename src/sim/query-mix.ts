// The query mix the simulator draws from: per use case, relaxed / standard / strict accuracy demands with a
// latency SLO, derived from the catalogue so it follows whatever the zoo holds.

import { invalid } from '../core/errors.ts';
import type { Catalogue } from '../policy/catalogue.ts';
import type { QueryClass } from '../policy/scaling-policy.ts';

/** Share of relaxed (any accuracy), standard (median accuracy) and strict (best accuracy) queries. Fixed, not tuned. */
export const MIX_SHARES = { relaxed: 0.5, standard: 0.3, strict: 0.2 } as const;

/** Smallest latency SLO the default mix uses, ms. */
export const MIN_SLO_MS = 20;

/**
 * The default mix: every use case equally likely; within one, 50% of queries accept any accuracy, 30% ask
 * for at least the median accuracy of its artifacts, 20% for the best. All of a use case share one latency
 * SLO: 5 × the batch-1 p95 of the fastest variant meeting the strict accuracy, rounded up to 5 ms, at least
 * MIN_SLO_MS (room for batching, but not for a cold start of the slow models).
 */
export function defaultMix(catalogue: Catalogue): QueryClass[] {
  const useCases = catalogue.useCases();
  if (useCases.length === 0) throw invalid('the catalogue has no variants: nothing to simulate');
  const out: QueryClass[] = [];
  for (const uc of useCases) {
    const entries = catalogue.byUseCaseCost(uc);
    const accs = [...new Set(entries.map((e) => e.accuracy))].sort((a, b) => a - b);
    const levels = { relaxed: accs[0], standard: accs[Math.floor(accs.length / 2)], strict: accs[accs.length - 1] };
    const fastestStrict = Math.min(...entries.filter((e) => e.accuracy >= levels.strict).map((e) => e.p95b1));
    const slo = Math.max(MIN_SLO_MS, Math.ceil((5 * fastestStrict) / 5) * 5);
    for (const k of ['relaxed', 'standard', 'strict'] as const) {
      out.push({ name: `${uc}:${k}`, weight: MIX_SHARES[k] / useCases.length, useCase: uc, minAccuracy: levels[k], latencyMs: slo });
    }
  }
  return out;
}

/** Draws a class index from the mix with one uniform number in [0, 1). */
export function mixSampler(mix: readonly QueryClass[]): (u: number) => number {
  const total = mix.reduce((a, c) => a + c.weight, 0);
  const cum = new Float64Array(mix.length);
  let s = 0;
  mix.forEach((c, i) => { s += c.weight / total; cum[i] = s; });
  return (u) => {
    for (let i = 0; i < cum.length; i++) if (u < cum[i]) return i;
    return cum.length - 1;
  };
}
