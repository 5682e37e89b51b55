// The load generator's report: per-request records in, latency percentiles, SLO attainment, errors by code,
// offered vs achieved rate and cost out. Pure: no clock, no I/O.

/** What happened to one request of a load run. */
export interface RequestRecord {
  /** Planned send time, seconds from the start of the run (the Poisson arrival). */
  scheduledS: number;
  /** How late the request was actually sent, ms (the generator's own lag; ≥ 0). */
  sendLagMs: number;
  /**
   * From the planned send time to the end of the reply, ms (open-loop latency: it includes any wait for a free
   * socket, so a slow server cannot hide its queueing by slowing the generator down). Undefined when it never
   * completed (timeout).
   */
  latencyMs?: number;
  /**
   * From the moment the request was written to its socket (handed to the OS) to the end of the reply, ms: what the
   * server is answerable for, without the generator's own lag or its wait for a free socket. Undefined when it never
   * completed or was never written.
   */
  sinceWriteMs?: number;
  /** The server's own time for it (a 2xx reply's timing.totalMs), ms, when it said. */
  serverMs?: number;
  /** HTTP status; 0 when no HTTP reply came (connection error, timeout). */
  status: number;
  /** The server's stable error code (e.g. SLO_UNSATISFIABLE), or a client-side code: TIMEOUT, NETWORK. */
  code?: string;
  /** Which variant and worker served it (2xx only). */
  variant?: string;
  worker?: string;
}

/** What a variant costs (from GET /v1/variants/:name). */
export interface VariantCost {
  costPer1k: number;
  workerClass?: string;
}

export interface LoadReport {
  trace: string;
  durationS: number;
  /** Requests planned by the trace (all are sent: open loop). */
  requests: number;
  ok: number;
  /** ok whose latency ≤ sloMs. */
  withinSlo: number;
  sloMs: number;
  /** withinSlo / requests: errors and timeouts count as misses. 1 for an empty run. */
  sloAttainment: number;
  /** Latency of the 2xx replies, ms. */
  latency: { p50: number; p95: number; p99: number; max: number; mean: number };
  /**
   * The 2xx replies timed from the moment each request was written (RequestRecord.sinceWriteMs): how many arrived
   * after the SLO, their share of the 2xx replies (0 when none), and percentiles.
   */
  sinceWrite: { late: number; lateShare: number; p50: number; p99: number; max: number };
  /** The 2xx replies whose server-side time (RequestRecord.serverMs) was over the SLO, and their share of the 2xx replies. */
  serverLate: { late: number; lateShare: number };
  /** The generator's own event-loop delay during the run, ms, when measured: the lag it adds to replies it reads late. */
  generatorLag?: { p99: number; max: number };
  /** Lag of the sends behind their schedule, ms. */
  sendLag: { p50: number; p99: number; max: number };
  /** "<status> <code>" → count, e.g. "503 UNAVAILABLE", "0 TIMEOUT". */
  errors: Record<string, number>;
  /** requests / durationS. */
  offeredQps: number;
  /** ok / elapsed wall time of the run (first send to last reply). */
  achievedQps: number;
  /** Queries served per variant. */
  variants: Record<string, number>;
  workers: Record<string, number>;
  /**
   * Per-query cost, the INFaaS / simulator accounting: Σ over served variants of costPer1k × queries / 1000
   * (costPer1k from each variant's profile). Undefined when no cost is known.
   */
  queryCost?: number;
  /** Mean costPer1k of the served queries. */
  costPer1k?: number;
  /** Worker cost of the run, when given: Σ worker-seconds × class price per hour / 3600. */
  workerCost?: number;
  /** Most workers seen running during the run, when watched. */
  maxWorkers?: number;
}

/** p-th percentile (0..100) by nearest rank of an ascending array; NaN when empty. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface ReportInput {
  trace: string;
  durationS: number;
  sloMs: number;
  records: readonly RequestRecord[];
  /** Wall time from the first send to the last reply, seconds. */
  elapsedS: number;
  costs?: ReadonlyMap<string, VariantCost>;
  workerCost?: number;
  maxWorkers?: number;
  generatorLag?: { p99: number; max: number };
}

export function buildReport(inp: ReportInput): LoadReport {
  const okLat: number[] = [];
  const written: number[] = [];
  let lateWritten = 0;
  let lateServer = 0;
  const lags: number[] = [];
  const errors: Record<string, number> = {};
  const variants: Record<string, number> = {};
  const workers: Record<string, number> = {};
  let withinSlo = 0;
  for (const r of inp.records) {
    lags.push(r.sendLagMs);
    if (r.status >= 200 && r.status < 300 && r.latencyMs !== undefined) {
      okLat.push(r.latencyMs);
      if (r.latencyMs <= inp.sloMs) withinSlo++;
      if (r.serverMs !== undefined && r.serverMs > inp.sloMs) lateServer++;
      if (r.sinceWriteMs !== undefined) {
        written.push(r.sinceWriteMs);
        if (r.sinceWriteMs > inp.sloMs) lateWritten++;
      }
      if (r.variant) variants[r.variant] = (variants[r.variant] ?? 0) + 1;
      if (r.worker) workers[r.worker] = (workers[r.worker] ?? 0) + 1;
    } else {
      const key = `${r.status} ${r.code ?? 'ERROR'}`;
      errors[key] = (errors[key] ?? 0) + 1;
    }
  }
  okLat.sort((a, b) => a - b);
  written.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  let queryCost: number | undefined;
  let costed = 0;
  if (inp.costs) {
    for (const [v, n] of Object.entries(variants)) {
      const c = inp.costs.get(v);
      if (!c) continue;
      queryCost = (queryCost ?? 0) + (c.costPer1k * n) / 1000;
      costed += n;
    }
  }
  const n = inp.records.length;
  return {
    trace: inp.trace,
    durationS: inp.durationS,
    requests: n,
    ok: okLat.length,
    withinSlo,
    sloMs: inp.sloMs,
    sloAttainment: n ? withinSlo / n : 1,
    latency: {
      p50: percentileSorted(okLat, 50),
      p95: percentileSorted(okLat, 95),
      p99: percentileSorted(okLat, 99),
      max: okLat.length ? okLat[okLat.length - 1] : NaN,
      mean: okLat.length ? okLat.reduce((s, x) => s + x, 0) / okLat.length : NaN,
    },
    sinceWrite: {
      late: lateWritten,
      lateShare: written.length ? lateWritten / written.length : 0,
      p50: percentileSorted(written, 50),
      p99: percentileSorted(written, 99),
      max: written.length ? written[written.length - 1] : NaN,
    },
    serverLate: { late: lateServer, lateShare: okLat.length ? lateServer / okLat.length : 0 },
    ...(inp.generatorLag ? { generatorLag: inp.generatorLag } : {}),
    sendLag: { p50: percentileSorted(lags, 50), p99: percentileSorted(lags, 99), max: lags.length ? lags[lags.length - 1] : NaN },
    errors,
    offeredQps: inp.durationS > 0 ? n / inp.durationS : 0,
    achievedQps: inp.elapsedS > 0 ? okLat.length / inp.elapsedS : 0,
    variants,
    workers,
    ...(queryCost !== undefined ? { queryCost, costPer1k: (queryCost / costed) * 1000 } : {}),
    ...(inp.workerCost !== undefined ? { workerCost: inp.workerCost } : {}),
    ...(inp.maxWorkers !== undefined ? { maxWorkers: inp.maxWorkers } : {}),
  };
}
