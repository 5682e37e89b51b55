// Run metrics of the simulator: a log-bucket latency histogram (O(1) record, percentiles at the end)
// and the counters every policy is judged by.

/** Latency histogram with 1% wide buckets from 1 µs to ~10^7 ms. */
export class LatencyHistogram {
  private static readonly BASE = Math.log(1.01);
  private static readonly MIN = 1e-3;
  private readonly counts = new Float64Array(2400);
  count = 0;

  record(ms: number): void {
    const i = ms <= LatencyHistogram.MIN ? 0 : Math.min(this.counts.length - 1, Math.ceil(Math.log(ms / LatencyHistogram.MIN) / LatencyHistogram.BASE));
    this.counts[i]++;
    this.count++;
  }

  /** The q-quantile (0..1), within 1%; 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= target) return LatencyHistogram.MIN * Math.pow(1.01, i);
    }
    return Infinity;
  }
}

/** What one simulated run measured (over the trace, after warm-up). */
export interface RunMetrics {
  policy: string;
  trace: string;
  durationS: number;
  peakQps: number;
  queries: number;
  completed: number;
  /** Rejected: no variant could serve it, no worker could hold one, or its deadline passed before it ran. */
  rejected: number;
  /** Why: no variant meets the SLO; no worker could hold the variant; deadline passed while queued. */
  rejectedBy: { unsatisfiable: number; unplaced: number; deadline: number };
  /** Completed after their SLO. */
  late: number;
  /** (late + rejected) / queries. */
  violationRate: number;
  /** Σ worker-seconds × class price, currency units. */
  cost: number;
  /** Mean accuracy (%) of the variants that served completed queries. */
  avgAccuracy: number;
  /** Busy thread-time / ready thread-time. */
  utilisation: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanWorkers: number;
  maxWorkers: number;
  /** Variant loads started (cold starts + autoscaler loads and replicas). */
  loads: number;
  /** Wall-clock seconds the run took, events processed, and queries simulated including warm-up. */
  wallS: number;
  events: number;
  simulatedQueries: number;
}

/** One point per monitoring window, for charts. */
export interface SeriesPoint {
  /** Seconds since the start of the trace. */
  t: number;
  /** Arrivals per second in the window. */
  qps: number;
  workers: number;
  /** Violations (late or rejected) per second. */
  violations: number;
}
