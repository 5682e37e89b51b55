// The live ClusterView the selection policy reads: which worker holds which variant (from worker status
// snapshots) combined with the dispatcher's own in-flight counts (fresher than any heartbeat).

import type { Variant, WorkerStatus } from '../core/types.ts';
import type { ClusterView, ReplicaView } from '../policy/cluster-view.ts';

interface Slot {
  workerId: string;
  state: ReplicaView['state'];
  inflight: number;
  /** p50 at batch 1 of the variant, to estimate the wait behind in-flight requests. */
  unitMs: number;
}

export class LiveClusterView implements ClusterView {
  /** variant -> workerId -> slot */
  readonly #slots = new Map<string, Map<string, Slot>>();
  readonly #maxThreads: number;

  /** `maxThreads`: threads of the worker class the server starts (and autoscales); default no limit. */
  constructor(opts: { maxThreads?: number } = {}) {
    this.#maxThreads = opts.maxThreads ?? Infinity;
  }

  maxThreads(): number {
    return this.#maxThreads;
  }

  replicas(variant: string): readonly ReplicaView[] | undefined {
    const m = this.#slots.get(variant);
    if (!m || m.size === 0) return undefined;
    const out: ReplicaView[] = [];
    for (const s of m.values()) out.push({ workerId: s.workerId, state: s.state, queued: s.inflight, estimatedWaitMs: s.inflight * s.unitMs });
    return out;
  }

  loadedVariants(): Iterable<string> {
    return this.#slots.keys();
  }

  loadedCount(): number {
    return this.#slots.size;
  }

  /** In-flight requests on a worker, over all its variants. */
  workerLoad(workerId: string): number {
    let n = 0;
    for (const m of this.#slots.values()) n += m.get(workerId)?.inflight ?? 0;
    return n;
  }

  /** Replaces what each worker holds with its latest status, keeping in-flight counts. */
  sync(workers: readonly WorkerStatus[], variants: ReadonlyMap<string, Variant>): void {
    const seen = new Set<string>();
    for (const w of workers) {
      for (const r of w.replicas) {
        if (r.state === 'inactive' || r.state === 'unloading') continue;
        const v = variants.get(r.variant);
        if (!v) continue;
        const slot = this.#slot(r.variant, w.id, v);
        if (slot.inflight === 0 || slot.state !== 'loading') slot.state = r.state;
        seen.add(`${r.variant}\u0000${w.id}`);
      }
    }
    for (const [variant, m] of this.#slots) {
      for (const [wid, s] of m) if (!seen.has(`${variant}\u0000${wid}`) && s.inflight === 0) m.delete(wid);
      if (m.size === 0) this.#slots.delete(variant);
    }
  }

  /** A request starts on a worker: counts it, and marks a cold start as loading there. */
  begin(variant: Variant, workerId: string): void {
    const slot = this.#slot(variant.name, workerId, variant);
    slot.inflight++;
  }

  /** A request ended; `ok` means the variant is now loaded and active there. */
  end(variant: Variant, workerId: string, ok: boolean): void {
    const m = this.#slots.get(variant.name);
    const slot = m?.get(workerId);
    if (!m || !slot) return;
    slot.inflight = Math.max(0, slot.inflight - 1);
    if (ok && slot.state === 'loading') slot.state = 'active';
    if (!ok && slot.inflight === 0 && slot.state === 'loading') m.delete(workerId);
    if (m.size === 0) this.#slots.delete(variant.name);
  }

  /** Forgets a worker (it exited). */
  dropWorker(workerId: string): void {
    for (const [variant, m] of this.#slots) {
      m.delete(workerId);
      if (m.size === 0) this.#slots.delete(variant);
    }
  }

  #slot(name: string, workerId: string, v: Variant): Slot {
    let m = this.#slots.get(name);
    if (!m) this.#slots.set(name, (m = new Map()));
    let s = m.get(workerId);
    if (!s) m.set(workerId, (s = { workerId, state: 'loading', inflight: 0, unitMs: v.profile.latency[0]?.p50 ?? 1 }));
    return s;
  }
}
