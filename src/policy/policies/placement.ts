// Cluster-level replica placement for `ours`: for every artifact in use (one accuracy level of one
// architecture), keep enough replicas of its cheapest suitable variant across workers for the family's
// recent peak demand at a target utilisation (proactive headroom), packed by compute onto the workers with the
// most compute left; shed replicas of surplus holders and of sibling variants; say how many threads it needs.
// The step's pieces are in placement/: its settings, the families and their plans, and the rebalance pass.

import type { ClusterSnapshot, ScalingAction, WorkerSnapshot } from '../scaling-policy.ts';
import { snapshotEntries, type SnapshotEntries } from '../snapshot-entries.ts';
import { sloThroughput } from '../throughput.ts';
import { workerSlowdown } from '../worker-slowdown.ts';
import type { DemandHistory, PlacementConfig, PlacementResult } from './placement/config.ts';
import { bookFamily, computeEach, computeOf, gatherFamilies, inArtifactOrder, memberOf, planFamily, type Holder, type Plan, type Slot } from './placement/families.ts';
import { rebalance } from './placement/rebalance.ts';
import { byId, WorkerOrder } from './worker-order.ts';

export type { DemandHistory, PlacementConfig, PlacementResult } from './placement/config.ts';
export { computeOf } from './placement/families.ts';

/** Replicas the holders other than `x` (one of them) serve, at their workers' speed (loading ones do not count yet). */
function servedWithout(holders: readonly Holder[], x: Holder): number {
  return holders.reduce((a, y) => a + (y === x ? 0 : y.serving * y.b.speed), 0);
}

/**
 * servedWithout for families asked about again and again (rebalance asks once per overcommitted holder): where
 * every holder serves whole replicas at full speed the sum is exact in any order, so the family's total is kept
 * and the holder left out subtracted; otherwise the sum is taken in order, as servedWithout does.
 */
function servedCounter(): (holders: readonly Holder[], x: Holder) => number {
  const totals = new Map<readonly Holder[], number>();
  return (holders, x) => {
    let t = totals.get(holders);
    if (t === undefined) {
      const whole = holders.every((y) => y.b.speed === 1 && Number.isInteger(y.serving) && y.serving >= 0);
      const sum = whole ? holders.reduce((a, y) => a + y.serving, 0) : NaN;
      totals.set(holders, (t = sum <= Number.MAX_SAFE_INTEGER ? sum : NaN));
    }
    return Number.isNaN(t) ? servedWithout(holders, x) : t - x.serving;
  };
}

/**
 * -1, 0 or 1 as a difference is negative, zero (or NaN) or positive: what a comparator needs of it, as a small
 * integer (a fractional difference returned to the sort is a number allocated on the heap, at every comparison).
 */
function sign(d: number): number {
  return d > 0 ? 1 : d < 0 ? -1 : 0;
}

/** The holder taking the least demand (ties: the later worker id). */
function leastBusy(holders: readonly Holder[]): Holder {
  return holders.reduce((a, b) => (b.demand < a.demand || (b.demand === a.demand && b.w.id > a.w.id) ? b : a));
}

/**
 * One placement step. For each family (variants sharing an artifact) with a holder on a ready worker:
 * held = max family demand over the history (and `ahead`, the demand a forecast expects, when given); the primary
 * variant needs want = held / (thr × target) replicas, thr at the largest batch whose p95 fits half the tightest
 * SLO seen.
 *
 * Packing is by compute, not by reserved threads: a worker runs the batches of all its variants on one pool of
 * threads (earliest deadline first), so a replica takes the share of threads it is planned to keep busy — the
 * family's want × threads spread evenly over its max(held, ⌈want⌉) replicas — and a light family (a tenth of a
 * thread) shares a thread with others instead of holding a whole one. Replicas still bound how many batches
 * of a variant run at once, so a family keeps ⌈want⌉ of them, at most threads / variant threads per worker
 * (maxReplicasPerWorker).
 * Siblings (other variants of the artifact) take what their own demand keeps busy.
 *
 * When the primary's replicas fall short, add them on the workers (holders or not) with the most compute left;
 * when the holders minus the least busy one still exceed want × shedMargin, unload it there. Sibling variants
 * are unloaded one holder per step.
 */
export function placeReplicas(
  snapshot: ClusterSnapshot, cfg: PlacementConfig, history: DemandHistory, ahead?: ReadonlyMap<string, number>,
  entries: SnapshotEntries = snapshotEntries(snapshot),
): PlacementResult {
  const { catalogue } = snapshot;
  // Slowed workers: their replicas count at their speed, and the work planned on them that no longer fits their
  // threads is needed elsewhere.
  const slowAt = cfg.slowdownAt ?? Infinity;
  const slow = new Map<string, number>();
  if (Number.isFinite(slowAt)) {
    snapshot.workers.forEach((w, i) => {
      const f = workerSlowdown(w, catalogue, entries[i]);
      if (f > 1 && f >= slowAt) slow.set(w.id, f);
    });
  }
  const { families, slots, bookings } = gatherFamilies(snapshot, cfg, entries, slow);
  // Plans first, then the compute each worker's replicas are planned to use.
  const nextHistory = new Map<string, readonly number[]>();
  const plans: Plan[] = [];
  const slo = sloThroughput(catalogue);
  for (const f of families) {
    const { plan, history: h } = planFamily(f, cfg, catalogue, slo, history, ahead);
    nextHistory.set(f.artifact, h);
    f.plan = plan;
    plans.push(plan);
    bookFamily(f, plan, cfg, slo);
  }
  const free = (s: Slot) => s.compute - s.b.used;
  const freeMemory = (s: Slot) => s.w.memoryBudgetMB - s.w.memoryUsedMB - s.b.taken;
  // The ready, unslowed workers by compute left (built when first needed), kept in order as `use` books compute.
  const targets = slots.filter((s) => !slow.has(s.w.id));
  const orders: Array<WorkerOrder<Slot>> = [];
  const ordered = (cmp: (a: Slot, b: Slot) => number) => {
    const o = new WorkerOrder(targets, cmp);
    orders.push(o);
    return o;
  };
  let byRoom: WorkerOrder<Slot> | undefined;
  let byFree: WorkerOrder<Slot> | undefined;
  // Most compute left first, then the least utilised, then by id.
  const mostRoom = () => (byRoom ??= ordered((a, b) => sign(free(b) - free(a)) || sign(a.w.utilisation - b.w.utilisation) || byId(a.w, b.w)));
  // Most compute left first, then by id (rebalance's order).
  const mostFree = () => (byFree ??= ordered((a, b) => sign(free(b) - free(a)) || byId(a.w, b.w)));
  const use = (s: Slot, threads: number) => {
    let book = (): void => void (s.b.used += threads);
    for (const o of orders) {
      const inner = book;
      book = () => o.update(s, inner);
    }
    book();
  };
  const actions: ScalingAction[] = [];
  const unplaced: string[] = [];
  const served = servedCounter();
  let threadsNeeded = 0;
  let memoryNeededMB = 0;
  for (const f of inArtifactOrder(families, catalogue)) {
    const plan = f.plan!;
    const { p, holders, thr, want, whole, have, haveAtSpeed, perReplica } = plan;
    const vThreads = p.threads;
    // A latency-bound family cannot run on a fraction of a replica: from one replica up, count whole ones.
    threadsNeeded += (want >= 1 ? whole : want) * computeEach(cfg, p);
    memoryNeededMB += Math.max(1, whole) * p.memoryMB;
    for (const m of f.members) if (m.e.name !== p.name) memoryNeededMB += m.holders.reduce((a, x) => a + x.replicas, 0) * m.e.memoryMB;
    // Siblings move onto the primary only when the family's SLO is known (else nothing says the primary is better).
    for (const m of Number.isFinite(f.minSlo) ? f.members : []) {
      const name = m.e.name;
      if (name === p.name || m.holders.some((h) => h.pinned || snapshot.now - h.lastUsedAt < (cfg.siblingIdleMs ?? 0))) continue;
      const least = leastBusy(m.holders);
      if (memberOf(f, p.name) || m.holders.length > 1) actions.push({ kind: 'unload', worker: least.w.id, variant: name });
    }
    // ⌈want − have⌉ = whole − have when no holder is slowed; a slowed one counts only for the demand it still serves.
    let short = Math.max(have === 0 ? 1 : 0, Math.ceil(want - haveAtSpeed - 1e-9));
    if (short > 0) {
      const onWorker = new Map(holders.map((x) => [x.w.id, x.replicas]));
      const room = (w: WorkerSnapshot, s: Slot) => Math.min(
        (cfg.maxReplicasPerWorker ?? Math.floor(w.threads / vThreads)) - (onWorker.get(w.id) ?? 0),
        perReplica > 0 ? Math.floor((free(s) + 1e-9) / perReplica) : Infinity,
        Math.floor(freeMemory(s) / Math.max(p.memoryMB, 1e-9)),
      );
      // The ready, unslowed workers with room, most compute left first. Compute left only falls along the order,
      // so once one has no compute for a replica none after it has. Booked after the walk, which must not see
      // the order change under it (booking changes only the worker booked, already passed).
      const booked: Array<[Slot, number]> = [];
      for (const s of mostRoom().items) {
        if (short <= 0 || (perReplica > 0 && Math.floor((free(s) + 1e-9) / perReplica) <= 0)) break;
        const w = s.w;
        const r = w.threads >= vThreads ? room(w, s) : 0;
        if (r <= 0) continue;
        const n = Math.min(short, r);
        const held = onWorker.has(w.id);
        if (!held) actions.push({ kind: 'load', worker: w.id, variant: p.name });
        for (let i = held ? 0 : 1; i < n; i++) actions.push({ kind: 'addReplica', worker: w.id, variant: p.name });
        booked.push([s, n]);
        short -= n;
        plan.acted = true;
      }
      for (const [s, n] of booked) {
        use(s, n * perReplica);
        s.b.taken += n * p.memoryMB;
      }
      if (short > 0) unplaced.push(p.name);
      continue;
    }
    // A replica still loading is never shed: placement (or a cold start) has just asked for it.
    const loaded = holders.length > 1 ? holders.filter((x) => x.serving > 0 && !x.pinned) : [];
    if (loaded.length > 0) {
      const least = leastBusy(loaded);
      const idle = least.demand <= (cfg.shedIdleShare ?? Infinity) * thr;
      if (idle && served(holders, least) >= Math.max(1, want * cfg.shedMargin)) {
        actions.push({ kind: 'unload', worker: least.w.id, variant: p.name });
        plan.acted = true;
      }
    }
  }
  // A slowed worker's planned work beyond its threads (at its speed) needs threads elsewhere: nothing for a
  // slowed worker with little to do.
  let lostThreads = 0;
  for (const w of snapshot.workers) {
    const f = slow.get(w.id);
    if (f !== undefined) lostThreads += Math.max(0, -(computeOf(cfg, w.threads) - (bookings.get(w.id)?.used ?? 0)) / f);
  }
  if (cfg.rebalance) {
    // Families whose primary this step already acts on are left alone: one change per family and step. (Its other
    // actions unload siblings, which are never another family's primary: a variant belongs to its artifact's family.)
    const step = { slots, free, use, mostFree, freeMemory, served };
    for (const a of rebalance(cfg, plans.filter((x) => !x.acted), step)) actions.push(a);
  }
  return { actions, history: nextHistory, unplaced, threadsNeeded: threadsNeeded + lostThreads, memoryNeededMB };
}
