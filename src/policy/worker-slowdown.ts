// How much slower than its profiles a worker runs right now (a noisy neighbour, a throttled host): the
// median, over the busy time of its variants in the last window, of measured batch p50 / profiled p50 at the
// observed batch. Pure; placement uses it to count a slowed worker's replicas (and threads) at their real speed.

import { p50At, type Catalogue } from './catalogue.ts';
import type { WorkerSnapshot } from './scaling-policy.ts';
import type { WorkerEntries } from './snapshot-entries.ts';

/** Batches per second a variant must have run in the window before its latency counts (fewer are noise). */
export const SLOWDOWN_MIN_BATCHES = 5;

/**
 * The worker's slowdown factor (1 = as profiled; 3 = everything takes three times as long), from the ready
 * worker's last window. Each variant with at least SLOWDOWN_MIN_BATCHES batches/s gives its
 * WindowStats.slowdownP50 (else measured p50 / profiled p50 at its mean batch), weighted by the busy time it
 * stands for (batches × measured p50); the weighted median is robust to one odd variant. 1 when nothing ran
 * enough to tell, and never below 1 (a worker faster than its profiles has no spare capacity the plan could
 * count on). `entries`: the catalogue entries of its variants, when the caller has looked them up already.
 */
export function workerSlowdown(w: WorkerSnapshot, catalogue: Catalogue, entries?: WorkerEntries): number {
  if (w.phase !== 'ready') return 1;
  const samples: Array<{ ratio: number; weight: number }> = [];
  for (let i = 0; i < w.variants.length; i++) {
    const s = w.variants[i].stats;
    if (s.completedQps <= 0 || s.avgBatch <= 0 || s.p50Ms <= 0) continue;
    const batches = s.completedQps / s.avgBatch;
    if (batches < SLOWDOWN_MIN_BATCHES) continue;
    const e = entries ? entries[i] : catalogue.entry(w.variants[i].variant);
    if (!e) continue;
    const profiled = p50At(e, s.avgBatch);
    if (!(profiled > 0)) continue;
    const ratio = (s.slowdownP50 ?? 0) > 0 ? s.slowdownP50! : s.p50Ms / profiled;
    samples.push({ ratio, weight: batches * s.p50Ms });
  }
  if (samples.length === 0) return 1;
  sortByRatio(samples);
  const half = samples.reduce((a, x) => a + x.weight, 0) / 2;
  let seen = 0;
  for (const x of samples) {
    seen += x.weight;
    if (seen >= half) return Math.max(1, x.ratio);
  }
  return Math.max(1, samples[samples.length - 1].ratio);
}

/**
 * Sorts by ratio, ascending, keeping the order of equal ones (as the stable Array.prototype.sort does): by insertion,
 * for the handful of samples a worker has (the built-in sort sets up its working state at every one of ten thousand
 * calls a tick).
 */
function sortByRatio(xs: Array<{ ratio: number; weight: number }>): void {
  for (let i = 1; i < xs.length; i++) {
    const x = xs[i];
    let j = i - 1;
    while (j >= 0 && xs[j].ratio > x.ratio) {
      xs[j + 1] = xs[j];
      j--;
    }
    xs[j + 1] = x;
  }
}
