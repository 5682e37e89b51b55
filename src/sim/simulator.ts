// The discrete-event simulator: replays a trace in simulated time over the variant profiles, with
// workers that follow their profiles (noise, threads, load times, memory, noisy neighbours), routing
// through the policy's `route` and scaling through its `tick`. No wall clock decides anything.

import { performance } from 'node:perf_hooks';
import type { Variant, WorkerClass } from '../core/types.ts';
import { Catalogue, p50At, type CatalogueEntry } from '../policy/catalogue.ts';
import type { ClusterSnapshot, QueryClass, QueryDemand, ScalingAction, ScalingPolicy, VariantSnapshot, WorkerSnapshot } from '../policy/scaling-policy.ts';
import { EventQueue } from './event-queue.ts';
import { LatencyHistogram, type RunMetrics, type SeriesPoint } from './metrics.ts';
import { defaultMix, mixSampler } from './query-mix.ts';
import { Holders, SimWorker, Slot, samplingView, type SimQuery } from './sim-cluster.ts';
import { mulberry32, poissonArrivals, type TraceSpec } from './traces.ts';
import { SIM_WORKER_CLASSES } from './variant-source.ts';

/** Noisy neighbours: per worker, episodes at exponential gaps that slow everything on it down. */
export interface InterferenceModel {
  /** Mean gap between episodes on one worker, s. */
  meanGapS: number;
  durationS: [number, number];
  slowdown: [number, number];
}

export const DEFAULT_INTERFERENCE: InterferenceModel = { meanGapS: 600, durationS: [10, 30], slowdown: [2, 4] };

export interface SimOptions {
  trace: TraceSpec;
  policy: ScalingPolicy<unknown>;
  variants: readonly Variant[] | Catalogue;
  /** Default defaultMix(catalogue). */
  mix?: readonly QueryClass[];
  seed?: number;
  /** Seconds replayed from the trace's end before measuring (default 60): policies reach a steady state first. */
  warmupS?: number;
  /** Time from asking for a worker to its being ready, ms (default 5,000). */
  workerStartMs?: number;
  interference?: InterferenceModel | false;
  workerClasses?: readonly WorkerClass[];
  /** Hard cap on live workers (default 5,000). */
  maxWorkers?: number;
}

export interface SimResult {
  metrics: RunMetrics;
  series: SeriesPoint[];
}

type Ev =
  | { t: number; k: 'arrival' }
  | { t: number; k: 'done'; slot: Slot; batch: SimQuery[]; exec: number; expectedEnd: number }
  | { t: number; k: 'loaded'; slot: Slot }
  | { t: number; k: 'ready'; worker: SimWorker }
  | { t: number; k: 'tick' }
  | { t: number; k: 'noise'; worker: SimWorker; on: boolean };

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
  private readonly q = new EventQueue<Ev>();
  private readonly workers = new Map<string, SimWorker>();
  private readonly released: SimWorker[] = [];
  private readonly holders = new Holders();
  private readonly unplaced = new Set<string>();
  private readonly hist = new LatencyHistogram();
  private readonly series: SeriesPoint[] = [];
  private readonly rngArrive: () => number;
  private readonly rngMix: () => number;
  private readonly rngExec: () => number;
  private readonly rngRoute: () => number;
  private readonly rngNoise: () => number;
  private readonly warmupMs: number;
  private readonly endMs: number;
  private readonly startMs: number;
  private readonly tickMs: number;
  private now = 0;
  private state: unknown;
  private nextWorker = 1;
  private arrivals: Iterator<number>;
  // counters (measured queries only)
  private queries = 0;
  private completed = 0;
  private rejected = 0;
  private readonly rejectedBy = { unsatisfiable: 0, unplaced: 0, deadline: 0 };
  private late = 0;
  private accSum = 0;
  private loads = 0;
  private busyMs = 0;
  private readyThreadMs = 0;
  private maxWorkers = 0;
  private events = 0;
  private simulated = 0;
  private wArrivals = 0;
  private wViolations = 0;
  private lastTick = 0;

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
    this.rngNoise = mulberry32(seed ^ 0x61c88647);
    this.warmupMs = (opts.warmupS ?? 60) * 1000;
    this.startMs = this.warmupMs;
    this.endMs = this.warmupMs + opts.trace.durationS * 1000;
    this.tickMs = opts.policy.tickMs;
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
    for (const iw of init.workers) {
      const w = this.addWorker(iw.workerClass, true);
      if (!w) continue;
      for (const { variant, replicas } of iw.variants) {
        const e = this.catalogue.entry(variant);
        if (!e) continue;
        const s = new Slot(w, e, 0);
        s.replicas = replicas;
        w.slots.set(variant, s);
        w.memoryUsedMB += replicas * e.memoryMB;
        this.holders.add(s);
      }
    }
    this.scheduleArrival();
    this.q.push({ t: this.tickMs, k: 'tick' });
    for (let ev = this.q.pop(); ev; ev = this.q.pop()) {
      this.now = ev.t;
      this.events++;
      switch (ev.k) {
        case 'arrival': this.onArrival(); break;
        case 'done': this.onDone(ev.slot, ev.batch, ev.exec, ev.expectedEnd); break;
        case 'loaded': this.onLoaded(ev.slot); break;
        case 'ready': if (ev.worker.phase === 'starting') { ev.worker.phase = 'ready'; ev.worker.integrateBusy(this.now); } break;
        case 'tick': this.onTick(); break;
        case 'noise': this.onNoise(ev.worker, ev.on); break;
      }
    }
    return { metrics: this.metrics((performance.now() - wall0) / 1000), series: this.series };
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
    const q: SimQuery = { arrival: now, deadline: now + cls.latencyMs, cls: ci };
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
    let slot = workerId !== undefined ? this.workers.get(workerId)?.slots.get(variant.name) : undefined;
    if (!slot || slot.unloading) slot = this.joinLoading(variant.name) ?? this.coldStart(this.catalogue.entry(variant.name)!);
    if (!slot) {
      this.unplaced.add(variant.name);
      slot = this.holders.list(variant.name)?.[0];
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

  private readonly view = samplingView(this.holders, () => this.rngRoute(), () => this.now);

  /** A holder of the variant whose first replica is still loading: one cold start at a time per variant. */
  private joinLoading(name: string): Slot | undefined {
    const a = this.holders.list(name);
    if (!a) return undefined;
    for (const s of a) if (s.replicas === 0) return s;
    return undefined;
  }

  /**
   * A replica of `e` for the dispatcher: a draining one brought back, else a new one on the ready worker with
   * the fewest reserved threads that has the memory. O(workers).
   */
  private coldStart(e: CatalogueEntry): Slot | undefined {
    let best: SimWorker | undefined;
    let bestLoad = Infinity;
    for (const w of this.workers.values()) {
      if (w.phase !== 'ready') continue;
      const held = w.slots.get(e.name);
      if (held?.unloading) {
        // still draining there: cancel the unload instead of loading it anew
        held.unloading = false;
        this.holders.add(held);
        return held;
      }
      if (held || w.memoryBudget() - w.memoryUsedMB < e.memoryMB) continue;
      const load = w.reservedThreads() / w.threads + w.busyThreads / (10 * w.threads);
      if (load < bestLoad) { best = w; bestLoad = load; }
    }
    return best ? this.load(best, e) : undefined;
  }

  private load(w: SimWorker, e: CatalogueEntry): Slot {
    const s = new Slot(w, e, this.now);
    w.slots.set(e.name, s);
    this.holders.add(s);
    this.addReplica(s);
    return s;
  }

  private addReplica(s: Slot): void {
    if (s.replicas === 0 && s.loading === 0) s.readyAt = this.now + s.entry.loadMs;
    s.loading++;
    s.worker.memoryUsedMB += s.entry.memoryMB;
    this.loads++;
    this.q.push({ t: this.now + s.entry.loadMs, k: 'loaded', slot: s });
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
    for (const q of batch) {
      const lat = now - q.arrival;
      s.wE2e.push(lat);
      if (q.arrival < this.startMs || q.arrival >= this.endMs) continue;
      this.completed++;
      this.hist.record(lat);
      this.accSum += s.entry.accuracy;
      if (now > q.deadline) { this.late++; this.wViolations++; }
    }
    if (s.unloading && s.head === s.queue.length && s.running === 0) this.freeSlot(s);
    this.tryStart(w);
    if (w.phase === 'draining' && w.idle()) this.release(w);
  }

  private reject(q: SimQuery, why: keyof RunMetrics['rejectedBy']): void {
    if (q.arrival < this.startMs || q.arrival >= this.endMs) return;
    this.rejected++;
    this.rejectedBy[why]++;
    this.wViolations++;
  }

  // ---- workers ----

  private addWorker(clsName: string, immediately: boolean): SimWorker | undefined {
    const cls = this.classes.get(clsName);
    if (!cls || this.workers.size >= (this.opts.maxWorkers ?? 5000)) return undefined;
    const id = `w${this.nextWorker++}`;
    const readyAt = immediately ? this.now : this.now + (this.opts.workerStartMs ?? 5000);
    const w = new SimWorker(id, cls, this.now, readyAt);
    this.workers.set(id, w);
    if (!immediately) this.q.push({ t: readyAt, k: 'ready', worker: w });
    const noise = this.opts.interference ?? DEFAULT_INTERFERENCE;
    if (noise) this.q.push({ t: this.now + this.expo(noise.meanGapS * 1000), k: 'noise', worker: w, on: true });
    return w;
  }

  private expo(mean: number): number {
    return -Math.log(1 - this.rngNoise()) * mean;
  }

  private onNoise(w: SimWorker, on: boolean): void {
    const noise = this.opts.interference;
    if (w.releasedAt !== Infinity || noise === false) return;
    const m = noise ?? DEFAULT_INTERFERENCE;
    if (this.now >= this.endMs) return;
    if (on) {
      w.interference = m.slowdown[0] + this.rngNoise() * (m.slowdown[1] - m.slowdown[0]);
      const dur = (m.durationS[0] + this.rngNoise() * (m.durationS[1] - m.durationS[0])) * 1000;
      this.q.push({ t: this.now + dur, k: 'noise', worker: w, on: false });
    } else {
      w.interference = 1;
      this.q.push({ t: this.now + this.expo(m.meanGapS * 1000), k: 'noise', worker: w, on: true });
    }
  }

  private release(w: SimWorker): void {
    w.integrateBusy(this.now);
    w.releasedAt = this.now;
    for (const s of w.slots.values()) this.holders.remove(s);
    this.workers.delete(w.id);
    this.released.push(w);
  }

  private freeSlot(s: Slot): void {
    this.holders.remove(s);
    s.worker.slots.delete(s.entry.name);
    s.worker.memoryUsedMB -= (s.replicas + s.loading) * s.entry.memoryMB;
  }

  // ---- monitoring and policy ----

  private onTick(): void {
    const now = this.now;
    const windowMs = now - this.lastTick;
    const measuring = now > this.startMs && this.lastTick < this.endMs;
    const snapWorkers: WorkerSnapshot[] = [];
    for (const w of this.workers.values()) {
      w.integrateBusy(now);
      const readyMs = w.phase === 'starting' ? 0 : Math.min(windowMs, now - w.readyAt);
      const utilisation = readyMs > 0 ? Math.min(1, w.busyIntegral / (w.threads * readyMs)) : 0;
      if (measuring) {
        this.busyMs += w.busyIntegral;
        this.readyThreadMs += w.threads * readyMs;
      }
      w.busyIntegral = 0;
      const variants: VariantSnapshot[] = [];
      for (const s of w.slots.values()) variants.push(this.variantSnapshot(s, windowMs));
      snapWorkers.push({
        id: w.id, workerClass: w.cls.name, phase: w.phase, startedAt: w.startedAt, threads: w.threads,
        memoryBudgetMB: w.memoryBudget(), memoryUsedMB: w.memoryUsedMB, utilisation, variants,
      });
    }
    if (measuring) {
      this.maxWorkers = Math.max(this.maxWorkers, this.workers.size);
      this.series.push({ t: (now - this.startMs) / 1000, qps: (this.wArrivals * 1000) / windowMs, workers: this.workers.size, violations: (this.wViolations * 1000) / windowMs });
    }
    this.wArrivals = 0;
    this.wViolations = 0;
    const snapshot: ClusterSnapshot = {
      now, catalogue: this.catalogue, workerClasses: [...this.classes.values()], workers: snapWorkers, unplaced: [...this.unplaced],
    };
    this.unplaced.clear();
    const out = this.opts.policy.tick(snapshot, now, this.state);
    this.state = out.state;
    for (const a of out.actions) this.apply(a);
    this.lastTick = now;
    if (now < this.endMs) this.q.push({ t: now + this.tickMs, k: 'tick' });
  }

  private variantSnapshot(s: Slot, windowMs: number): VariantSnapshot {
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
      },
      ...(s.wMinSlo !== Infinity ? { minSloMs: s.wMinSlo, maxMinAccuracy: s.wMaxAcc } : {}),
    };
    s.resetWindow();
    return v;
  }

  private apply(a: ScalingAction): void {
    if (a.kind === 'addWorker') {
      this.addWorker(a.workerClass, false);
      return;
    }
    const w = this.workers.get(a.worker);
    if (!w) return;
    if (a.kind === 'removeWorker') {
      if (w.phase === 'draining') return;
      w.phase = 'draining';
      for (const s of w.slots.values()) this.holders.remove(s);
      if (w.idle()) this.release(w);
      return;
    }
    const e = this.catalogue.entry(a.variant);
    const s = w.slots.get(a.variant);
    if (!e || w.phase !== 'ready') return;
    switch (a.kind) {
      case 'load':
        if (s) {
          if (s.unloading) { s.unloading = false; this.holders.add(s); }
        } else if (w.memoryBudget() - w.memoryUsedMB >= e.memoryMB) this.load(w, e);
        break;
      case 'addReplica':
        if (s && !s.unloading && w.memoryBudget() - w.memoryUsedMB >= e.memoryMB) this.addReplica(s);
        break;
      case 'removeReplica':
        if (s && !s.unloading && s.replicas > 1) {
          s.replicas--;
          w.memoryUsedMB -= e.memoryMB;
        } else if (s) this.unload(s);
        break;
      case 'unload':
        if (s) this.unload(s);
        break;
      case 'setHealth':
        if (s) s.health = a.state;
        break;
    }
  }

  private unload(s: Slot): void {
    if (s.unloading) return;
    s.unloading = true;
    this.holders.remove(s);
    if (s.head === s.queue.length && s.running === 0) this.freeSlot(s);
  }

  private metrics(wallS: number): RunMetrics {
    const span = this.endMs - this.startMs;
    let cost = 0, workerMs = 0;
    for (const w of [...this.workers.values(), ...this.released]) {
      const ms = Math.min(w.releasedAt, this.endMs) - Math.max(w.startedAt, this.startMs);
      if (ms <= 0) continue;
      workerMs += ms;
      cost += (w.cls.pricePerHour * ms) / 3.6e6;
    }
    const viol = this.late + this.rejected;
    return {
      policy: this.opts.policy.name,
      trace: this.opts.trace.name,
      durationS: this.opts.trace.durationS,
      peakQps: this.opts.trace.peakQps,
      queries: this.queries,
      completed: this.completed,
      rejected: this.rejected,
      rejectedBy: { ...this.rejectedBy },
      late: this.late,
      violationRate: this.queries ? viol / this.queries : 0,
      cost,
      avgAccuracy: this.completed ? this.accSum / this.completed : 0,
      utilisation: this.readyThreadMs ? this.busyMs / this.readyThreadMs : 0,
      p50Ms: this.hist.quantile(0.5),
      p95Ms: this.hist.quantile(0.95),
      p99Ms: this.hist.quantile(0.99),
      meanWorkers: workerMs / span,
      maxWorkers: this.maxWorkers,
      loads: this.loads,
      wallS,
      events: this.events,
      simulatedQueries: this.simulated,
    };
  }
}
