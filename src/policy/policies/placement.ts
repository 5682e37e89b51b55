// Cluster-level replica placement for `ours`: for every artifact in use (one accuracy level of one
// architecture), keep enough replicas of its cheapest suitable variant across workers for the family's
// recent peak demand at a target utilisation (proactive headroom), packed by compute onto the workers with the
// most compute left; shed replicas of surplus holders and of sibling variants; say how many threads it needs.

import { p95At, type Catalogue, type CatalogueEntry } from '../catalogue.ts';
import { replicaThroughput, sloBatch } from '../model-autoscaler.ts';
import type { ClusterSnapshot, ScalingAction, WorkerSnapshot } from '../scaling-policy.ts';
import { workerSlowdown } from '../worker-slowdown.ts';
import { byId, WorkerOrder } from './worker-order.ts';

export interface PlacementConfig {
  /** Fraction of replica capacity to plan for. */
  targetUtilisation: number;
  /** Peak-hold window of demand, in ticks. */
  holdTicks: number;
  /** Shed a holder only when the rest still have this much more capacity than wanted (hysteresis). */
  shedMargin: number;
  /**
   * Shed a holder only while its own demand is at most this share of one replica's throughput (default: any).
   * The router adds holders on less busy workers when the busy one would miss the SLO (replicas share their
   * worker's threads with its other variants, which this per-replica count does not see); shedding those
   * while they still take traffic made placement and router undo each other every tick.
   */
  shedIdleShare?: number;
  /**
   * A sibling is unloaded in favour of the primary only after this long without a request (default 0): queries
   * that name the sibling itself (exact variant) arrive now and then, and each unload would make the next one
   * pay a cold start.
   */
  siblingIdleMs?: number;
  /**
   * Most replicas of one variant on one worker (default: the worker's threads / the variant's threads). The live
   * workers hold one replica per variant and run one batch at a time: 1 there.
   */
  maxReplicasPerWorker?: number;
  /**
   * A worker running at least this many times slower than its profiles (workerSlowdown: a noisy neighbour) counts
   * at its real speed (default: never): its replicas as 1/slowdown of one, the work planned on it beyond its
   * threads as threads needed (so the worker count covers it), and it takes no new replicas while slowed.
   */
  slowdownAt?: number;
  /** Move a replica off each worker whose planned compute exceeds its threads (default off): see rebalance. */
  rebalance?: boolean;
  /**
   * Workers run one batch at a time across all their replicas (the live workers: onnxruntime-node runs a session
   * on the worker's main thread). A worker's compute is then one stream whatever its class's threads, and a
   * replica kept fully busy takes all of it, a 1-thread variant on a 2-thread worker included; compute and
   * `threadsNeeded` are counted in streams (default off: in threads, batches of different replicas in parallel).
   */
  oneBatchPerWorker?: boolean;
}

/** artifact id → its demand (samples/s) in the last `holdTicks` ticks, newest last. */
export type DemandHistory = ReadonlyMap<string, readonly number[]>;

export interface PlacementResult {
  actions: ScalingAction[];
  history: DemandHistory;
  /** Variants that need replicas no worker has the compute or the memory for. */
  unplaced: string[];
  /** Threads (streams, with oneBatchPerWorker) all families need at their held peak (for the worker autoscaler). */
  threadsNeeded: number;
  /** Memory (MB) the planned replicas and the siblings still held take (for the worker autoscaler). */
  memoryNeededMB: number;
}

/** Compute booked on a worker so far in the step (threads, or streams), and its speed (1 / its slowdown). */
interface Booking { used: number; readonly speed: number }
/** A worker's replicas of a variant: `replicas` counts those still loading, `serving` only the loaded ones. */
interface Holder { w: WorkerSnapshot; b: Booking; replicas: number; serving: number; demand: number; pinned: boolean; lastUsedAt: number }
/** The variants of an artifact held on ready workers, in the order first met, and their holders. */
interface Member { e: CatalogueEntry; holders: Holder[] }
interface Family { artifact: string; members: Member[]; demand: number; minSlo: number }
/**
 * A family's plan: its primary variant and the primary's holders, replicas wanted (fractional; `whole` rounded
 * up), replicas held, and the threads each replica is planned to use.
 */
interface Plan { p: CatalogueEntry; holders: Holder[]; thr: number; want: number; whole: number; have: number; haveAtSpeed: number; perReplica: number }

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

function memberOf(f: Family, name: string): Member | undefined {
  return f.members.find((m) => m.e.name === name);
}

/**
 * `[...prev, x].slice(-n)`: the history with x appended, its last n entries. A full history of nothing but x (an
 * idle family's zeros) is the same afterwards and is shared instead of copied (histories are never mutated).
 */
function held(prev: readonly number[] | undefined, x: number, n: number): readonly number[] {
  if (!(Number.isInteger(n) && n > 0)) return [...(prev ?? []), x].slice(-n);
  if (prev?.length === n && prev.every((y) => Object.is(y, x))) return prev;
  const h = prev ? prev.slice(Math.max(0, prev.length + 1 - n)) : [];
  h.push(x);
  return h;
}

/** Math.max(...xs) without spreading the array into arguments. */
function maxOf(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m || Number.isNaN(x)) m = x;
  return m;
}

/** A worker's compute: its threads, or one stream when it runs one batch at a time (oneBatchPerWorker). */
export function computeOf(cfg: Pick<PlacementConfig, 'oneBatchPerWorker'>, threads: number): number {
  return cfg.oneBatchPerWorker ? 1 : threads;
}

/** The compute one replica of `e` kept fully busy takes: its threads, or the whole stream (oneBatchPerWorker). */
function computeEach(cfg: PlacementConfig, e: CatalogueEntry): number {
  return cfg.oneBatchPerWorker ? 1 : e.variant.config.threads;
}

/** Most replicas of a variant of `vThreads` threads one worker may hold (PlacementConfig.maxReplicasPerWorker). */
function replicasPerWorker(cfg: PlacementConfig, w: WorkerSnapshot, vThreads: number): number {
  return cfg.maxReplicasPerWorker ?? Math.floor(w.threads / vThreads);
}

/** The holder taking the least demand (ties: the later worker id). */
function leastBusy(holders: readonly Holder[]): Holder {
  return holders.reduce((a, b) => (b.demand < a.demand || (b.demand === a.demand && b.w.id > a.w.id) ? b : a));
}

/** Throughput of one replica of `e` at the largest batch whose p95 fits half the SLO (max batch without one). */
function throughputFor(e: CatalogueEntry, minSlo: number): number {
  return replicaThroughput(e, Number.isFinite(minSlo) ? sloBatch(e, minSlo / 2) : e.maxBatch);
}

/**
 * The variant a family should run on: the cheapest of its artifact whose batch-1 p95 fits half its tightest SLO.
 * Without a known SLO (only exact-variant traffic, or a shell that does not report SLOs) it stays on the held
 * member with the most demand: the cheapest sibling might not meet what the callers need.
 */
function primaryOf(f: Family, catalogue: Catalogue): CatalogueEntry {
  if (!Number.isFinite(f.minSlo)) {
    const busiest = f.members.map((m) => ({ e: m.e, d: m.holders.reduce((a, h) => a + h.demand, 0) }));
    return busiest.reduce((a, b) => (b.d > a.d || (b.d === a.d && b.e.name < a.e.name) ? b : a)).e;
  }
  const any = f.members[0].e;
  const siblings = catalogue.byArchCost(any.arch).filter((e) => e.artifact === f.artifact);
  const budget = Number.isFinite(f.minSlo) ? f.minSlo / 2 : Infinity;
  return siblings.find((e) => p95At(e, 1) <= budget) ?? siblings.find((e) => memberOf(f, e.name)) ?? any;
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
export function placeReplicas(snapshot: ClusterSnapshot, cfg: PlacementConfig, history: DemandHistory, ahead?: ReadonlyMap<string, number>): PlacementResult {
  const { catalogue } = snapshot;
  // Slowed workers: their replicas count at their speed, and the work planned on them that no longer fits their
  // threads is needed elsewhere.
  const slowAt = cfg.slowdownAt ?? Infinity;
  const slow = new Map<string, number>();
  if (Number.isFinite(slowAt)) {
    for (const w of snapshot.workers) {
      const f = workerSlowdown(w, catalogue);
      if (f > 1 && f >= slowAt) slow.set(w.id, f);
    }
  }
  const speed = (w: WorkerSnapshot) => 1 / (slow.get(w.id) ?? 1);
  const bookings = new Map<string, Booking>();
  const bookingOf = (w: WorkerSnapshot) => {
    let b = bookings.get(w.id);
    if (!b) bookings.set(w.id, (b = { used: 0, speed: speed(w) }));
    return b;
  };
  const families = new Map<string, Family>();
  const members = new Map<CatalogueEntry, { f: Family; m: Member }>();
  for (const w of snapshot.workers) {
    if (w.phase !== 'ready') continue;
    const b = bookingOf(w);
    for (const v of w.variants) {
      if (v.state === 'unloading') continue;
      const e = catalogue.entry(v.variant);
      if (!e) continue;
      let fm = members.get(e);
      if (!fm) {
        let f = families.get(e.artifact);
        if (!f) families.set(e.artifact, (f = { artifact: e.artifact, members: [], demand: 0, minSlo: Infinity }));
        const m: Member = { e, holders: [] };
        f.members.push(m);
        members.set(e, (fm = { f, m }));
      }
      const { f, m } = fm;
      // Pinned: loaded explicitly, or taking traffic without an SLO (exact-variant traffic, which asked for this
      // very variant): it must stay.
      const pinned = v.pinned === true || (v.stats.arrivalQps > 0 && v.minSloMs === undefined);
      m.holders.push({ w, b, replicas: v.replicas + v.loading, serving: v.replicas, demand: v.stats.arrivalQps, pinned, lastUsedAt: v.lastUsedAt });
      f.demand += v.stats.arrivalQps;
      if (v.minSloMs !== undefined) f.minSlo = Math.min(f.minSlo, v.minSloMs);
    }
  }
  // Plans first, then the compute each worker's replicas are planned to use.
  const nextHistory = new Map<string, readonly number[]>();
  const plans = new Map<string, Plan>();
  // The ready, unslowed workers by compute left (built when first needed), kept in order as `use` books compute.
  const orders: WorkerOrder[] = [];
  const use = (w: WorkerSnapshot, threads: number, b = bookingOf(w)) => {
    let book = (): void => void (b.used += threads);
    for (const o of orders) {
      const inner = book;
      book = () => o.update(w, inner);
    }
    book();
  };
  for (const [artifact, f] of families) {
    const h = held(history.get(artifact), f.demand, cfg.holdTicks);
    nextHistory.set(artifact, h);
    const p = primaryOf(f, catalogue);
    const thr = throughputFor(p, f.minSlo);
    const want = Math.max(maxOf(h), ahead?.get(artifact) ?? 0) / (thr * cfg.targetUtilisation);
    const whole = Math.ceil(want - 1e-9);
    const holders = memberOf(f, p.name)?.holders ?? [];
    const have = holders.reduce((a, x) => a + x.replicas, 0);
    // Replicas at their worker's speed (the count itself where no worker is slowed).
    const haveAtSpeed = holders.reduce((a, x) => a + x.replicas * x.b.speed, 0);
    const each = computeEach(cfg, p);
    const perReplica = Math.min(each, (each * want) / Math.max(1, have, whole));
    plans.set(artifact, { p, holders, thr, want, whole, have, haveAtSpeed, perReplica });
    for (const m of f.members) {
      const t = computeEach(cfg, m.e);
      const primary = m.e.name === p.name;
      const sibling = primary ? 0 : throughputFor(m.e, f.minSlo) * cfg.targetUtilisation;
      for (const x of m.holders) {
        const busy = primary ? x.replicas * perReplica : Math.min(x.replicas * t, (t * x.demand) / sibling);
        use(x.w, busy / x.b.speed, x.b);
      }
    }
  }
  const free = (w: WorkerSnapshot) => computeOf(cfg, w.threads) - (bookings.get(w.id)?.used ?? 0);
  const targets = snapshot.workers.filter((w) => w.phase === 'ready' && !slow.has(w.id));
  const ordered = (cmp: (a: WorkerSnapshot, b: WorkerSnapshot) => number) => {
    const o = new WorkerOrder(targets, cmp);
    orders.push(o);
    return o;
  };
  let byRoom: WorkerOrder | undefined;
  let byFree: WorkerOrder | undefined;
  // Most compute left first, then the least utilised, then by id.
  const mostRoom = () => (byRoom ??= ordered((a, b) => free(b) - free(a) || a.utilisation - b.utilisation || byId(a, b)));
  // Most compute left first, then by id (rebalance's order).
  const mostFree = () => (byFree ??= ordered((a, b) => free(b) - free(a) || byId(a, b)));
  // Memory taken by this step's own loads, so that light families do not all pick the same emptiest worker.
  const taken = new Map<string, number>();
  const freeMemory = (w: WorkerSnapshot) => w.memoryBudgetMB - w.memoryUsedMB - (taken.get(w.id) ?? 0);
  const actions: ScalingAction[] = [];
  const unplaced: string[] = [];
  const served = servedCounter();
  let threadsNeeded = 0;
  let memoryNeededMB = 0;
  for (const artifact of [...families.keys()].sort()) {
    const f = families.get(artifact)!;
    const { p, holders, thr, want, whole, have, haveAtSpeed, perReplica } = plans.get(artifact)!;
    const vThreads = p.variant.config.threads;
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
      const room = (w: WorkerSnapshot) => Math.min(
        replicasPerWorker(cfg, w, vThreads) - (onWorker.get(w.id) ?? 0),
        perReplica > 0 ? Math.floor((free(w) + 1e-9) / perReplica) : Infinity,
        Math.floor(freeMemory(w) / Math.max(p.memoryMB, 1e-9)),
      );
      // The ready, unslowed workers with room, most compute left first. Compute left only falls along the order,
      // so once one has no compute for a replica none after it has. Booked after the walk, which must not see
      // the order change under it (booking changes only the worker booked, already passed).
      const booked: Array<[WorkerSnapshot, number]> = [];
      for (const w of mostRoom().items) {
        if (short <= 0 || (perReplica > 0 && Math.floor((free(w) + 1e-9) / perReplica) <= 0)) break;
        const r = w.threads >= vThreads ? room(w) : 0;
        if (r <= 0) continue;
        const n = Math.min(short, r);
        const held = onWorker.has(w.id);
        if (!held) actions.push({ kind: 'load', worker: w.id, variant: p.name });
        for (let i = held ? 0 : 1; i < n; i++) actions.push({ kind: 'addReplica', worker: w.id, variant: p.name });
        booked.push([w, n]);
        short -= n;
      }
      for (const [w, n] of booked) {
        use(w, n * perReplica);
        taken.set(w.id, (taken.get(w.id) ?? 0) + n * p.memoryMB);
      }
      if (short > 0) unplaced.push(p.name);
      continue;
    }
    // A replica still loading is never shed: placement (or a cold start) has just asked for it.
    const loaded = holders.length > 1 ? holders.filter((x) => x.serving > 0 && !x.pinned) : [];
    if (loaded.length > 0) {
      const least = leastBusy(loaded);
      const idle = least.demand <= (cfg.shedIdleShare ?? Infinity) * thr;
      if (idle && served(holders, least) >= Math.max(1, want * cfg.shedMargin)) actions.push({ kind: 'unload', worker: least.w.id, variant: p.name });
    }
  }
  // A slowed worker's planned work beyond its threads (at its speed) needs threads elsewhere: nothing for a
  // slowed worker with little to do.
  let lostThreads = 0;
  for (const w of snapshot.workers) {
    const f = slow.get(w.id);
    if (f !== undefined) lostThreads += Math.max(0, -free(w) / f);
  }
  if (cfg.rebalance) {
    // Families this step already acts on are left alone: one change per family and step.
    const acted = new Set(actions.map((a) => ('variant' in a ? a.variant : '')));
    const take = (id: string, mb: number) => taken.set(id, (taken.get(id) ?? 0) + mb);
    actions.push(...rebalance(snapshot, cfg, [...plans.values()].filter((x) => !acted.has(x.p.name)), free, use, speed, mostFree, freeMemory, take, served));
  }
  return { actions, history: nextHistory, unplaced, threadsNeeded: threadsNeeded + lostThreads, memoryNeededMB };
}

/** Planned compute above this share of a worker's threads more than its threads makes it overcommitted. */
const OVERCOMMIT = 0.05;

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
function rebalance(
  snapshot: ClusterSnapshot, cfg: PlacementConfig, plans: readonly Plan[],
  free: (w: WorkerSnapshot) => number, use: (w: WorkerSnapshot, threads: number) => void,
  speed: (w: WorkerSnapshot) => number, mostFree: () => WorkerOrder, freeMemory: (w: WorkerSnapshot) => number,
  take: (id: string, mb: number) => void, served: (holders: readonly Holder[], x: Holder) => number,
): ScalingAction[] {
  const actions: ScalingAction[] = [];
  // `free` already counts a slowed worker's replicas at its speed; `use` books what this pass moves.
  const ready = snapshot.workers.filter((w) => w.phase === 'ready');
  const moved = new Set<string>();
  const overcommitted = (w: WorkerSnapshot) => -free(w) > OVERCOMMIT * computeOf(cfg, w.threads);
  // The pass only frees compute on the workers it moves from and books it on ones with room for it: the workers
  // overcommitted now are the only ones it may act on. Their plans with a replica there, in plan order.
  const overIds = new Set(ready.filter(overcommitted).map((w) => w.id));
  if (overIds.size === 0) return actions;
  const heldOn = holdersOn(plans, overIds);
  const loading = new Map<Plan, boolean>();
  const isLoading = (plan: Plan) => loading.get(plan) ?? loading.set(plan, plan.holders.some((x) => x.replicas > x.serving)).get(plan)!;
  for (const w of ready) {
    if (!overIds.has(w.id)) continue;
    const over = -free(w);
    if (over <= OVERCOMMIT * computeOf(cfg, w.threads)) continue;
    let pick: { plan: Plan; h: Holder; share: number } | undefined;
    for (const { plan, h } of heldOn.get(w.id) ?? []) {
      if (h.pinned || h.serving < 1 || plan.perReplica <= 0 || moved.has(plan.p.name)) continue;
      if (isLoading(plan)) continue;
      const share = plan.perReplica / speed(w);
      const better = !pick || (share >= over ? pick.share < over || share < pick.share : pick.share < over && share > pick.share);
      if (better) pick = { plan, h, share };
    }
    if (!pick) continue;
    const { plan, h, share } = pick;
    if (served(plan.holders, h) >= plan.want) {
      actions.push({ kind: h.replicas > 1 ? 'removeReplica' : 'unload', worker: w.id, variant: plan.p.name });
      use(w, -share);
      moved.add(plan.p.name);
      continue;
    }
    const vThreads = plan.p.variant.config.threads;
    const onWorker = new Map(plan.holders.map((x) => [x.w.id, x.replicas]));
    const fits = (x: WorkerSnapshot) => x !== w && x.threads >= vThreads
      && (onWorker.get(x.id) ?? 0) < replicasPerWorker(cfg, x, vThreads)
      && freeMemory(x) >= plan.p.memoryMB;
    // The ready, unslowed worker with the most compute left (then the lowest id) that fits; compute left only
    // falls along the order.
    let to: WorkerSnapshot | undefined;
    for (const x of mostFree().items) {
      if (free(x) < plan.perReplica) break;
      if (fits(x)) {
        to = x;
        break;
      }
    }
    if (!to) continue;
    actions.push({ kind: onWorker.has(to.id) ? 'addReplica' : 'load', worker: to.id, variant: plan.p.name });
    use(to, plan.perReplica);
    take(to.id, plan.p.memoryMB);
    moved.add(plan.p.name);
  }
  return actions;
}

/** For the workers in `ids`: each plan with a holder there (in plan order) and its first holder on that worker. */
function holdersOn(plans: readonly Plan[], ids: ReadonlySet<string>): Map<string, Array<{ plan: Plan; h: Holder }>> {
  const m = new Map<string, Array<{ plan: Plan; h: Holder }>>();
  for (const plan of plans) {
    for (const h of plan.holders) {
      if (!ids.has(h.w.id)) continue;
      const list = m.get(h.w.id);
      if (!list) m.set(h.w.id, [{ plan, h }]);
      else if (list[list.length - 1].plan !== plan) list.push({ plan, h });
    }
  }
  return m;
}
