// Baseline "static-peak": what most serving systems do. One fixed variant per use case (the cheapest that
// meets every query class), enough workers for the trace's peak at 80% utilisation, all started and loaded
// before the first query; nothing ever changes.

import { selectVariant } from '../select-variant.ts';
import type { ScalingPolicy } from '../scaling-policy.ts';
import { fixedVariants, tightestSlo, useCaseShares, workerThroughput } from './common.ts';

export interface StaticPeakState {
  /** use case → fixed variant name. */
  fixed: ReadonlyMap<string, string>;
}

/** Utilisation at peak the provisioning aims for (the same 80% INFaaS scales out at). */
export const STATIC_PEAK_UTILISATION = 0.8;

export function staticPeakPolicy(workerClass = 'cpu-2'): ScalingPolicy<StaticPeakState> {
  return {
    name: 'static-peak',
    description: 'one fixed variant per use case, workers for the peak at 80% utilisation, never changes',
    tickMs: 1000,
    init(ctx) {
      const cls = ctx.workerClasses.find((c) => c.name === workerClass);
      if (!cls) throw new Error(`unknown worker class ${workerClass}`);
      const fixed = fixedVariants(ctx.catalogue, ctx.mix);
      const workers = [];
      for (const [uc, share] of useCaseShares(ctx.mix)) {
        const e = fixed.get(uc)!;
        const perWorker = workerThroughput(e, cls.threads, tightestSlo(ctx.mix, uc));
        const n = Math.max(1, Math.ceil((ctx.peakQps * share) / (perWorker * STATIC_PEAK_UTILISATION)));
        const replicas = Math.max(1, Math.floor(cls.threads / e.variant.config.threads));
        for (let i = 0; i < n; i++) workers.push({ workerClass, variants: [{ variant: e.name, replicas }] });
      }
      return { state: { fixed: new Map([...fixed].map(([uc, e]) => [uc, e.name])) }, workers };
    },
    tick: (_snapshot, _now, state) => ({ actions: [], state }),
    route(q, view, catalogue, now, state) {
      const variant = state.fixed.get(q.useCase) ?? '';
      return selectVariant({ kind: 'variant', variant, batch: q.batch }, catalogue, view, now);
    },
  };
}
