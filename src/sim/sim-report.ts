// What the simulator reports: each replica set's per-tick VariantSnapshot for the policy, and a run's
// final RunMetrics from its counters and fleet history.

import type { VariantSnapshot } from '../policy/scaling-policy.ts';
import type { LatencyHistogram, RunMetrics } from './metrics.ts';
import type { SimWorker, Slot } from './sim-cluster.ts';

/** The replica set's monitor stats over the last `windowMs` of simulated time; resets its window. */
export function variantSnapshot(s: Slot, windowMs: number): VariantSnapshot {
  const exec = Float64Array.from(s.wExec).sort();
  const e2e = Float64Array.from(s.wE2e).sort();
  const pct = (a: Float64Array, p: number) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : 0);
  let sum = 0;
  for (const x of exec) sum += x;
  const v: VariantSnapshot = {
    variant: s.entry.name,
    replicas: s.replicas,
    loading: s.loading,
    state: s.unloading ? 'unloading' : s.replicas === 0 ? 'loading' : s.health,
    lastUsedAt: s.lastUsedAt,
    stats: {
      arrivalQps: (s.wArrivals * 1000) / windowMs,
      completedQps: (s.wCompleted * 1000) / windowMs,
      queueLength: s.queued + s.running,
      avgBatch: s.wBatches ? s.wCompleted / s.wBatches : 0,
      avgMs: exec.length ? sum / exec.length : 0,
      p50Ms: pct(exec, 0.5),
      p95Ms: pct(exec, 0.95),
      e2eP95Ms: pct(e2e, 0.95),
      replicas: s.replicas,
      slowdownP50: pct(Float64Array.from(s.wSlow50).sort(), 0.5),
      slowdownP95: pct(Float64Array.from(s.wSlow95).sort(), 0.95),
    },
    ...(s.wMinSlo !== Infinity ? { minSloMs: s.wMinSlo, maxMinAccuracy: s.wMaxAcc } : {}),
  };
  s.resetWindow();
  return v;
}

/** A finished run's counters: queries are counted only when they arrived inside the measured window. */
export interface RunCounters {
  policy: string;
  trace: string;
  durationS: number;
  peakQps: number;
  /** Measured window [startMs, endMs), simulated ms. */
  startMs: number;
  endMs: number;
  /** Every worker ever started, live ones first then released ones (in release order). */
  workers: Iterable<SimWorker>;
  queries: number;
  completed: number;
  rejected: number;
  rejectedBy: RunMetrics['rejectedBy'];
  late: number;
  /** Sum of the accuracy of the variants that served the completed queries. */
  accSum: number;
  hist: LatencyHistogram;
  busyMs: number;
  readyThreadMs: number;
  maxWorkers: number;
  loads: number;
  events: number;
  simulatedQueries: number;
}

/** The run's metrics; cost and mean workers count only the time inside the measured window. */
export function runMetrics(c: RunCounters, wallS: number): RunMetrics {
  const span = c.endMs - c.startMs;
  let cost = 0, workerMs = 0;
  for (const w of c.workers) {
    const ms = Math.min(w.releasedAt, c.endMs) - Math.max(w.startedAt, c.startMs);
    if (ms <= 0) continue;
    workerMs += ms;
    cost += (w.cls.pricePerHour * ms) / 3.6e6;
  }
  const viol = c.late + c.rejected;
  return {
    policy: c.policy,
    trace: c.trace,
    durationS: c.durationS,
    peakQps: c.peakQps,
    queries: c.queries,
    completed: c.completed,
    rejected: c.rejected,
    rejectedBy: { ...c.rejectedBy },
    late: c.late,
    violationRate: c.queries ? viol / c.queries : 0,
    cost,
    avgAccuracy: c.completed ? c.accSum / c.completed : 0,
    utilisation: c.readyThreadMs ? c.busyMs / c.readyThreadMs : 0,
    p50Ms: c.hist.quantile(0.5),
    p95Ms: c.hist.quantile(0.95),
    p99Ms: c.hist.quantile(0.99),
    meanWorkers: workerMs / span,
    maxWorkers: c.maxWorkers,
    loads: c.loads,
    wallS,
    events: c.events,
    simulatedQueries: c.simulatedQueries,
  };
}
