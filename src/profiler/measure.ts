// Measurement primitives of the profiler: percentiles, a budgeted timing loop, and resident-memory sampling.

/** Nearest-rank percentile (q in (0, 1]) of ascending-sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) throw new Error('percentile of an empty sample');
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (!n) throw new Error('median of an empty sample');
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Milliseconds rounded to 0.1 µs. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1e4) / 1e4;
}

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export interface TimingBudget {
  /** Untimed runs first (at least 1; stops early once a quarter of `budgetMs` is spent). */
  warmup: number;
  /** Timed runs wanted. */
  runs: number;
  /** Once this much timed time is spent, stop as soon as `minRuns` runs are done. */
  budgetMs: number;
  minRuns: number;
}

/** Runs `fn` for warm-up, then timed; returns p50 and p95 in ms (sub-µs resolution) and the number of timed runs. */
export async function timeRuns(fn: () => Promise<unknown>, b: TimingBudget): Promise<{ p50: number; p95: number; runs: number }> {
  const w0 = nowNs();
  for (let i = 0; i < Math.max(1, b.warmup); i++) {
    await fn();
    if (msSince(w0) > b.budgetMs / 4) break;
  }
  const samples: number[] = [];
  const wanted = Math.max(1, b.runs);
  const minRuns = Math.min(wanted, Math.max(1, b.minRuns));
  let spent = 0;
  while (samples.length < wanted) {
    const t0 = nowNs();
    await fn();
    const ms = msSince(t0);
    samples.push(ms);
    spent += ms;
    if (spent >= b.budgetMs && samples.length >= minRuns) break;
  }
  samples.sort((x, y) => x - y);
  return { p50: roundMs(percentile(samples, 0.5)), p95: roundMs(percentile(samples, 0.95)), runs: samples.length };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** True when the process runs with --expose-gc, so memory samples are taken after a full collection. */
export const gcExposed = typeof gc === 'function';

/** Resident set size in MiB, after a full GC when exposed. */
export function rssMiB(): number {
  gc?.();
  return process.memoryUsage.rss() / (1024 * 1024);
}
