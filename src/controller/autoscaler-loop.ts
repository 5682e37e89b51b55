// The live autoscaling loop: every policy tick, turns the worker pool's cached statuses into the policies'
// ClusterSnapshot, calls the pure ScalingPolicy (src/policy/policies) and applies its actions to the real
// workers (load/unload through the worker clients, add/remove workers through the pool), the way the
// simulator (src/sim/simulator.ts) applies them to simulated ones. It also lends the policy's router to the
// dispatcher, so live use-case queries pick variants the way the simulated ones do. Config `autoscaling.policy`.

import type { ReplicaStatus, WorkerClass, WorkerStatus } from '../core/types.ts';
import type { AutoscalingConfig } from '../config/config.ts';
import type { Catalogue } from '../policy/catalogue.ts';
import { infaasPolicy } from '../policy/policies/infaas.ts';
import { OURS_MODELS, OURS_PLACEMENT, oursPolicy } from '../policy/policies/ours.ts';
import { scheduleForecast } from '../policy/load-schedule.ts';
import type { ClusterView } from '../policy/cluster-view.ts';
import type { ClusterSnapshot, DemandForecast, QueryDemand, ScalingAction, ScalingPolicy, VariantSnapshot, WindowStats, WorkerSnapshot } from '../policy/scaling-policy.ts';
import type { Selection } from '../policy/select-variant.ts';
import { specOf, type DispatchWindow } from './dispatcher.ts';
import type { ModelIndex } from './model-index.ts';
import type { PoolLogger } from './worker-pool.ts';
import type { WorkerClient } from '../protocol/worker-protocol.ts';

/** What the loop needs from the worker pool (WorkerPool implements it). */
export interface ScalablePool {
  /** Whether workers can be added and removed (false when they are started by hand: provisioner none). */
  readonly canProvision: boolean;
  /** Latest cached status of every connected worker. */
  snapshot(): WorkerStatus[];
  get(id: string): WorkerClient | undefined;
  /** Starts one more worker; resolves once it is connected. */
  add(workerClass: WorkerClass): Promise<unknown>;
  /** Stops a worker on purpose (queued requests finish first). */
  remove(id: string): Promise<void>;
}

export interface AutoscalerLoopOptions {
  policy: ScalingPolicy<unknown>;
  pool: ScalablePool;
  /** The current model index (its catalogue and variants); read at every tick. */
  index: () => ModelIndex;
  workerClasses: readonly WorkerClass[];
  /** Never fewer workers than this (and never fewer than one), never more than maxWorkers (starting ones count). */
  minWorkers: number;
  maxWorkers: number;
  /** Tick period, ms (default: the policy's tickMs). */
  tickMs?: number;
  /** Wall clock, ms since epoch: the clock of the workers' lastUsedAt (default Date.now). */
  now?: () => number;
  /** What the dispatcher saw since the last tick (drained at every tick): unplaced variants, SLOs per variant. */
  window?: () => DispatchWindow;
  log?: PoolLogger;
}

export interface AutoscalerStats {
  ticks: number;
  /** Actions carried out / skipped because they no longer made sense / that failed. */
  applied: number;
  skipped: number;
  failed: number;
  /** Ticks that threw (policy or snapshot); the loop goes on. */
  errors: number;
  /** The last actions applied, newest last (at most 50), e.g. "unload w1 fmnist-linear.t1.b8.all". */
  recent: string[];
}

const defaultLog: PoolLogger = {
  info: () => undefined,
  warn: (m) => process.stderr.write(`[autoscaler] ${m}\n`),
  error: (m) => process.stderr.write(`[autoscaler] ERROR ${m}\n`),
};

/**
 * The live policy for a config: 'ours' (with its load schedule as its forecast, if any: pass `forecast` when it is
 * already built) or 'infaas' on the initial worker class, within maxWorkers.
 */
export function livePolicy(cfg: AutoscalingConfig, workerClass: string, forecast?: DemandForecast): ScalingPolicy<unknown> {
  switch (cfg.policy) {
    case 'ours': {
      const models = cfg.idleUnloadMs !== undefined ? { ...OURS_MODELS, idleUnloadMs: cfg.idleUnloadMs } : OURS_MODELS;
      // A live worker holds one replica per variant (more are never applied) and runs one batch at a time across
      // them: its compute is one stream, whatever its class's threads.
      const placement = { ...OURS_PLACEMENT, maxReplicasPerWorker: 1, oneBatchPerWorker: true };
      const ahead = forecast ?? (cfg.schedule && scheduleForecast(cfg.schedule));
      return oursPolicy({ workerClass, maxWorkers: cfg.maxWorkers, models, placement, forecast: ahead }) as unknown as ScalingPolicy<unknown>;
    }
    case 'infaas':
      return infaasPolicy(workerClass, cfg.maxWorkers) as unknown as ScalingPolicy<unknown>;
    case 'off':
      throw new Error('autoscaling is off: no policy to build');
  }
}

/**
 * The snapshot the policies see, from worker statuses. Every connected worker is `ready`; `starting` workers
 * (asked for, not yet connected) appear without variants. Utilisation is the busy fraction of the worker
 * process from the monitor's window, Σ batches/s × mean batch ms: a worker process runs one batch at a time
 * (onnxruntime-node runs a session on the calling thread), so a worker running batches back to back is fully
 * used whatever its class's thread count (weighting by threads made a busy cpu-2 worker of 1-thread variants
 * look half idle).
 *  * From the dispatcher's window: `unplaced` (a new replica wanted while every worker held the variant or lacked
 * memory for it), each variant's tightest SLO and highest minimum accuracy (minSloMs, maxMinAccuracy), and the
 * variants loaded explicitly (pinned).
 */
export function toClusterSnapshot(
  statuses: readonly WorkerStatus[], starting: readonly WorkerSnapshot[], catalogue: Catalogue, classes: readonly WorkerClass[], now: number,
  window: DispatchWindow = { unplaced: [], slo: new Map() },
): ClusterSnapshot {
  const workers: WorkerSnapshot[] = [];
  for (const s of statuses) {
    const threads = classes.find((c) => c.name === s.workerClass)?.threads ?? 1;
    let busy = 0;
    const variants: VariantSnapshot[] = [];
    for (const r of s.replicas) {
      if (r.state === 'inactive') continue;
      const st = r.stats;
      if (st && st.avgBatch > 0) busy += (st.completedQps / st.avgBatch) * (st.avgMs / 1000);
      variants.push(variantSnapshot(r, window));
    }
    workers.push({
      id: s.id, workerClass: s.workerClass, phase: 'ready', startedAt: s.startedAt, threads,
      memoryBudgetMB: s.memoryBudgetMB, memoryUsedMB: s.memoryUsedMB, utilisation: Math.min(1, Math.max(0, busy)), variants,
    });
  }
  for (const w of starting) workers.push(w);
  return { now, catalogue, workerClasses: classes, workers, unplaced: window.unplaced };
}

/**
 * One replica as the policies see it. Every snapshot has the same fields in the same order (absent ones undefined),
 * so that the policies' reads of a hundred thousand of them stay monomorphic.
 */
function variantSnapshot(r: ReplicaStatus, window: DispatchWindow): VariantSnapshot {
  const loading = r.state === 'loading' ? 1 : 0;
  const st = r.stats;
  const stats: WindowStats = st
    ? { arrivalQps: st.arrivalQps, completedQps: st.completedQps, queueLength: st.queueLength, avgBatch: st.avgBatch, avgMs: st.avgMs, p50Ms: st.p50Ms, p95Ms: st.p95Ms, e2eP95Ms: st.e2eP95Ms, replicas: st.replicas,
      slowdownP50: st.slowdownP50, slowdownP95: st.slowdownP95 }
    : { arrivalQps: 0, completedQps: 0, queueLength: r.queued, avgBatch: 0, avgMs: 0, p50Ms: 0, p95Ms: 0, e2eP95Ms: 0, replicas: 0, slowdownP50: undefined, slowdownP95: undefined };
  const state = r.state === 'inactive' ? 'active' : r.state;
  const d = window.slo.get(r.variant);
  return {
    variant: r.variant, replicas: loading ? 0 : Math.max(1, st?.replicas ?? 1), loading, state, stats, lastUsedAt: r.lastUsedAt,
    minSloMs: d?.minSloMs, maxMinAccuracy: d?.maxMinAccuracy, pinned: window.pinned?.has(r.variant) === true ? true : undefined,
  };
}

export class AutoscalerLoop {
  readonly #o: AutoscalerLoopOptions;
  readonly #log: PoolLogger;
  readonly #now: () => number;
  readonly #tickMs: number;
  #state: unknown;
  #running?: Promise<void>;
  #closed = false;
  /** Classes of the workers asked for and not yet connected. */
  readonly #pending: WorkerClass[] = [];
  readonly #stats: AutoscalerStats = { ticks: 0, applied: 0, skipped: 0, failed: 0, errors: 0, recent: [] };

  constructor(opts: AutoscalerLoopOptions) {
    this.#o = opts;
    this.#log = opts.log ?? defaultLog;
    this.#now = opts.now ?? Date.now;
    this.#tickMs = opts.tickMs ?? opts.policy.tickMs;
    this.reset();
  }

  /**
   * Starts the policy afresh (a controller that becomes the autoscaling leader again must not act on what it
   * remembered from its last term). The live cluster is already started: the initial workers init() asks for are
   * not used, only its state.
   */
  reset(): void {
    this.#state = this.#o.policy.init({ catalogue: this.#o.index().catalogue, workerClasses: this.#o.workerClasses, mix: [], peakQps: 0 }).state;
  }

  /** The tick period, ms: the controller's control loop calls tickOnce() at it (on the autoscaling leader only). */
  get tickMs(): number {
    return this.#tickMs;
  }

  /** The policy's router with its current state: the dispatcher's use-case routing while the loop runs. */
  route(q: QueryDemand, view: ClusterView, catalogue: Catalogue, now: number): Selection {
    return this.#o.policy.route(q, view, catalogue, now, this.#state);
  }

  stats(): AutoscalerStats {
    return { ...this.#stats, recent: [...this.#stats.recent] };
  }

  /** One tick now (also what the timer runs); never rejects. Waits for a tick already running instead of overlapping. */
  tickOnce(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = this.#tick().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops ticking; resolves when a tick in progress has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    let actions: ScalingAction[];
    const index = this.#o.index();
    try {
      const now = this.#now();
      const starting: WorkerSnapshot[] = this.#pending.map((cls, i) => ({
        id: `starting-${i}`, workerClass: cls.name, phase: 'starting', startedAt: now, threads: cls.threads,
        memoryBudgetMB: 0, memoryUsedMB: 0, utilisation: 0, variants: [],
      }));
      const snapshot = toClusterSnapshot(this.#o.pool.snapshot(), starting, index.catalogue, this.#o.workerClasses, now, this.#o.window?.());
      const out = this.#o.policy.tick(snapshot, now, this.#state);
      this.#state = out.state;
      actions = out.actions;
      this.#stats.ticks++;
    } catch (e) {
      this.#stats.errors++;
      this.#log.error(`policy ${this.#o.policy.name} tick failed: ${(e as Error).stack ?? e}`);
      return;
    }
    const held = new HeldIndex(this.#o.pool.snapshot());
    for (const a of actions) {
      if (this.#closed) return;
      try {
        const done = await this.#apply(a, index, held);
        if (done) {
          this.#stats.applied++;
          const line = describe(a);
          this.#stats.recent.push(line);
          if (this.#stats.recent.length > 50) this.#stats.recent.shift();
          this.#log.info(`${this.#o.policy.name}: ${line}`);
        } else this.#stats.skipped++;
      } catch (e) {
        this.#stats.failed++;
        this.#log.warn(`${describe(a)} failed: ${(e as Error).message}`);
      }
    }
  }

  /** Applies one action; false when it no longer makes sense (skipped). */
  async #apply(a: ScalingAction, index: ModelIndex, heldIndex: HeldIndex): Promise<boolean> {
    const pool = this.#o.pool;
    if (a.kind === 'addWorker') {
      const cls = this.#o.workerClasses.find((c) => c.name === a.workerClass);
      if (!cls || !pool.canProvision || pool.snapshot().length + this.#pending.length >= this.#o.maxWorkers) return false;
      this.#pending.push(cls);
      void pool.add(cls).then(
        () => this.#log.info(`added a ${cls.name} worker`),
        (e: Error) => this.#log.warn(`adding a ${cls.name} worker failed: ${e.message}`),
      ).finally(() => this.#pending.splice(this.#pending.indexOf(cls), 1));
      return true;
    }
    const status = heldIndex.status(a.worker);
    const client = pool.get(a.worker);
    if (!status || !client) return false;
    if (a.kind === 'removeWorker') {
      if (!pool.canProvision || pool.snapshot().length <= Math.max(1, this.#o.minWorkers)) return false;
      await pool.remove(a.worker);
      return true;
    }
    const held = heldIndex.held(a.worker, a.variant);
    switch (a.kind) {
      case 'load':
      case 'addReplica': {
        // A worker holds one replica of a variant: one more replica is a load where it has none.
        if (held) return false;
        const v = index.variants.get(a.variant);
        if (!v || status.memoryBudgetMB - status.memoryUsedMB < v.profile.memoryMB) return false;
        await client.load(specOf(v, index.architecture(v.arch)));
        heldIndex.loaded(a.worker, a.variant, v.profile.memoryMB);
        return true;
      }
      case 'unload':
      case 'removeReplica':
        if (!held) return false;
        heldIndex.unloaded(a.worker, a.variant);
        return client.unload(a.variant);
      case 'setHealth':
        // The workers' own monitors flag their replicas, and the LiveClusterView takes the flags from their
        // statuses at every poll; a controller-side flag would be overwritten within a second. Not applied.
        return false;
    }
  }
}

/**
 * The workers' statuses at the start of a tick, indexed by worker and variant, and kept up to date with the
 * tick's own loads and unloads: a tick of thousands of actions looks each one up in O(1) (scanning every
 * replica of every status per action was quadratic: 6,000 idle unloads blocked the controller for seconds).
 */
class HeldIndex {
  readonly #statuses = new Map<string, WorkerStatus>();
  readonly #replicas = new Map<string, Map<string, ReplicaStatus>>();

  constructor(statuses: readonly WorkerStatus[]) {
    for (const s of statuses) this.#statuses.set(s.id, { ...s });
  }

  status(worker: string): WorkerStatus | undefined {
    return this.#statuses.get(worker);
  }

  /** The worker's serving or loading replica of the variant. */
  held(worker: string, variant: string): ReplicaStatus | undefined {
    return this.#of(worker)?.get(variant);
  }

  loaded(worker: string, variant: string, memoryMB: number): void {
    const s = this.#statuses.get(worker);
    if (s) s.memoryUsedMB += memoryMB;
    this.#of(worker)?.set(variant, { variant, state: 'loading', queued: 0, lastUsedAt: 0, memoryMB });
  }

  unloaded(worker: string, variant: string): void {
    this.#of(worker)?.delete(variant);
  }

  #of(worker: string): Map<string, ReplicaStatus> | undefined {
    let m = this.#replicas.get(worker);
    const s = this.#statuses.get(worker);
    if (!m && s) {
      m = new Map(s.replicas.filter((r) => r.state !== 'inactive' && r.state !== 'unloading').map((r) => [r.variant, r]));
      this.#replicas.set(worker, m);
    }
    return m;
  }
}

function describe(a: ScalingAction): string {
  switch (a.kind) {
    case 'addWorker': return `addWorker ${a.workerClass}`;
    case 'removeWorker': return `removeWorker ${a.worker}`;
    case 'setHealth': return `setHealth ${a.worker} ${a.variant} ${a.state}`;
    default: return `${a.kind} ${a.worker} ${a.variant}`;
  }
}

