// Hand-built snapshots for the autoscaling policy tests: workers, variants and window stats with defaults.

import type { VariantSnapshot, WindowStats, WorkerSnapshot } from './scaling-policy.ts';

export function stats(s: Partial<WindowStats> = {}): WindowStats {
  return { arrivalQps: 0, completedQps: 0, queueLength: 0, avgBatch: 1, avgMs: 0, p50Ms: 0, p95Ms: 0, e2eP95Ms: 0, replicas: 1, ...s };
}

export function variantSnap(variant: string, s: Partial<Omit<VariantSnapshot, 'stats'>> & { stats?: Partial<WindowStats> } = {}): VariantSnapshot {
  const replicas = s.replicas ?? 1;
  return { variant, replicas, loading: 0, state: 'active', lastUsedAt: 0, ...s, stats: stats({ replicas, ...s.stats }) };
}

export function workerSnap(id: string, s: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return { id, workerClass: 'cpu-2', phase: 'ready', startedAt: 0, threads: 2, memoryBudgetMB: 2048, memoryUsedMB: 0, utilisation: 0, variants: [], ...s };
}
