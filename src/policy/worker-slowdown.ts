// How much slower than its profiles a worker runs right now (a noisy neighbour, a throttled host): the
// median, over the busy time of its variants in the last window, of measured batch p50 / profiled p50 at the
// observed batch. Pure; placement uses it to count a slowed worker's replicas (and threads) at their real speed.

import { p50At, type Catalogue } from './catalogue.ts';
import type { WorkerSnapshot } from './scaling-policy.ts';

/** Batches per second a variant must have run in the window before its latency counts (fewer are noise). */
export const SLOWDOWN_MIN_BATCHES = 5;

/**
 * The worker's slowdown factor (1 = as profiled; 3 = everything takes three times as long), from the ready
 * worker's last window. Each variant with at least SLOWDOWN_MIN_BATCHES batches/s gives its
 * WindowStats.slowdownP50 (else measured p50 / profiled p50 at its mean batch), weighted by the busy time it
 * stands for (batches × measured p50); the weighted median is robust to one odd variant. 1 when nothing ran
 * enough to tell, and never below 1 (a worker faster than its profiles has no spare capacity the plan could
 * count on).
 */
export function workerSlowdown(w: WorkerSnapshot, catalogue: Catalogue): number {
  if (w.phase !== 'ready') return 1;
  const samples: Array<{ ratio: number; weight: number }> = [];
  for (const v of w.variants) {
    const s = v.stats;
    if (s.completedQps <= 0 || s.avgBatch <= 0 || s.p50Ms <= 0) continue;
    const batches = s.completedQps / s.avgBatch;
    if (batches < SLOWDOWN_MIN_BATCHES) continue;
    const e = catalogue.entry(v.variant);
    if (!e) continue;
    const profiled = p50At(e, s.avgBatch);
    if (!(profiled > 0)) continue;
    const ratio = (s.slowdownP50 ?? 0) > 0 ? s.slowdownP50! : s.p50Ms / profiled;
    samples.push({ ratio, weight: batches * s.p50Ms });
  }
  if (samples.length === 0) return 1;
  samples.sort((a, b) => a.ratio - b.ratio);
  const half = samples.reduce((a, x) => a + x.weight, 0) / 2;
  let seen = 0;
  for (const x of samples) {
    seen += x.weight;
    if (seen >= half) return Math.max(1, x.ratio);
  }
  return Math.max(1, samples[samples.length - 1].ratio);
}
