// Variant health on a worker (INFaaS's overloaded/interfered detection, every monitoring window):
// from one window of measurements and the profile, decide active | overloaded | interfered, with
// hysteresis. Pure: the clock is an argument.

import type { HealthState, WindowStats } from './scaling-policy.ts';

/** INFaaS's thresholds (REFERENCE.md §1). */
export interface HealthThresholds {
  /** Latency is "high" above Lh × the profiled latency at the observed batch. */
  Lh: number;
  /** ... and only counts when batches/s exceed Qh × 1000 / profiled latency (enough load to trust it). */
  Qh: number;
  /** Overloaded when outstanding samples exceed Oh × replicas × (samples one replica does per second). */
  Oh: number;
  /** A flag clears when latency is below Uh × the profiled latency (and the queue is below the Oh bound). */
  Uh: number;
}

export interface HealthConfig {
  /** Thresholds for variants with two or more replicas. */
  many: HealthThresholds;
  /** Thresholds for variants with one replica (INFaaS is more tolerant there). */
  one: HealthThresholds;
  /** Which measured latency is compared with the profile: INFaaS uses the average; `p95` compares tails. */
  latency: 'avg' | 'p95';
  /** Also flag overloaded when arrivals exceed the replicas' capacity at the observed batch (× this; 0 = off). */
  demandFactor: number;
  /** Batch executions a window must hold before its latency is trusted (0: any). */
  minBatches: number;
  /** A flag stays at least this long (ms) before it may clear. */
  minHoldMs: number;
}

/** INFaaS's CPU defaults: Lh 2.5, Qh 0.5, Oh 0.8, Uh 1.5; one replica: Lh 4, Qh 1.0, Oh 1.1. */
export const INFAAS_CPU_HEALTH: HealthConfig = {
  many: { Lh: 2.5, Qh: 0.5, Oh: 0.8, Uh: 1.5 },
  one: { Lh: 4, Qh: 1.0, Oh: 1.1, Uh: 1.5 },
  latency: 'avg',
  demandFactor: 0,
  minBatches: 0,
  minHoldMs: 0,
};

/** Profiled latencies (ms) at the observed batch, for the comparison INFaaS makes. */
export interface ProfiledLatency {
  p50: number;
  p95: number;
}

/** The remembered flag of one (worker, variant). */
export interface HealthMemory {
  state: HealthState;
  /** When the state was entered (ms). */
  since: number;
}

export const HEALTHY: HealthMemory = { state: 'active', since: 0 };

/**
 * The next health of a variant on a worker.
 * - `inf` = profiled latency at the observed batch (p50 when comparing averages, p95 when comparing tails);
 *   `perSecond` = samples one replica completes per second at that batch = avgBatch·1000/inf(p50).
 * - overloaded when queueLength > Oh·replicas·perSecond, or (demandFactor > 0) arrivals > demandFactor ×
 *   replicas × perSecond;
 * - interfered when latency > Lh·inf (`p95`: the 95th percentile of each run against the profiled p95 at its own
 *   batch, WindowStats.slowdownP95, when the monitor gives it) with enough load (batches/s > Qh·1000/inf and ≥ minBatches batches)
 *   while not overloaded (its load is normal but it runs slow: a neighbour steals the CPU);
 * - a flag clears to active only when the queue is back under the Oh bound, latency < Uh·inf (an idle
 *   window counts as 0, as in INFaaS) and the flag is at least minHoldMs old. Between Uh and Lh nothing
 *   changes: that gap is the hysteresis.
 */
export function assessHealth(prev: HealthMemory, stats: WindowStats, profiled: ProfiledLatency, cfg: HealthConfig, now: number): HealthMemory {
  const th = stats.replicas <= 1 ? cfg.one : cfg.many;
  const batch = Math.max(1, stats.avgBatch);
  const inf = cfg.latency === 'avg' ? profiled.p50 : profiled.p95;
  const perSecond = (batch * 1000) / Math.max(profiled.p50, 1e-9);
  const replicas = Math.max(1, stats.replicas);
  const measured = cfg.latency === 'avg' ? stats.avgMs : stats.p95Ms;
  // How many times the profile: for tails, each run against the profile at its own batch when the monitor says
  // (a p95 over a mix of batch sizes against the profile at the mean batch reads large batches as slowness).
  const ratio = cfg.latency === 'p95' && (stats.slowdownP95 ?? 0) > 0 ? stats.slowdownP95! : measured / Math.max(inf, 1e-9);
  const batchesPerS = stats.completedQps / batch;

  const queueHigh = stats.queueLength > th.Oh * replicas * perSecond;
  const demandHigh = cfg.demandFactor > 0 && stats.arrivalQps > cfg.demandFactor * replicas * perSecond;
  const trusted = batchesPerS > (th.Qh * 1000) / Math.max(inf, 1e-9) && batchesPerS >= cfg.minBatches;
  const slow = trusted && ratio > th.Lh;

  let next: HealthState | undefined;
  if (queueHigh || demandHigh) next = 'overloaded';
  else if (slow) next = 'interfered';
  if (next) return next === prev.state ? prev : { state: next, since: now };
  if (prev.state === 'active') return prev;
  const settled = ratio < th.Uh && now - prev.since >= cfg.minHoldMs;
  return settled ? { state: 'active', since: now } : prev;
}
