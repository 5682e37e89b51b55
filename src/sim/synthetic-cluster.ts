// A large synthetic cluster for timing the autoscaling policies (bench/scale-tick.ts): a catalogue of any size
// cloned from the zoo's profiles (syntheticVariants), workers holding replicas with per-replica window stats
// (idle, lightly loaded, short of replicas and queueing, slowed by a neighbour, idle past scale-to-zero), the
// ClusterSnapshot the policies see and the WorkerStatuses the live loop would get, and the application of a
// tick's actions, so that consecutive ticks see the cluster their actions made. Seeded: same options, same cluster.

import { mulberry32 } from '../core/random.ts';
import type { ReplicaState, ReplicaStatus, Variant, WindowStats, WorkerClass, WorkerStatus } from '../core/types.ts';
import { Catalogue, p50At, p95At, type CatalogueEntry } from '../policy/catalogue.ts';
import { replicaThroughput, sloBatch } from '../policy/model-autoscaler.ts';
import type { ClusterSnapshot, ScalingAction, VariantSnapshot, WorkerPhase } from '../policy/scaling-policy.ts';
import { readZooManifest, type ZooManifest } from '../zoo/manifest.ts';
import { SIM_WORKER_CLASSES, syntheticVariants } from './variant-source.ts';

/** Profile grid of the synthetic catalogue: 4 variants per artifact. */
const GRID = { threads: [1, 2], maxBatches: [8, 32] };

/**
 * `count` variants (exactly): copies of the zoo's use cases, architectures renamed per copy, each artifact's
 * batch-1 latency and size scaled by 0.7–1.4 and its accuracy moved by ±1 point, through syntheticVariants.
 */
export function scaledVariants(count: number, seed = 1, base: ZooManifest = readZooManifest()): Variant[] {
  const rng = mulberry32(seed);
  const perCopy = syntheticVariants(base, GRID).length;
  const manifest: ZooManifest = { useCases: [] };
  for (let k = 0; k * perCopy < count; k++) {
    for (const uc of base.useCases) {
      manifest.useCases.push({
        ...uc, dataset: `${uc.dataset}-${k}`,
        architectures: uc.architectures.map((a) => ({
          ...a, name: `${a.name}-${k}`,
          artifacts: a.artifacts.map((x) => {
            const f = 0.7 + 0.7 * rng();
            return { ...x, p50MsBatch1: x.p50MsBatch1 * f, bytes: Math.round(x.bytes * f), accuracy: Math.min(100, x.accuracy + 2 * rng() - 1) };
          }),
        })),
      });
    }
  }
  return syntheticVariants(manifest, GRID).slice(0, count);
}

export interface SyntheticClusterOptions {
  workers: number;
  /** Catalogue size (ignored when `catalogue` is given). */
  variants: number;
  /** A catalogue already built by scaledVariants with the same size and seed, to share between clusters. */
  catalogue?: Catalogue;
  /** (worker, variant) placements, one replica each (as a live worker holds them). */
  replicas: number;
  /** Distinct variants held: distinct / 1.25 families (one artifact each) by their primary, the rest siblings. */
  distinct: number;
  seed?: number;
  /** Clock of the first snapshot, ms (default 1.7e12, a wall-clock time as the live loop passes). */
  now?: number;
  workerClass?: WorkerClass;
  /**
   * Shares of the families (the rest idle for less than 30 s): idle past scale-to-zero (default 0.06), short of
   * replicas (0.02: 80–100% of its replicas' capacity plus 1–4 replicas' worth, so the smaller ones queue), lightly
   * loaded (0.35: 1–10% of its replicas' capacity).
   */
  stale?: number;
  hot?: number;
  light?: number;
  /** Share of the workers a noisy neighbour slows 2–4x (default 0.01). */
  slowed?: number;
  /** Variants no worker holds that the dispatcher could not place, per window (default 0: with memory to spare, every cold start finds a worker). */
  unplaced?: number;
  /** Share of the families whose traffic is drawn anew at each advance (default 0.01). */
  drift?: number;
}

type Kind = 'idle' | 'stale' | 'light' | 'hot';
/** One held variant's traffic (all its replicas together). */
interface Traffic { e: CatalogueEntry; kind: Kind; demand: number; sloMs?: number; accuracy?: number; lastUsedAt: number; pinned: boolean }
interface Holding { e: CatalogueEntry; replicas: number; loading: number; state: ReplicaState }
interface Worker { id: string; phase: WorkerPhase; startedAt: number; slow: number; memoryUsedMB: number; holdings: Map<string, Holding> }

/** What the cluster holds right now (for the bench's header). */
export interface ClusterFigures {
  workers: number;
  ready: number;
  replicas: number;
  distinct: number;
  families: Record<Kind, number>;
  slowed: number;
  unplaced: number;
}

export class SyntheticCluster {
  readonly catalogue: Catalogue;
  readonly workerClass: WorkerClass;
  now: number;
  unplaced: string[] = [];
  private readonly o: Required<Omit<SyntheticClusterOptions, 'workerClass' | 'now' | 'seed' | 'catalogue'>>;
  private readonly rng: () => number;
  private readonly workers = new Map<string, Worker>();
  private readonly traffic = new Map<string, Traffic>();
  private nextWorker = 0;

  constructor(opts: SyntheticClusterOptions) {
    this.o = { stale: 0.06, hot: 0.02, light: 0.35, slowed: 0.01, unplaced: 0, drift: 0.01, ...opts };
    this.rng = mulberry32(opts.seed ?? 1);
    this.now = opts.now ?? 1.7e12;
    this.workerClass = opts.workerClass ?? SIM_WORKER_CLASSES.find((c) => c.name === 'cpu-2')!;
    this.catalogue = opts.catalogue ?? new Catalogue(scaledVariants(opts.variants, opts.seed));
    for (let i = 0; i < opts.workers; i++) this.addWorker('ready', this.rng() < this.o.slowed ? 2 + 2 * this.rng() : 1);
    this.populate();
    this.drawUnplaced();
  }

  /**
   * Families (one per artifact, in random order) with their primary and siblings, placed on random workers. An idle
   * family holds one replica (its surplus was shed while it idled); the loaded families share the rest by a Zipf
   * law (exponent 0.7), so a few popular ones are held by hundreds of workers.
   */
  private populate(): void {
    const byArtifact = new Map<string, CatalogueEntry[]>();
    for (const e of this.catalogue.entries()) {
      const a = byArtifact.get(e.variant.artifactId);
      if (a) a.push(e);
      else byArtifact.set(e.variant.artifactId, [e]);
    }
    const artifacts = this.shuffle([...byArtifact.keys()]);
    const nFamilies = Math.min(artifacts.length, Math.round(this.o.distinct / 1.25), this.o.replicas);
    const siblings = Math.min(this.o.distinct - nFamilies, nFamilies, this.o.replicas - nFamilies);
    const families = artifacts.slice(0, nFamilies).map((a) => byArtifact.get(a)!);
    const primaries = families.map((members) => this.drawTraffic(members));
    const loaded = primaries.filter((t) => t.sloMs !== undefined);
    const counts = new Map(primaries.map((t) => [t, 1]));
    const extra = this.o.replicas - nFamilies - siblings;
    const weights = loaded.map((_, i) => (i + 1) ** -0.7);
    const sum = weights.reduce((a, b) => a + b, 0);
    let left = extra;
    loaded.forEach((t, i) => {
      const n = Math.floor((extra * weights[i]) / sum);
      counts.set(t, 1 + n);
      left -= n;
    });
    for (let i = 0; left > 0 && loaded.length > 0; i++, left--) counts.set(loaded[i % loaded.length], counts.get(loaded[i % loaded.length])! + 1);
    const ready = [...this.workers.values()];
    const cap = Math.ceil((2 * this.o.replicas) / Math.max(1, ready.length));
    const place = (t: Traffic, n: number) => {
      const want = Math.min(n, ready.length);
      for (let placed = 0, tries = 0; placed < want && tries < 50 * want; tries++) {
        const w = ready[Math.floor(this.rng() * ready.length)];
        if (w.holdings.has(t.e.name) || (w.holdings.size >= cap && tries < 20 * want)) continue;
        this.hold(w, t.e, 1, 0);
        placed++;
      }
    };
    primaries.forEach((t, i) => {
      this.traffic.set(t.e.name, t);
      place(t, counts.get(t)!);
      if (i >= siblings) return;
      const others = families[i].filter((e) => e !== t.e);
      const s: Traffic = { e: others[Math.floor(this.rng() * others.length)], kind: 'idle', demand: 0, lastUsedAt: this.now - 29_000 * this.rng(), pinned: false };
      // Half the siblings take a little exact-variant traffic (no SLO), which keeps them.
      if (this.rng() < 0.5) Object.assign(s, { kind: 'light', demand: 1 + 10 * this.rng(), lastUsedAt: this.now });
      this.traffic.set(s.e.name, s);
      place(s, 1);
    });
  }

  /**
   * A family's traffic: its kind; for a loaded family an SLO (2–8x the fastest member's batch-1 p95) and the
   * member the policies would run it on (the cheapest whose batch-1 p95 fits half the SLO); demand as a share of
   * the capacity of its replicas, set once they are placed (see refreshDemand).
   */
  private drawTraffic(members: readonly CatalogueEntry[]): Traffic {
    const u = this.rng();
    const kind: Kind = u < this.o.stale ? 'stale' : u < this.o.stale + this.o.hot ? 'hot' : u < this.o.stale + this.o.hot + this.o.light ? 'light' : 'idle';
    const pinned = this.rng() < 0.002;
    if (kind === 'idle' || kind === 'stale') {
      const e = members[Math.floor(this.rng() * members.length)];
      const idleMs = kind === 'stale' ? 31_000 + 90_000 * this.rng() : 29_000 * this.rng();
      return { e, kind, demand: 0, lastUsedAt: this.now - idleMs, pinned };
    }
    const fastest = Math.min(...members.map((e) => p95At(e, 1)));
    const sloMs = 2 * fastest * (1 + 3 * this.rng());
    const byCost = [...members].sort((a, b) => a.costPer1k - b.costPer1k || a.p95b1 - b.p95b1 || (a.name < b.name ? -1 : 1));
    const e = byCost.find((x) => p95At(x, 1) <= sloMs / 2) ?? byCost[0];
    return { e, kind, demand: -1, sloMs, accuracy: e.accuracy, lastUsedAt: this.now, pinned };
  }

  /** Samples/s one replica of the variant completes at its SLO batch. */
  private throughput(t: Traffic): number {
    return replicaThroughput(t.e, t.sloMs !== undefined ? sloBatch(t.e, t.sloMs / 2) : t.e.maxBatch);
  }

  /**
   * Demand of the loaded families whose demand is still to be set: light 1–10% of their replicas' capacity; hot
   * 80–100% of it plus 1–4 replicas' worth (a family on one or two replicas queues; a large one is a few short).
   */
  private refreshDemand(): void {
    const replicas = this.servingReplicas();
    for (const t of this.traffic.values()) {
      if (t.demand >= 0) continue;
      const thr = this.throughput(t);
      const cap = Math.max(1, replicas.get(t.e.name) ?? 0) * thr;
      t.demand = t.kind === 'hot' ? cap * (0.8 + 0.2 * this.rng()) + thr * (1 + 3 * this.rng()) : cap * (0.01 + 0.09 * this.rng());
    }
  }

  private servingReplicas(): Map<string, number> {
    const m = new Map<string, number>();
    for (const w of this.workers.values()) {
      if (w.phase !== 'ready') continue;
      for (const h of w.holdings.values()) if (h.state !== 'unloading' && h.replicas > 0) m.set(h.e.name, (m.get(h.e.name) ?? 0) + h.replicas);
    }
    return m;
  }

  private addWorker(phase: WorkerPhase, slow = 1): Worker {
    const w: Worker = { id: `w${this.nextWorker++}`, phase, startedAt: this.now, slow, memoryUsedMB: 0, holdings: new Map() };
    this.workers.set(w.id, w);
    return w;
  }

  private hold(w: Worker, e: CatalogueEntry, replicas: number, loading: number): void {
    w.holdings.set(e.name, { e, replicas, loading, state: replicas > 0 ? 'active' : 'loading' });
    w.memoryUsedMB += (replicas + loading) * e.memoryMB;
  }

  private shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }

  /** The window's failed cold starts: variants no worker holds. */
  private drawUnplaced(): void {
    const all = this.catalogue.entries();
    const held = this.servingReplicas();
    this.unplaced = [];
    for (let tries = 0; this.unplaced.length < this.o.unplaced && tries < 100 * this.o.unplaced; tries++) {
      const e = all[Math.floor(this.rng() * all.length)];
      if (!held.has(e.name) && !this.unplaced.includes(e.name)) this.unplaced.push(e.name);
    }
  }

  /** The snapshot the policies see: each replica's share of its variant's demand, and the window stats it makes. */
  snapshot(): ClusterSnapshot {
    this.refreshDemand();
    const replicas = this.servingReplicas();
    const workers = [...this.workers.values()].map((w) => {
      let busy = 0;
      const variants: VariantSnapshot[] = [];
      for (const h of w.holdings.values()) {
        const t = this.traffic.get(h.e.name);
        const serving = w.phase === 'ready' && h.state !== 'unloading' && h.replicas > 0;
        const arrival = t && serving ? (t.demand * h.replicas) / (replicas.get(h.e.name) ?? 1) : 0;
        const stats = windowStats(h.e, arrival, h.replicas, w.slow, t?.sloMs);
        if (stats.avgBatch > 0) busy += (stats.completedQps / stats.avgBatch) * stats.avgMs;
        // One shape for every variant (absent fields undefined), as the live loop's snapshots have.
        const slo = t?.sloMs !== undefined && arrival > 0;
        variants.push({
          variant: h.e.name, replicas: h.replicas, loading: h.loading, state: h.state, stats, lastUsedAt: t?.lastUsedAt ?? this.now,
          minSloMs: slo ? t.sloMs : undefined, maxMinAccuracy: slo ? t.accuracy : undefined, pinned: t?.pinned ? true : undefined,
        });
      }
      const utilisation = w.phase === 'ready' ? Math.min(1, busy / (1000 * this.workerClass.threads)) : 0;
      return {
        id: w.id, workerClass: this.workerClass.name, phase: w.phase, startedAt: w.startedAt, threads: this.workerClass.threads,
        memoryBudgetMB: this.workerClass.memoryMB, memoryUsedMB: w.memoryUsedMB, utilisation, variants,
      };
    });
    return { now: this.now, catalogue: this.catalogue, workerClasses: [this.workerClass], workers, unplaced: [...this.unplaced] };
  }

  /**
   * The same cluster as the live loop receives it: the ready workers' statuses, parsed from JSON as the pool gets
   * them from the workers, and the dispatcher's window (SLOs per variant, pinned variants, unplaced cold starts),
   * for toClusterSnapshot.
   */
  statuses(snapshot = this.snapshot()): { statuses: WorkerStatus[]; window: { unplaced: string[]; slo: Map<string, { minSloMs: number; maxMinAccuracy: number }>; pinned: Set<string> } } {
    const slo = new Map<string, { minSloMs: number; maxMinAccuracy: number }>();
    const pinned = new Set<string>();
    const statuses = snapshot.workers.filter((w) => w.phase === 'ready').map((w): WorkerStatus => ({
      id: w.id, workerClass: w.workerClass, address: `10.0.${w.id.slice(1)}`, startedAt: w.startedAt, updatedAt: snapshot.now,
      memoryBudgetMB: w.memoryBudgetMB, memoryUsedMB: w.memoryUsedMB,
      replicas: w.variants.map((v): ReplicaStatus => {
        if (v.minSloMs !== undefined) slo.set(v.variant, { minSloMs: v.minSloMs, maxMinAccuracy: v.maxMinAccuracy ?? 0 });
        if (v.pinned) pinned.add(v.variant);
        const s = v.stats;
        const e = this.catalogue.entry(v.variant)!;
        return {
          variant: v.variant, state: v.state, queued: s.queueLength, lastUsedAt: v.lastUsedAt, memoryMB: e.memoryMB,
          stats: {
            ...s, e2eP50Ms: s.p50Ms, arrivalRps: s.arrivalQps, completedRps: s.completedQps, outstanding: s.queueLength,
            runs: s.avgBatch > 0 ? Math.round(s.completedQps / s.avgBatch) : 0, rejected: 0,
            profileP50Ms: s.avgBatch > 0 ? p50At(e, Math.ceil(s.avgBatch)) : 0, profileP95Ms: s.avgBatch > 0 ? p95At(e, Math.ceil(s.avgBatch)) : 0, windowMs: 1000,
          },
        };
      }),
    }));
    return { statuses: JSON.parse(JSON.stringify(statuses)) as WorkerStatus[], window: { unplaced: [...snapshot.unplaced], slo, pinned } };
  }

  /** Applies a tick's actions the way a shell would start them (loads and new workers finish at the next advance). */
  apply(actions: readonly ScalingAction[]): void {
    for (const a of actions) {
      if (a.kind === 'addWorker') {
        this.addWorker('starting');
        continue;
      }
      const w = this.workers.get(a.worker);
      if (!w || w.phase !== 'ready') continue;
      if (a.kind === 'removeWorker') {
        w.phase = 'draining';
        continue;
      }
      const e = this.catalogue.entry(a.variant);
      const h = w.holdings.get(a.variant);
      if (!e) continue;
      switch (a.kind) {
        case 'load':
          if (h?.state === 'unloading') h.state = h.replicas > 0 ? 'active' : 'loading';
          else if (!h && this.workerClass.memoryMB - w.memoryUsedMB >= e.memoryMB) {
            this.hold(w, e, 0, 1);
            if (!this.traffic.has(e.name)) this.traffic.set(e.name, { e, kind: 'idle', demand: 0, lastUsedAt: this.now, pinned: false });
          }
          break;
        case 'addReplica':
          if (h && h.state !== 'unloading' && this.workerClass.memoryMB - w.memoryUsedMB >= e.memoryMB) {
            h.loading++;
            w.memoryUsedMB += e.memoryMB;
          }
          break;
        case 'removeReplica':
          if (h && h.replicas > 1) {
            h.replicas--;
            w.memoryUsedMB -= e.memoryMB;
          } else if (h) h.state = 'unloading';
          break;
        case 'unload':
          if (h) h.state = 'unloading';
          break;
        case 'setHealth':
          if (h && h.state !== 'unloading' && h.replicas > 0) h.state = a.state;
          break;
      }
    }
  }

  /**
   * One window later: loads finish, unloads and drained workers go, started workers are ready, a `drift` share of
   * the families draw new traffic, and the window's unplaced cold starts are drawn anew.
   */
  advance(ms = 1000): void {
    this.now += ms;
    for (const w of [...this.workers.values()]) {
      if (w.phase === 'draining') {
        this.workers.delete(w.id);
        continue;
      }
      if (w.phase === 'starting') w.phase = 'ready';
      for (const h of [...w.holdings.values()]) {
        if (h.state === 'unloading') {
          w.holdings.delete(h.e.name);
          w.memoryUsedMB -= (h.replicas + h.loading) * h.e.memoryMB;
          continue;
        }
        if (h.loading > 0) {
          h.replicas += h.loading;
          h.loading = 0;
          if (h.state === 'loading') h.state = 'active';
        }
      }
    }
    const held = [...this.traffic.values()];
    for (let i = Math.round(this.o.drift * held.length); i > 0; i--) {
      const t = held[Math.floor(this.rng() * held.length)];
      const family = this.catalogue.byArchCost(t.e.arch).filter((e) => e.variant.artifactId === t.e.variant.artifactId);
      const next = this.drawTraffic(family);
      // Traffic that stops leaves lastUsedAt where it was: the variant goes stale idleUnloadMs later.
      if (next.sloMs === undefined) Object.assign(t, { kind: next.kind, demand: 0 });
      else Object.assign(t, { kind: next.kind, demand: -1, sloMs: t.sloMs ?? Math.max(next.sloMs, 2 * p95At(t.e, 1)), accuracy: t.accuracy ?? next.accuracy });
    }
    for (const t of this.traffic.values()) if (t.demand !== 0) t.lastUsedAt = this.now;
    this.drawUnplaced();
  }

  figures(): ClusterFigures {
    const held = this.servingReplicas();
    const families: Record<Kind, number> = { idle: 0, stale: 0, light: 0, hot: 0 };
    for (const [name, t] of this.traffic) if (held.has(name)) families[t.kind]++;
    let replicas = 0;
    for (const n of held.values()) replicas += n;
    const ws = [...this.workers.values()];
    return {
      workers: ws.length, ready: ws.filter((w) => w.phase === 'ready').length, replicas, distinct: held.size, families,
      slowed: ws.filter((w) => w.slow > 1).length, unplaced: this.unplaced.length,
    };
  }
}

/**
 * One replica set's window at `arrival` samples/s: batches grow with load up to the SLO batch; beyond its
 * capacity (at the worker's slowdown) a second's excess queues; latencies follow the profile times the slowdown.
 */
export function windowStats(e: CatalogueEntry, arrival: number, replicas: number, slow: number, sloMs?: number): WindowStats {
  if (!(arrival > 0) || replicas <= 0) return { arrivalQps: 0, completedQps: 0, queueLength: 0, avgBatch: 0, avgMs: 0, p50Ms: 0, p95Ms: 0, e2eP95Ms: 0, replicas };
  const b0 = sloMs !== undefined ? sloBatch(e, sloMs / 2) : e.maxBatch;
  const cap = (replicas * replicaThroughput(e, b0)) / slow;
  const load = arrival / cap;
  const avgBatch = 1 + (b0 - 1) * Math.min(1, load);
  const p50 = p50At(e, avgBatch) * slow;
  const p95 = p95At(e, avgBatch) * slow;
  const queueLength = Math.round(load > 1 ? arrival - cap : 2 * load);
  return {
    arrivalQps: arrival, completedQps: Math.min(arrival, cap), queueLength, avgBatch, avgMs: p50, p50Ms: p50, p95Ms: p95,
    e2eP95Ms: p95 + (1000 * queueLength) / cap, replicas, slowdownP50: slow, slowdownP95: slow,
  };
}
