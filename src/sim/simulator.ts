// The discrete-event simulator: replays a trace in simulated time over the variant profiles, with
// workers that follow their profiles (noise, threads, load times, memory, noisy neighbours), routing
// through the policy's `route` and scaling through its `tick`. No wall clock decides anything.
// The fleet (workers, loads, scaling actions) lives in sim-fleet.ts; snapshots and metrics in sim-report.ts.

import { performance } from 'node:perf_hooks';
import type { Variant, WorkerClass } from '../core/types.ts';
import { invalid } from '../core/errors.ts';
import { Catalogue, p50At, p95At } from '../policy/catalogue.ts';
import type { ClusterSnapshot, DemandForecast, QueryClass, QueryDemand, ScalingPolicy, VariantSnapshot, WorkerSnapshot } from '../policy/scaling-policy.ts';
import { EventQueue } from './event-queue.ts';
import { LatencyHistogram, type RunMetrics, type SeriesPoint } from './metrics.ts';
import { defaultMix, mixSampler } from './query-mix.ts';
import { samplingView, type SimQuery, type SimWorker, type Slot } from './sim-cluster.ts';
import { SimFleet, type InterferenceModel, type SimEvent } from './sim-fleet.ts';
import { runMetrics, variantSnapshot } from './sim-report.ts';
import { mulberry32, poissonArrivals, type TraceSpec } from './traces.ts';
import { SIM_WORKER_CLASSES } from './variant-source.ts';

export { DEFAULT_INTERFERENCE, type InterferenceModel } from './sim-fleet.ts';

export interface SimOptions {
  trace: TraceSpec;
  policy: ScalingPolicy<unknown>;
  variants: readonly Variant[] | Catalogue;
  /** Default defaultMix(catalogue). */
  mix?: readonly QueryClass[];
  seed?: number;
  /** Seconds replayed from the trace's end before measuring (DEFAULT_WARMUP_S): policies reach a steady state first. */
  warmupS?: number;
  /** Time from asking for a worker to its being ready, ms (default 5,000). */
  workerStartMs?: number;
  interference?: InterferenceModel | false;
  workerClasses?: readonly WorkerClass[];
  /** Hard cap on live workers (default 5,000). */
  maxWorkers?: number;
  /**
   * Fixed time per query spent outside the worker (HTTP, controller, transport), ms; default 0. Added to every
   * query's latency and taken from the deadline the worker sees, as the live dispatcher does with its budget.
   */
  requestOverheadMs?: number;
}

export interface SimResult {
  metrics: RunMetrics;
  series: SeriesPoint[];
}

/** Seconds of the trace's end replayed before measuring (SimOptions.warmupS). */
export const DEFAULT_WARMUP_S = 60;

/**
 * The trace itself as a perfect forecast on the simulator's clock (warm-up replays the trace's last warmupS
 * seconds, then t = warmupS s is the trace's start): what `ours` would do if it knew the load to come.
 */
export function traceForecast(trace: TraceSpec, leadMs: number, warmupS = DEFAULT_WARMUP_S): DemandForecast {
  const d = trace.durationS;
  return { leadMs, rate: (t) => trace.rate((((t / 1000 - warmupS) % d) + d) % d) };
}

/** Runs one policy over one trace. Deterministic for a given seed. */
export function simulate(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

class Simulation {
  private readonly catalogue: Catalogue;
  private readonly mix: readonly QueryClass[];
  private readonly demands: QueryDemand[];
  private readonly pickClass: (u: number) => number;
  private readonly classes: ReadonlyMap<string, WorkerClass>;
  private readonly q = new EventQueue<SimEvent>();
  private readonly fleet: SimFleet;
  private readonly view: ReturnType<typeof samplingView>;
  private readonly unplaced = new Set<string>();
  private readonly hist = new LatencyHistogram();
  private readonly series: SeriesPoint[] = [];
  private readonly rngArrive: () => number;
  private readonly rngMix: () => number;
  private readonly rngExec: () => number;
  private readonly rngRoute: () => number;
  private readonly warmupMs: number;
  private readonly endMs: number;
  private readonly startMs: number;
  private readonly tickMs: number;
  private state: unknown;
  private arrivals: Iterator<number>;
  // counters (measured queries only)
  private queries = 0;
  private completed = 0;
  private rejected = 0;
  private readonly rejectedBy = { unsatisfiable: 0, unplaced: 0, deadline: 0 };
  private readonly overheadMs: number;
  private late = 0;
  private accSum = 0;
  private busyMs = 0;
  private readyThreadMs = 0;
  private maxWorkers = 0;
  private events = 0;
  private simulated = 0;
  private wArrivals = 0;
  private wViolations = 0;
  private lastTick = 0;

  /** Simulated time, ms (the fleet's clock, advanced by the event loop). */
  private get now(): number {
    return this.fleet.now;
  }

  constructor(private readonly opts: SimOptions) {
    this.catalogue = opts.variants instanceof Catalogue ? opts.variants : new Catalogue(opts.variants);
    this.mix = opts.mix ?? defaultMix(this.catalogue);
    this.demands = this.mix.map((c) => ({ useCase: c.useCase, minAccuracy: c.minAccuracy, latencyMs: c.latencyMs, batch: 1 }));
    this.pickClass = mixSampler(this.mix);
    this.classes = new Map((opts.workerClasses ?? SIM_WORKER_CLASSES).map((c) => [c.name, c]));
    const seed = opts.seed ?? 1;
    this.rngArrive = mulberry32(seed);
    this.rngMix = mulberry32(seed ^ 0x5bd1e995);
    this.rngExec = mulberry32(seed ^ 0x27d4eb2f);
    this.rngRoute = mulberry32(seed ^ 0x165667b1);
    this.warmupMs = (opts.warmupS ?? DEFAULT_WARMUP_S) * 1000;
    this.overheadMs = opts.requestOverheadMs ?? 0;
    if (!(this.overheadMs >= 0)) throw invalid(`requestOverheadMs must be >= 0, got ${opts.requestOverheadMs}`);
    this.startMs = this.warmupMs;
    this.endMs = this.warmupMs + opts.trace.durationS * 1000;
    this.tickMs = opts.policy.tickMs;
    this.fleet = new SimFleet({
      catalogue: this.catalogue, classes: this.classes, queue: this.q, rngNoise: mulberry32(seed ^ 0x61c88647), endMs: this.endMs,
      maxWorkers: opts.maxWorkers, workerStartMs: opts.workerStartMs, interference: opts.interference,
    });
    this.view = samplingView(this.fleet.holders, () => this.rngRoute(), () => this.now);
    this.arrivals = this.arrivalTimes();
  }

  /**
   * Warm-up replays the trace's last warmupS seconds (cyclically) before t = 0: the system has been running
   * this workload before the measured window, so every policy starts from its own steady state.
   */
  private *arrivalTimes(): Generator<number> {
    const tr = this.opts.trace;
    const warmS = this.warmupMs / 1000;
    if (warmS > 0) {
      const off = ((tr.durationS - (warmS % tr.durationS)) % tr.durationS);
      const warm = { name: tr.name, durationS: warmS, peakQps: tr.peakQps, rate: (t: number) => tr.rate((off + t) % tr.durationS) };
      for (const t of poissonArrivals(warm, this.rngArrive)) yield t * 1000;
    }
    for (const t of poissonArrivals(tr, this.rngArrive)) yield this.warmupMs + t * 1000;
  }

  run(): SimResult {
    const wall0 = performance.now();
    const { policy } = this.opts;
    const init = policy.init({ catalogue: this.catalogue, workerClasses: [...this.classes.values()], mix: this.mix, peakQps: this.opts.trace.peakQps });
    this.state = init.state;
    this.fleet.placeInitial(init.workers);
    this.scheduleArrival();
    this.q.push({ t: this.tickMs, k: 'tick' });
    for (let ev = this.q.pop(); ev; ev = this.q.pop()) {
      this.fleet.now = ev.t;
      this.events++;
      switch (ev.k) {
        case 'arrival': this.onArrival(); break;
        case 'done': this.onDone(ev.slot, ev.batch, ev.exec, ev.expectedEnd); break;
        case 'loaded': this.onLoaded(ev.slot); break;
        case 'ready': if (ev.worker.phase === 'starting') { ev.worker.phase = 'ready'; ev.worker.integrateBusy(this.now); } break;
        case 'tick': this.onTick(); break;
        case 'noise': this.fleet.onNoise(ev.worker, ev.on); break;
      }
    }
    this.countStranded();
    return { metrics: this.metrics((performance.now() - wall0) / 1000), series: this.series };
  }

  /**
   * Measured queries still queued when the events ran out (a replica that could never run them, e.g. one a
   * policy loaded on a worker with fewer threads than it needs) were never answered: rejected, so they count
   * as violations and every measured query is accounted for once.
   */
  private countStranded(): void {
    for (const w of this.fleet.workers.values()) {
      for (const s of w.slots.values()) {
        while (s.head < s.queue.length) this.reject(s.shift(), 'unplaced');
      }
    }
  }

  // ---- arrivals and routing ----

  private scheduleArrival(): void {
    const n = this.arrivals.next();
    if (!n.done) this.q.push({ t: n.value, k: 'arrival' });
  }

  private onArrival(): void {
    const now = this.now;
    this.scheduleArrival();
    const ci = this.pickClass(this.rngMix());
    const cls = this.mix[ci];
    const q: SimQuery = { arrival: now, deadline: now + cls.latencyMs - this.overheadMs, cls: ci };
    this.simulated++;
    if (now >= this.startMs) {
      this.queries++;
      this.wArrivals++;
    }
    let variant: Variant;
    let workerId: string | undefined;
    try {
      const sel = this.opts.policy.route(this.demands[ci], this.view, this.catalogue, now, this.state);
      variant = sel.variant;
      workerId = sel.loaded ? sel.workerId : undefined;
    } catch {
      this.reject(q, 'unsatisfiable');
      return;
    }
    let slot = workerId !== undefined ? this.fleet.workers.get(workerId)?.slots.get(variant.name) : undefined;
    if (!slot || slot.unloading) slot = this.fleet.joinLoading(variant.name) ?? this.fleet.coldStart(this.catalogue.entry(variant.name)!);
    if (!slot) {
      this.unplaced.add(variant.name);
      slot = this.fleet.holders.list(variant.name)?.[0];
    }
    if (!slot) {
      this.reject(q, 'unplaced');
      return;
    }
    slot.queue.push(q);
    slot.wArrivals++;
    slot.lastUsedAt = now;
    if (cls.latencyMs < slot.wMinSlo) slot.wMinSlo = cls.latencyMs;
    if (cls.minAccuracy > slot.wMaxAcc) slot.wMaxAcc = cls.minAccuracy;
    this.tryStart(slot.worker);
  }


  private onLoaded(s: Slot): void {
    s.loading--;
    s.replicas++;
    this.tryStart(s.worker);
  }

  // ---- execution ----

  private tryStart(w: SimWorker): void {
    while (w.busyThreads < w.threads) {
      let best: Slot | undefined;
      let bestDl = Infinity;
      for (const s of w.slots.values()) {
        if (s.head === s.queue.length || s.running >= s.replicas) continue;
        if (w.busyThreads + s.entry.variant.config.threads > w.threads) continue;
        const dl = s.queue[s.head].deadline;
        if (dl < bestDl) { best = s; bestDl = dl; }
      }
      if (!best) return;
      this.startBatch(best);
    }
  }

  /**
   * Dynamic batching, work-conserving: when a replica and threads are free, take up to maxBatch queued
   * samples, as many as the head's deadline allows (halving until p50(b) fits); samples that cannot finish
   * in time even alone are rejected early (deadline exceeded) instead of being run late.
   */
  private startBatch(s: Slot): void {
    const now = this.now;
    const e = s.entry;
    const alone = e.p50[0];
    while (s.head < s.queue.length && s.queue[s.head].deadline < now + alone) this.reject(s.shift(), 'deadline');
    if (s.head === s.queue.length) return;
    let b = Math.min(s.queued, e.maxBatch);
    const dl = s.queue[s.head].deadline;
    while (b > 1 && now + p50At(e, b) > dl) b >>= 1;
    s.lastBatch = b;
    const batch: SimQuery[] = new Array(b);
    for (let i = 0; i < b; i++) batch[i] = s.shift();
    const expected = p50At(e, b);
    const exec = expected * Math.exp(s.sigma * this.gauss()) * s.worker.interference;
    const w = s.worker;
    w.integrateBusy(now);
    w.busyThreads += e.variant.config.threads;
    s.running++;
    s.ends.push(now + expected);
    this.q.push({ t: now + exec, k: 'done', slot: s, batch, exec, expectedEnd: now + expected });
  }

  private gauss(): number {
    const u = 1 - this.rngExec();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.rngExec());
  }

  private onDone(s: Slot, batch: SimQuery[], exec: number, expectedEnd: number): void {
    const now = this.now;
    const i = s.ends.indexOf(expectedEnd);
    if (i >= 0) s.ends.splice(i, 1);
    const w = s.worker;
    w.integrateBusy(now);
    w.busyThreads -= s.entry.variant.config.threads;
    s.running--;
    s.wBatches++;
    s.wCompleted += batch.length;
    s.wExec.push(exec);
    s.wSlow50.push(exec / p50At(s.entry, batch.length));
    s.wSlow95.push(exec / p95At(s.entry, batch.length));
    for (const q of batch) {
      const lat = now - q.arrival;
      s.wE2e.push(lat);
      if (q.arrival < this.startMs || q.arrival >= this.endMs) continue;
      this.completed++;
      this.hist.record(lat + this.overheadMs);
      this.accSum += s.entry.accuracy;
      if (now > q.deadline) { this.late++; this.wViolations++; }
    }
    if (s.unloading && s.head === s.queue.length && s.running === 0) this.fleet.freeSlot(s);
    this.tryStart(w);
    if (w.phase === 'draining' && w.idle()) this.fleet.release(w);
  }

  private reject(q: SimQuery, why: keyof RunMetrics['rejectedBy']): void {
    if (q.arrival < this.startMs || q.arrival >= this.endMs) return;
    this.rejected++;
    this.rejectedBy[why]++;
    this.wViolations++;
  }

  // ---- monitoring and policy ----

  private onTick(): void {
    const now = this.now;
    const windowMs = now - this.lastTick;
    const measuring = now > this.startMs && this.lastTick < this.endMs;
    const snapWorkers: WorkerSnapshot[] = [];
    for (const w of this.fleet.workers.values()) {
      w.integrateBusy(now);
      const readyMs = w.phase === 'starting' ? 0 : Math.min(windowMs, now - w.readyAt);
      const utilisation = readyMs > 0 ? Math.min(1, w.busyIntegral / (w.threads * readyMs)) : 0;
      if (measuring) {
        this.busyMs += w.busyIntegral;
        this.readyThreadMs += w.threads * readyMs;
      }
      w.busyIntegral = 0;
      const variants: VariantSnapshot[] = [];
      for (const s of w.slots.values()) variants.push(variantSnapshot(s, windowMs));
      snapWorkers.push({
        id: w.id, workerClass: w.cls.name, phase: w.phase, startedAt: w.startedAt, threads: w.threads,
        memoryBudgetMB: w.memoryBudget(), memoryUsedMB: w.memoryUsedMB, utilisation, variants,
      });
    }
    if (measuring) {
      this.maxWorkers = Math.max(this.maxWorkers, this.fleet.workers.size);
      this.series.push({ t: (now - this.startMs) / 1000, qps: (this.wArrivals * 1000) / windowMs, workers: this.fleet.workers.size, violations: (this.wViolations * 1000) / windowMs });
    }
    this.wArrivals = 0;
    this.wViolations = 0;
    const snapshot: ClusterSnapshot = {
      now, catalogue: this.catalogue, workerClasses: [...this.classes.values()], workers: snapWorkers, unplaced: [...this.unplaced],
    };
    this.unplaced.clear();
    const out = this.opts.policy.tick(snapshot, now, this.state);
    this.state = out.state;
    for (const a of out.actions) this.fleet.apply(a);
    this.lastTick = now;
    if (now < this.endMs) this.q.push({ t: now + this.tickMs, k: 'tick' });
  }

  private metrics(wallS: number): RunMetrics {
    const { policy, trace } = this.opts;
    return runMetrics({
      policy: policy.name, trace: trace.name, durationS: trace.durationS, peakQps: trace.peakQps,
      startMs: this.startMs, endMs: this.endMs, workers: [...this.fleet.workers.values(), ...this.fleet.released],
      queries: this.queries, completed: this.completed, rejected: this.rejected, rejectedBy: this.rejectedBy, late: this.late,
      accSum: this.accSum, hist: this.hist, busyMs: this.busyMs, readyThreadMs: this.readyThreadMs, maxWorkers: this.maxWorkers,
      loads: this.fleet.loads, events: this.events, simulatedQueries: this.simulated,
    }, wallS);
  }
}
