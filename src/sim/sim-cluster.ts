// The simulated cluster's state: workers, the variants they hold (slots: replicas + one FIFO queue),
// per-variant holder lists for O(1) routing, and the ClusterView the shared dispatcher policy reads.
// Mutable on purpose (it is the impure shell); every policy decision is made elsewhere.

import type { WorkerClass } from '../core/types.ts';
import { p50At, type CatalogueEntry } from '../policy/catalogue.ts';
import type { ClusterView, ReplicaView } from '../policy/cluster-view.ts';
import type { HealthState, WorkerPhase } from '../policy/scaling-policy.ts';

/** One query in flight. */
export interface SimQuery {
  /** Arrival time, ms. */
  arrival: number;
  /** arrival + SLO, ms. */
  deadline: number;
  /** Index of its class in the mix. */
  cls: number;
}

/** One variant held by one worker: its replicas and its queue. */
export class Slot {
  replicas = 0;
  loading = 0;
  /** Batches executing now. */
  running = 0;
  unloading = false;
  health: HealthState = 'active';
  queue: SimQuery[] = [];
  head = 0;
  lastUsedAt: number;
  /** When the first replica finishes loading (meaningful while replicas = 0). */
  readyAt = 0;
  /** Index in the variant's holder list, −1 when not listed. */
  holderIndex = -1;
  /** lognormal sigma of the execution-time noise (from the profile's p95/p50). */
  readonly sigma: number;
  // monitoring window
  wArrivals = 0;
  wCompleted = 0;
  wBatches = 0;
  wExec: number[] = [];
  /** Per run of the window: time / profiled p50 and time / profiled p95 at its batch. */
  wSlow50: number[] = [];
  wSlow95: number[] = [];
  wE2e: number[] = [];
  wMinSlo = Infinity;
  wMaxAcc = -Infinity;

  constructor(readonly worker: SimWorker, readonly entry: CatalogueEntry, now: number) {
    this.lastUsedAt = now;
    const i = entry.p50.length - 1;
    this.sigma = Math.max(0, Math.log(entry.p95[i] / entry.p50[i]) / 1.645);
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Size of the last batch started (deadlines can keep batches below maxBatch). */
  lastBatch = 1;
  /** Profiled end times (ms) of the batches running now (what a worker can predict; noise not included). */
  ends: number[] = [];

  /**
   * Expected wait (ms) of a sample arriving at `now`: until the first running batch ends when every
   * replica is busy, plus one profiled batch time for each full batch queued ahead of it per replica.
   */
  estimatedWaitMs(now: number): number {
    const r = Math.max(1, this.replicas);
    let wait = 0;
    if (this.running >= r && this.ends.length > 0) wait = Math.max(0, Math.min(...this.ends) - now);
    const q = this.queued;
    if (q > 0) {
      const b = Math.max(1, Math.min(q, this.entry.maxBatch, this.lastBatch));
      wait += Math.floor(q / (b * r)) * p50At(this.entry, b);
    }
    return wait;
  }

  /** Threads its replicas (serving and loading) reserve on the worker. */
  get threads(): number {
    return (this.replicas + this.loading) * this.entry.variant.config.threads;
  }

  shift(): SimQuery {
    const q = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return q;
  }

  resetWindow(): void {
    this.wArrivals = 0;
    this.wCompleted = 0;
    this.wBatches = 0;
    this.wExec = [];
    this.wSlow50 = [];
    this.wSlow95 = [];
    this.wE2e = [];
    this.wMinSlo = Infinity;
    this.wMaxAcc = -Infinity;
  }
}

export class SimWorker {
  phase: WorkerPhase;
  readonly slots = new Map<string, Slot>();
  memoryUsedMB = 0;
  busyThreads = 0;
  /** ∫ busyThreads dt since the window started (thread-ms), and the last time it was brought up to date. */
  busyIntegral = 0;
  busySince = 0;
  /** Multiplies execution time while a noisy neighbour runs (1 = none). */
  interference = 1;
  /** Requested at; released at (Infinity while it exists). */
  releasedAt = Infinity;

  constructor(readonly id: string, readonly cls: WorkerClass, readonly startedAt: number, readonly readyAt: number) {
    this.phase = readyAt <= startedAt ? 'ready' : 'starting';
    this.busySince = startedAt;
  }

  get threads(): number {
    return this.cls.threads;
  }

  memoryBudget(): number {
    return this.cls.memoryMB;
  }

  /** Threads reserved by replicas (a worker does not hold more replica-threads than it has threads). */
  reservedThreads(): number {
    let n = 0;
    for (const s of this.slots.values()) if (!s.unloading) n += s.threads;
    return n;
  }

  integrateBusy(now: number): void {
    this.busyIntegral += this.busyThreads * (now - this.busySince);
    this.busySince = now;
  }

  /** Nothing queued or running anywhere on it. */
  idle(): boolean {
    if (this.busyThreads > 0) return false;
    for (const s of this.slots.values()) if (s.queued > 0 || s.running > 0) return false;
    return true;
  }
}

/** variant → slots that take new samples (serving or loading, not unloading, on a ready/starting worker). */
export class Holders {
  private readonly byVariant = new Map<string, Slot[]>();
  private loadedCache: string[] | undefined;

  list(variant: string): readonly Slot[] | undefined {
    return this.byVariant.get(variant);
  }

  add(s: Slot): void {
    if (s.holderIndex >= 0) return;
    let a = this.byVariant.get(s.entry.name);
    if (!a) this.byVariant.set(s.entry.name, (a = []));
    s.holderIndex = a.length;
    a.push(s);
    if (a.length === 1) this.loadedCache = undefined;
  }

  remove(s: Slot): void {
    if (s.holderIndex < 0) return;
    const a = this.byVariant.get(s.entry.name)!;
    const last = a.pop()!;
    if (last !== s) {
      a[s.holderIndex] = last;
      last.holderIndex = s.holderIndex;
    }
    s.holderIndex = -1;
    if (a.length === 0) {
      this.byVariant.delete(s.entry.name);
      this.loadedCache = undefined;
    }
  }

  loadedVariants(): string[] {
    return (this.loadedCache ??= [...this.byVariant.keys()]);
  }
}

function toView(s: Slot, now: number): ReplicaView {
  const state = s.replicas === 0 ? 'loading' : s.health;
  return {
    workerId: s.worker.id,
    state,
    queued: s.queued,
    estimatedWaitMs: s.estimatedWaitMs(now),
    readyAt: s.replicas === 0 ? Math.max(now, s.readyAt) : undefined,
  };
}

function healthy(s: Slot): boolean {
  return s.replicas === 0 || s.health === 'active';
}

/** Holders sampled per variant and query (power of d choices). */
export const ROUTE_CHOICES = 3;

/**
 * The ClusterView the dispatcher policy sees: for each variant, a power-of-d-choices sample of its holders
 * (ROUTE_CHOICES random slots; when all are flagged, the first healthy one found from a random start).
 * O(1) per call except in that fallback.
 */
export function samplingView(holders: Holders, rng: () => number, now: () => number): ClusterView {
  return {
    loadedVariants: () => holders.loadedVariants(),
    loadedCount: () => holders.loadedVariants().length,
    replicas(variant) {
      const a = holders.list(variant);
      if (!a || a.length === 0) return undefined;
      const t = now();
      if (a.length <= ROUTE_CHOICES) return a.map((s) => toView(s, t));
      const picked: Slot[] = [];
      let anyHealthy = false;
      for (let k = 0; k < ROUTE_CHOICES; k++) {
        const s = a[Math.floor(rng() * a.length)];
        picked.push(s);
        anyHealthy ||= healthy(s);
      }
      if (!anyHealthy) {
        const i = Math.floor(rng() * a.length);
        for (let k = 0; k < a.length; k++) {
          const s = a[(i + k) % a.length];
          if (healthy(s)) return [toView(s, t)];
        }
      }
      return picked.map((s) => toView(s, t));
    },
  };
}
