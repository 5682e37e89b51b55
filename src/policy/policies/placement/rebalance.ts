// Placement's last pass: moves one primary replica off each worker whose planned compute exceeds its threads.

import type { ScalingAction } from '../../scaling-policy.ts';
import type { WorkerOrder } from '../worker-order.ts';
import type { PlacementConfig } from './config.ts';
import type { Booking, Holder, Plan, Slot } from './families.ts';

/** Planned compute above this share of a worker's threads more than its threads makes it overcommitted. */
const OVERCOMMIT = 0.05;

/** What rebalance needs from the placement step: its bookings, orders and the sum placement keeps of serving replicas. */
export interface RebalanceStep {
  /** The ready workers, in snapshot order. */
  slots: readonly Slot[];
  free(s: Slot): number;
  /** Books compute on the worker (negative: frees it), keeping the orders sorted. */
  use(s: Slot, threads: number): void;
  /** The ready, unslowed workers, most compute left first, then by id. */
  mostFree(): WorkerOrder<Slot>;
  freeMemory(s: Slot): number;
  /** Replicas the holders other than `x` serve, at their workers' speed. */
  served(holders: readonly Holder[], x: Holder): number;
}

/**
 * Overcommitted workers: planned compute (slowed workers' at their speed) above their threads, from replicas the
 * router cold-started there or shares that grew with demand since they were placed. Their batches queue behind
 * one another whatever the router does. For each, one primary replica (the smallest whose share covers the
 * excess, else the largest) moves, never leaving its family short of serving replicas: it goes from here when the
 * family's other serving replicas carry its plan (the next step adds one where there is room, if the count falls
 * short); otherwise one is added first on the worker with the most compute left that has room for it (and the
 * family's shares spread over one more replica). Nothing moves while a replica of the family is loading, nor when
 * no worker has room (the worker estimate then has to grow).
 */
export function rebalance(cfg: PlacementConfig, plans: readonly Plan[], step: RebalanceStep): ScalingAction[] {
  const { free, use, freeMemory, served } = step;
  const actions: ScalingAction[] = [];
  // `free` already counts a slowed worker's replicas at its speed; `use` books what this pass moves.
  const moved = new Set<string>();
  const overcommitted = (s: Slot) => -free(s) > OVERCOMMIT * s.compute;
  // The pass only frees compute on the workers it moves from and books it on ones with room for it: the workers
  // overcommitted now are the only ones it may act on. Their plans with a replica there, in plan order.
  let overcommittedCount = 0;
  for (const s of step.slots) {
    if (!s.b.over && overcommitted(s)) {
      s.b.over = true;
      overcommittedCount++;
    }
  }
  if (overcommittedCount === 0) return actions;
  const heldOn = holdersOn(plans);
  const loading = new Map<Plan, boolean>();
  const isLoading = (plan: Plan) => loading.get(plan) ?? loading.set(plan, plan.holders.some((x) => x.replicas > x.serving)).get(plan)!;
  for (const s of step.slots) {
    const w = s.w;
    if (!s.b.over) continue;
    const over = -free(s);
    if (over <= OVERCOMMIT * s.compute) continue;
    let pick: { plan: Plan; h: Holder; share: number } | undefined;
    for (const { plan, h } of heldOn.get(s.b) ?? []) {
      if (h.pinned || h.serving < 1 || plan.perReplica <= 0 || moved.has(plan.p.name)) continue;
      if (isLoading(plan)) continue;
      const share = plan.perReplica / s.b.speed;
      const better = !pick || (share >= over ? pick.share < over || share < pick.share : pick.share < over && share > pick.share);
      if (better) pick = { plan, h, share };
    }
    if (!pick) continue;
    const { plan, h, share } = pick;
    if (served(plan.holders, h) >= plan.want) {
      actions.push({ kind: h.replicas > 1 ? 'removeReplica' : 'unload', worker: w.id, variant: plan.p.name });
      use(s, -share);
      moved.add(plan.p.name);
      continue;
    }
    const vThreads = plan.p.threads;
    const onWorker = new Map(plan.holders.map((x) => [x.w.id, x.replicas]));
    const fits = (x: Slot) => x.w !== w && x.w.threads >= vThreads
      && (onWorker.get(x.w.id) ?? 0) < (cfg.maxReplicasPerWorker ?? Math.floor(x.w.threads / vThreads))
      && freeMemory(x) >= plan.p.memoryMB;
    // The ready, unslowed worker with the most compute left (then the lowest id) that fits; compute left only
    // falls along the order.
    let to: Slot | undefined;
    for (const x of step.mostFree().items) {
      if (free(x) < plan.perReplica) break;
      if (fits(x)) {
        to = x;
        break;
      }
    }
    if (!to) continue;
    actions.push({ kind: onWorker.has(to.w.id) ? 'addReplica' : 'load', worker: to.w.id, variant: plan.p.name });
    use(to, plan.perReplica);
    to.b.taken += plan.p.memoryMB;
    moved.add(plan.p.name);
  }
  return actions;
}

/** For the overcommitted workers (by booking): each plan with a holder there (in plan order) and its first holder there. */
function holdersOn(plans: readonly Plan[]): Map<Booking, Array<{ plan: Plan; h: Holder }>> {
  const m = new Map<Booking, Array<{ plan: Plan; h: Holder }>>();
  for (const plan of plans) {
    for (const h of plan.holders) {
      if (!h.b.over) continue;
      const list = m.get(h.b);
      if (!list) m.set(h.b, [{ plan, h }]);
      else if (list[list.length - 1].plan !== plan) list.push({ plan, h });
    }
  }
  return m;
}
