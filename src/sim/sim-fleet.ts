// The simulated fleet: its workers and replicas, cold starts and loads, noisy neighbours, and the
// application of a policy's scaling actions. Shares the event queue and the clock with the simulator.

import type { WorkerClass } from '../core/types.ts';
import type { Catalogue, CatalogueEntry } from '../policy/catalogue.ts';
import type { InitialWorker, ScalingAction } from '../policy/scaling-policy.ts';
import type { EventQueue } from './event-queue.ts';
import { Holders, SimWorker, Slot, type SimQuery } from './sim-cluster.ts';

/** Noisy neighbours: per worker, episodes at exponential gaps that slow everything on it down. */
export interface InterferenceModel {
  /** Mean gap between episodes on one worker, s. */
  meanGapS: number;
  durationS: [number, number];
  slowdown: [number, number];
}

export const DEFAULT_INTERFERENCE: InterferenceModel = { meanGapS: 600, durationS: [10, 30], slowdown: [2, 4] };

/** One simulator event, at simulated time `t` (ms). */
export type SimEvent =
  | { t: number; k: 'arrival' }
  | { t: number; k: 'done'; slot: Slot; batch: SimQuery[]; exec: number; expectedEnd: number }
  | { t: number; k: 'loaded'; slot: Slot }
  | { t: number; k: 'ready'; worker: SimWorker }
  | { t: number; k: 'tick' }
  | { t: number; k: 'noise'; worker: SimWorker; on: boolean };

export interface FleetOptions {
  catalogue: Catalogue;
  classes: ReadonlyMap<string, WorkerClass>;
  /** The simulator's event queue: the fleet schedules 'loaded', 'ready' and 'noise' events on it. */
  queue: EventQueue<SimEvent>;
  /** Random numbers for noisy-neighbour episodes only. */
  rngNoise: () => number;
  /** End of the measured window, ms: no noise episodes start after it. */
  endMs: number;
  /** Hard cap on live workers (default 5,000). */
  maxWorkers?: number;
  /** Time from asking for a worker to its being ready, ms (default 5,000). */
  workerStartMs?: number;
  interference?: InterferenceModel | false;
}

export class SimFleet {
  /** Simulated time, ms: set by the simulator before handling each event. */
  now = 0;
  /** Live workers (not yet released), in creation order. */
  readonly workers = new Map<string, SimWorker>();
  /** Released workers (for cost accounting). */
  readonly released: SimWorker[] = [];
  /** Routable replicas per variant. */
  readonly holders = new Holders();
  /** Replica loads started (initial workers' preloads excluded). */
  loads = 0;
  private nextWorker = 1;

  constructor(private readonly opts: FleetOptions) {}

  /** Starts the policy's initial workers, ready now, with their variants already loaded. */
  placeInitial(initial: readonly InitialWorker[]): void {
    for (const iw of initial) {
      const w = this.addWorker(iw.workerClass, true);
      if (!w) continue;
      for (const { variant, replicas } of iw.variants) {
        const e = this.opts.catalogue.entry(variant);
        if (!e) continue;
        const s = new Slot(w, e, 0);
        s.replicas = replicas;
        w.slots.set(variant, s);
        w.memoryUsedMB += replicas * e.memoryMB;
        this.holders.add(s);
      }
    }
  }

  // ---- placement ----

  /** A holder of the variant whose first replica is still loading: one cold start at a time per variant. */
  joinLoading(name: string): Slot | undefined {
    const a = this.holders.list(name);
    if (!a) return undefined;
    for (const s of a) if (s.replicas === 0) return s;
    return undefined;
  }

  /**
   * A replica of `e` for the dispatcher: a draining one brought back, else a new one on the ready worker with
   * the fewest reserved threads that has the memory. O(workers).
   */
  coldStart(e: CatalogueEntry): Slot | undefined {
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
      // A variant needs a worker with at least its threads: on a smaller one its batches could never start.
      if (held || w.threads < e.variant.config.threads || w.memoryBudget() - w.memoryUsedMB < e.memoryMB) continue;
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
    this.opts.queue.push({ t: this.now + s.entry.loadMs, k: 'loaded', slot: s });
  }

  // ---- workers ----

  private addWorker(clsName: string, immediately: boolean): SimWorker | undefined {
    const cls = this.opts.classes.get(clsName);
    if (!cls || this.workers.size >= (this.opts.maxWorkers ?? 5000)) return undefined;
    const id = `w${this.nextWorker++}`;
    const readyAt = immediately ? this.now : this.now + (this.opts.workerStartMs ?? 5000);
    const w = new SimWorker(id, cls, this.now, readyAt);
    this.workers.set(id, w);
    if (!immediately) this.opts.queue.push({ t: readyAt, k: 'ready', worker: w });
    const noise = this.opts.interference ?? DEFAULT_INTERFERENCE;
    if (noise) this.opts.queue.push({ t: this.now + this.expo(noise.meanGapS * 1000), k: 'noise', worker: w, on: true });
    return w;
  }

  private expo(mean: number): number {
    return -Math.log(1 - this.opts.rngNoise()) * mean;
  }

  /** A 'noise' event: a noisy-neighbour episode starts (`on`) or ends on `w`, and the next one is scheduled. */
  onNoise(w: SimWorker, on: boolean): void {
    const noise = this.opts.interference;
    if (w.releasedAt !== Infinity || noise === false) return;
    const m = noise ?? DEFAULT_INTERFERENCE;
    if (this.now >= this.opts.endMs) return;
    if (on) {
      w.interference = m.slowdown[0] + this.opts.rngNoise() * (m.slowdown[1] - m.slowdown[0]);
      const dur = (m.durationS[0] + this.opts.rngNoise() * (m.durationS[1] - m.durationS[0])) * 1000;
      this.opts.queue.push({ t: this.now + dur, k: 'noise', worker: w, on: false });
    } else {
      w.interference = 1;
      this.opts.queue.push({ t: this.now + this.expo(m.meanGapS * 1000), k: 'noise', worker: w, on: true });
    }
  }

  /** Gives a drained, idle worker back. */
  release(w: SimWorker): void {
    w.integrateBusy(this.now);
    w.releasedAt = this.now;
    for (const s of w.slots.values()) this.holders.remove(s);
    this.workers.delete(w.id);
    this.released.push(w);
  }

  /** Drops an unloaded, drained replica set and its memory. */
  freeSlot(s: Slot): void {
    this.holders.remove(s);
    s.worker.slots.delete(s.entry.name);
    s.worker.memoryUsedMB -= (s.replicas + s.loading) * s.entry.memoryMB;
  }

  // ---- scaling actions ----

  /** Applies one of the policy's actions; ones that no longer make sense (gone worker, no memory) are dropped. */
  apply(a: ScalingAction): void {
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
    const e = this.opts.catalogue.entry(a.variant);
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
}
