// Packing: placing models (variants) onto workers by memory and compute, so that many models share a worker.
// Two-resource (vector) bin packing: first-fit-decreasing, best-fit-decreasing plus a pruning pass (empty the
// emptiest worker into the others, the way the 3,000-model study pruned one-model-per-bin down), the lower bound
// and the gap to it; per worker class and the cheapest class. `placeOne` places a single item on live workers.
// Pure: no clock, no randomness, no I/O.

import { invalid } from '../core/errors.ts';

/** One thing to place: a model (variant) with its memory and compute needs. */
export interface PackItem {
  name: string;
  /** Resident memory of one loaded replica, MiB. */
  memoryMB: number;
  /**
   * Compute the item keeps busy, in cores (threads) of a worker: expected QPS × latency (ms) / 1000.
   * 0 for an idle model.
   */
  compute: number;
}

/** A kind of worker to place items on. `WorkerClass` from core/types satisfies it. */
export interface BinClass {
  name: string;
  memoryMB: number;
  /** Compute capacity, cores. */
  threads: number;
  pricePerHour: number;
}

export interface PackOptions {
  /** Usable share of a worker's compute, (0, 1]; default 1. The 3,000-model study used 0.83. */
  computeCap?: number;
  /** Usable share of a worker's memory, (0, 1]; default 1. */
  memoryCap?: number;
}

export type PackAlgorithm = 'ffd' | 'bfd';

/** One worker of a packing. */
export interface PackedBin {
  /** Item names, in placement order. */
  items: string[];
  memoryMB: number;
  compute: number;
}

/** A packing of all items onto workers of one class. */
export interface ClassPacking {
  workerClass: BinClass;
  algorithm: PackAlgorithm;
  bins: PackedBin[];
  workers: number;
  /** max over memory and compute of ceil(total need / usable capacity of one worker). */
  lowerBound: number;
  /** workers − lowerBound (0 means provably optimal). */
  gap: number;
  costPerHour: number;
  /** costPerHour / number of items. */
  costPerModelHour: number;
  modelsPerWorker: { min: number; mean: number; max: number };
  /** Mean used share of the usable capacity, 0..1. */
  utilisation: { memory: number; compute: number };
}

/** The packing of every class that can hold every item, and the cheapest of them. */
export interface PackPlan {
  items: number;
  totals: { memoryMB: number; compute: number };
  perClass: ClassPacking[];
  /** Classes that cannot hold some item, with the first such item. */
  infeasible: Array<{ workerClass: string; item: string; reason: string }>;
  /** Lowest costPerHour, ties to fewer workers. */
  cheapest: ClassPacking;
}

const EPS = 1e-9;

interface Cap {
  mem: number;
  cpu: number;
}

function capOf(c: BinClass, opts: PackOptions): Cap {
  const cc = opts.computeCap ?? 1;
  const mc = opts.memoryCap ?? 1;
  if (!(cc > 0 && cc <= 1)) throw invalid(`compute cap must be in (0, 1], got ${cc}`);
  if (!(mc > 0 && mc <= 1)) throw invalid(`memory cap must be in (0, 1], got ${mc}`);
  if (!(c.memoryMB > 0) || !(c.threads > 0)) throw invalid(`worker class ${c.name} needs positive memoryMB and threads`);
  return { mem: c.memoryMB * mc, cpu: c.threads * cc };
}

function checkItem(it: PackItem): void {
  if (!(it.memoryMB >= 0) || !Number.isFinite(it.memoryMB)) throw invalid(`model ${it.name}: memoryMB must be a non-negative number, got ${it.memoryMB}`);
  if (!(it.compute >= 0) || !Number.isFinite(it.compute)) throw invalid(`model ${it.name}: compute must be a non-negative number, got ${it.compute}`);
}

/** Why `item` can never fit on one worker of the class, or undefined when it can. */
export function tooBig(item: PackItem, c: BinClass, opts: PackOptions = {}): string | undefined {
  const cap = capOf(c, opts);
  if (item.memoryMB > cap.mem + EPS) return `needs ${round(item.memoryMB)} MiB, a ${c.name} worker offers ${round(cap.mem)} MiB`;
  if (item.compute > cap.cpu + EPS) return `needs ${round(item.compute)} cores, a ${c.name} worker offers ${round(cap.cpu)} cores (run more replicas of it)`;
  return undefined;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** max over resources of ceil(total / usable capacity of one worker), at least 1 when there are items. */
export function lowerBound(items: readonly PackItem[], c: BinClass, opts: PackOptions = {}): number {
  const cap = capOf(c, opts);
  let mem = 0;
  let cpu = 0;
  for (const it of items) {
    mem += it.memoryMB;
    cpu += it.compute;
  }
  return Math.max(Math.ceil(mem / cap.mem - EPS), Math.ceil(cpu / cap.cpu - EPS), items.length ? 1 : 0);
}

/** The item's size on a worker of capacity `cap`: its larger normalised resource. */
const dominant = (it: PackItem, cap: Cap) => Math.max(it.memoryMB / cap.mem, it.compute / cap.cpu);

function sortedDecreasing(items: readonly PackItem[], cap: Cap): PackItem[] {
  const total = (it: PackItem) => it.memoryMB / cap.mem + it.compute / cap.cpu;
  return [...items].sort((a, b) => dominant(b, cap) - dominant(a, cap) || total(b) - total(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const fits = (b: PackedBin, it: PackItem, cap: Cap) => b.memoryMB + it.memoryMB <= cap.mem + EPS && b.compute + it.compute <= cap.cpu + EPS;

/** Slack left on a worker after adding the item: the smaller normalised remainder would be wasted first. */
const slackAfter = (b: PackedBin, it: PackItem, cap: Cap) =>
  (cap.mem - b.memoryMB - it.memoryMB) / cap.mem + (cap.cpu - b.compute - it.compute) / cap.cpu;

function add(b: PackedBin, it: PackItem): void {
  b.items.push(it.name);
  b.memoryMB += it.memoryMB;
  b.compute += it.compute;
}

function greedy(items: readonly PackItem[], cap: Cap, algorithm: PackAlgorithm): PackedBin[] {
  const bins: PackedBin[] = [];
  for (const it of sortedDecreasing(items, cap)) {
    let target = algorithm === 'ffd' ? bins.find((b) => fits(b, it, cap)) : bestFit(bins, it, cap);
    if (!target) {
      target = { items: [], memoryMB: 0, compute: 0 };
      bins.push(target);
    }
    add(target, it);
  }
  return bins;
}

/** The bin the item fits with the least slack left (best fit), or undefined when it fits none. */
function bestFit(bins: readonly PackedBin[], it: PackItem, cap: Cap): PackedBin | undefined {
  let target: PackedBin | undefined;
  let best = Infinity;
  for (const b of bins) {
    if (!fits(b, it, cap)) continue;
    const s = slackAfter(b, it, cap);
    if (s < best - EPS) {
      best = s;
      target = b;
    }
  }
  return target;
}

/** Workers tried as the one to empty, per pass of `prune` (bounds its work on large packings). */
const PRUNE_VICTIMS = 8;

/**
 * Tries to empty whole workers, emptiest first, by moving their items best-fit into the others; keeps a move
 * only when every item of the worker found a place. Never increases the worker count; stops at the lower bound.
 */
function prune(bins: PackedBin[], byName: ReadonlyMap<string, PackItem>, cap: Cap, lb: number): PackedBin[] {
  let current = bins.map((b) => ({ ...b, items: [...b.items] }));
  let improved = true;
  while (improved && current.length > Math.max(1, lb)) {
    improved = false;
    const order = [...current].sort((a, b) => a.memoryMB / cap.mem + a.compute / cap.cpu - (b.memoryMB / cap.mem + b.compute / cap.cpu));
    for (const victim of order.slice(0, PRUNE_VICTIMS)) {
      const others = current.filter((b) => b !== victim).map((b) => ({ ...b, items: [...b.items] }));
      const moving = sortedDecreasing(victim.items.map((n) => byName.get(n)!), cap);
      let ok = true;
      for (const it of moving) {
        const target = bestFit(others, it, cap);
        if (!target) {
          ok = false;
          break;
        }
        add(target, it);
      }
      if (ok) {
        current = others;
        improved = true;
        break;
      }
    }
  }
  return current;
}

/**
 * Packs every item onto workers of one class.
 * - 'ffd': first-fit-decreasing by the dominant normalised resource.
 * - 'bfd': best-fit-decreasing (the worker left with the least slack), then the pruning pass; never worse than
 *   'ffd' (the better of the two is kept).
 * @throws INVALID_ARGUMENT naming the first item that does not fit on one worker of the class, or bad numbers.
 */
export function packClass(items: readonly PackItem[], c: BinClass, algorithm: PackAlgorithm = 'bfd', opts: PackOptions = {}): ClassPacking {
  const cap = capOf(c, opts);
  const names = new Set<string>();
  for (const it of items) {
    checkItem(it);
    if (names.has(it.name)) throw invalid(`model ${it.name} is listed twice`);
    names.add(it.name);
    const why = tooBig(it, c, opts);
    if (why) throw invalid(`model ${it.name} does not fit on any ${c.name} worker: it ${why}`, { item: it.name, workerClass: c.name });
  }
  const lb = lowerBound(items, c, opts);
  let bins = greedy(items, cap, 'ffd');
  if (algorithm === 'bfd' && bins.length > lb) {
    const byName = new Map(items.map((it) => [it.name, it]));
    const better = prune(greedy(items, cap, 'bfd'), byName, cap, lb);
    if (better.length <= bins.length) bins = better;
  }
  return summarise(items.length, bins, c, cap, algorithm, lb);
}

function summarise(n: number, bins: PackedBin[], c: BinClass, cap: Cap, algorithm: PackAlgorithm, lb: number): ClassPacking {
  const counts = bins.map((b) => b.items.length);
  const workers = bins.length;
  const costPerHour = workers * c.pricePerHour;
  return {
    workerClass: c,
    algorithm,
    bins,
    workers,
    lowerBound: lb,
    gap: workers - lb,
    costPerHour,
    costPerModelHour: n ? costPerHour / n : 0,
    modelsPerWorker: { min: workers ? Math.min(...counts) : 0, mean: workers ? n / workers : 0, max: workers ? Math.max(...counts) : 0 },
    utilisation: {
      memory: workers ? bins.reduce((s, b) => s + b.memoryMB, 0) / (workers * cap.mem) : 0,
      compute: workers ? bins.reduce((s, b) => s + b.compute, 0) / (workers * cap.cpu) : 0,
    },
  };
}

/**
 * Packs the items on each class that can hold every one of them, and names the cheapest.
 * @throws INVALID_ARGUMENT when some item fits no class (naming it and why), or when there are no classes.
 */
export function planPacking(items: readonly PackItem[], classes: readonly BinClass[], algorithm: PackAlgorithm = 'bfd', opts: PackOptions = {}): PackPlan {
  if (!classes.length) throw invalid('no worker classes to pack onto');
  items.forEach(checkItem);
  const perClass: ClassPacking[] = [];
  const infeasible: PackPlan['infeasible'] = [];
  for (const c of classes) {
    const bad = items.map((it) => [it, tooBig(it, c, opts)] as const).find(([, why]) => why);
    if (bad) infeasible.push({ workerClass: c.name, item: bad[0].name, reason: bad[1]! });
    else perClass.push(packClass(items, c, algorithm, opts));
  }
  if (!perClass.length) {
    const largest = [...classes].sort((a, b) => b.memoryMB - a.memoryMB || b.threads - a.threads)[0];
    const worst = infeasible.find((x) => x.workerClass === largest.name)!;
    throw invalid(`model ${worst.item} fits no worker class: on the largest, ${worst.workerClass}, it ${worst.reason}`, { infeasible });
  }
  const cheapest = [...perClass].sort((a, b) => a.costPerHour - b.costPerHour || a.workers - b.workers)[0];
  return {
    items: items.length,
    totals: { memoryMB: items.reduce((s, i) => s + i.memoryMB, 0), compute: items.reduce((s, i) => s + i.compute, 0) },
    perClass,
    infeasible,
    cheapest,
  };
}

/** A live worker as `placeOne` sees it. */
export interface PlacementWorker {
  id: string;
  /** Capacity. */
  memoryMB: number;
  threads: number;
  /** Already used. */
  usedMemoryMB: number;
  usedCompute: number;
}

/**
 * Where one more item goes among running workers: best fit (the worker left with the least slack after it, by
 * normalised memory + compute; ties to the lower id), so that big holes stay free for big models.
 * Returns undefined when no worker has room: the caller adds a worker (or evicts).
 */
export function placeOne(item: PackItem, workers: readonly PlacementWorker[], opts: PackOptions = {}): string | undefined {
  checkItem(item);
  let bestId: string | undefined;
  let best = Infinity;
  for (const w of workers) {
    const cap = capOf({ name: w.id, memoryMB: w.memoryMB, threads: w.threads, pricePerHour: 0 }, opts);
    const bin: PackedBin = { items: [], memoryMB: w.usedMemoryMB, compute: w.usedCompute };
    if (!fits(bin, item, cap)) continue;
    const s = slackAfter(bin, item, cap);
    if (s < best - EPS || (Math.abs(s - best) <= EPS && bestId !== undefined && w.id < bestId)) {
      best = s;
      bestId = w.id;
    }
  }
  return bestId;
}
