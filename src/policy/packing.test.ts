// Tests of the packing policy: exact small cases, the lower bound, brute-force optimality checks on tiny
// instances, items too big for a class, many tiny items, the compute cap, and single placement.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lowerBound, packClass, placeOne, planPacking, type BinClass, type PackItem } from './packing.ts';

const cls = (name: string, memoryMB: number, threads: number, pricePerHour: number): BinClass => ({ name, memoryMB, threads, pricePerHour });
const items = (pairs: Array<[number, number]>): PackItem[] => pairs.map(([memoryMB, compute], i) => ({ name: `m${i}`, memoryMB, compute }));

/** Every item placed exactly once, and no worker over its usable capacity. */
function assertValid(p: ReturnType<typeof packClass>, its: PackItem[], memCap: number, cpuCap: number): void {
  const placed = p.bins.flatMap((b) => b.items).sort();
  assert.deepEqual(placed, its.map((i) => i.name).sort());
  const byName = new Map(its.map((i) => [i.name, i]));
  for (const b of p.bins) {
    const mem = b.items.reduce((s, n) => s + byName.get(n)!.memoryMB, 0);
    const cpu = b.items.reduce((s, n) => s + byName.get(n)!.compute, 0);
    assert.ok(Math.abs(mem - b.memoryMB) < 1e-6 && Math.abs(cpu - b.compute) < 1e-6);
    assert.ok(mem <= memCap + 1e-6 && cpu <= cpuCap + 1e-6, `bin over capacity: ${mem} MiB, ${cpu} cores`);
  }
  assert.equal(p.workers, p.bins.length);
  assert.equal(p.gap, p.workers - p.lowerBound);
}

/** Fewest bins by exhaustive search (tiny instances only). */
function optimum(its: PackItem[], mem: number, cpu: number): number {
  let best = its.length;
  const bins: Array<[number, number]> = [];
  const go = (i: number) => {
    if (bins.length >= best) return;
    if (i === its.length) {
      best = bins.length;
      return;
    }
    const it = its[i];
    for (const b of bins) {
      if (b[0] + it.memoryMB <= mem && b[1] + it.compute <= cpu) {
        b[0] += it.memoryMB;
        b[1] += it.compute;
        go(i + 1);
        b[0] -= it.memoryMB;
        b[1] -= it.compute;
      }
    }
    bins.push([it.memoryMB, it.compute]);
    go(i + 1);
    bins.pop();
  };
  go(0);
  return best;
}

test('first-fit-decreasing packs an exact 1-D case into the lower bound', () => {
  const its = items([[60, 0], [50, 0], [40, 0], [30, 0], [20, 0]]);
  const c = cls('c', 100, 1, 0.5);
  const p = packClass(its, c, 'ffd');
  assertValid(p, its, 100, 1);
  assert.deepEqual(p.bins.map((b) => b.items), [['m0', 'm2'], ['m1', 'm3', 'm4']]);
  assert.equal(p.lowerBound, 2);
  assert.equal(p.gap, 0);
  assert.equal(p.costPerHour, 1);
  assert.equal(p.costPerModelHour, 1 / 5);
  assert.deepEqual(p.modelsPerWorker, { min: 2, mean: 2.5, max: 3 });
  assert.equal(p.utilisation.memory, 1);
});

test('the better variant (best-fit-decreasing + pruning) beats FFD where FFD leaves a gap', () => {
  const its = items([[5, 2], [2, 6], [3, 5], [1, 4], [1, 4], [2, 4], [1, 3]]);
  const c = cls('c', 10, 10, 1);
  const ffd = packClass(its, c, 'ffd');
  const bfd = packClass(its, c, 'bfd');
  assertValid(ffd, its, 10, 10);
  assertValid(bfd, its, 10, 10);
  assert.equal(bfd.lowerBound, 3); // compute: 28 / 10
  assert.equal(ffd.workers, 4);
  assert.equal(ffd.gap, 1);
  assert.equal(bfd.workers, 3);
  assert.equal(bfd.gap, 0);
});

test('lower bound: max over resources of ceil(total / usable capacity), at least 1 for any item', () => {
  const c = cls('c', 1000, 2, 1);
  assert.equal(lowerBound(items([[300, 0.1], [300, 0.1], [300, 0.1], [300, 0.1]]), c), 2); // memory 1200/1000
  assert.equal(lowerBound(items([[1, 1], [1, 1], [1, 1]]), c), 2); // compute 3/2
  assert.equal(lowerBound(items([[1, 1], [1, 1], [1, 1]]), c, { computeCap: 0.5 }), 3); // 3/1
  assert.equal(lowerBound(items([[1, 0.5], [1, 0.5]]), c), 1); // exactly full: no rounding up
  assert.equal(lowerBound(items([[0, 0]]), c), 1);
  assert.equal(lowerBound([], c), 0);
});

test('on random tiny instances: lower bound ≤ optimum ≤ bfd ≤ ffd, and every packing is valid', () => {
  let s = 7;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const c = cls('c', 10, 10, 1);
  let ffdOff = 0;
  let bfdOff = 0;
  for (let t = 0; t < 300; t++) {
    const its = items(Array.from({ length: 3 + Math.floor(rnd() * 6) }, () => [1 + Math.floor(rnd() * 8), 1 + Math.floor(rnd() * 8)] as [number, number]));
    const ffd = packClass(its, c, 'ffd');
    const bfd = packClass(its, c, 'bfd');
    assertValid(ffd, its, 10, 10);
    assertValid(bfd, its, 10, 10);
    const opt = optimum(its, 10, 10);
    assert.ok(ffd.lowerBound <= opt && opt <= bfd.workers && bfd.workers <= ffd.workers);
    ffdOff += ffd.workers - opt;
    bfdOff += bfd.workers - opt;
  }
  assert.ok(bfdOff < ffdOff, `bfd ${bfdOff} bins over optimum in total, ffd ${ffdOff}`);
});

test('the compute cap limits the usable share of each worker (the study used 83%)', () => {
  const its = items(Array.from({ length: 10 }, () => [1, 0.3] as [number, number]));
  const c = cls('c', 1000, 1, 1);
  assert.equal(packClass(its, c, 'bfd').workers, 4); // 3 per worker (0.9 ≤ 1)
  const capped = packClass(its, c, 'bfd', { computeCap: 0.83 });
  assert.equal(capped.workers, 5); // 2 per worker (0.6 ≤ 0.83 < 0.9)
  assertValid(capped, its, 1000, 0.83);
  assert.throws(() => packClass(its, c, 'bfd', { computeCap: 1.5 }), /compute cap must be in \(0, 1\]/);
});

test('an item too big for a class is a clear error; planPacking skips that class or fails naming the item', () => {
  const small = cls('small', 100, 1, 1);
  const big = cls('big', 1000, 4, 3);
  const its = [...items([[10, 0.1], [20, 0.1]]), { name: 'huge', memoryMB: 500, compute: 0.5 }];
  assert.throws(() => packClass(its, small), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /model huge does not fit on any small worker: it needs 500 MiB, a small worker offers 100 MiB/.test(e.message));
  const plan = planPacking(its, [small, big]);
  assert.deepEqual(plan.infeasible.map((x) => [x.workerClass, x.item]), [['small', 'huge']]);
  assert.equal(plan.cheapest.workerClass.name, 'big');
  const hot = { name: 'hot', memoryMB: 1, compute: 5 };
  assert.throws(() => planPacking([hot], [small, big]), /model hot fits no worker class: on the largest, big, it needs 5 cores, a big worker offers 4 cores \(run more replicas of it\)/);
  assert.throws(() => packClass([{ name: 'x', memoryMB: -1, compute: 0 }], big), /memoryMB must be a non-negative number/);
  assert.throws(() => packClass([{ name: 'x', memoryMB: 1, compute: 0 }, { name: 'x', memoryMB: 1, compute: 0 }], big), /listed twice/);
});

test('many tiny items: thousands of models share few workers, at or next to the lower bound', () => {
  const its: PackItem[] = Array.from({ length: 5000 }, (_, i) => ({ name: `tiny-${i}`, memoryMB: 1 + (i % 7) * 0.25, compute: 0.0005 + (i % 5) * 0.0002 }));
  const c = cls('cpu-2', 2048, 2, 0.096);
  const p = packClass(its, c, 'bfd', { computeCap: 0.83 });
  assertValid(p, its, 2048, 2 * 0.83);
  assert.ok(p.gap <= 1, `gap ${p.gap}`);
  assert.ok(p.modelsPerWorker.mean > 500);
  const plan = planPacking(its, [cls('cpu-1', 1024, 1, 0.048), c, cls('cpu-4', 4096, 4, 0.192)], 'bfd', { computeCap: 0.83 });
  assert.equal(plan.perClass.length, 3);
  assert.ok(plan.cheapest.costPerHour <= Math.min(...plan.perClass.map((x) => x.costPerHour)));
  assert.equal(plan.items, 5000);
});

test('placeOne: best fit among live workers, undefined when none has room', () => {
  const ws = [
    { id: 'w1', memoryMB: 100, threads: 1, usedMemoryMB: 10, usedCompute: 0.1 },
    { id: 'w2', memoryMB: 100, threads: 1, usedMemoryMB: 70, usedCompute: 0.5 },
    { id: 'w3', memoryMB: 100, threads: 1, usedMemoryMB: 95, usedCompute: 0.1 },
  ];
  assert.equal(placeOne({ name: 'a', memoryMB: 20, compute: 0.2 }, ws), 'w2'); // w3 lacks memory; w2 is the tighter fit
  assert.equal(placeOne({ name: 'b', memoryMB: 20, compute: 0.45 }, ws, { computeCap: 0.83 }), 'w1'); // w2 would pass 0.83
  assert.equal(placeOne({ name: 'c', memoryMB: 95, compute: 0 }, ws), undefined);
  assert.equal(placeOne({ name: 'd', memoryMB: 1, compute: 0 }, []), undefined);
  const twins = [{ ...ws[0], id: 'w9' }, { ...ws[0], id: 'w5' }];
  assert.equal(placeOne({ name: 'e', memoryMB: 1, compute: 0 }, twins), 'w5');
});
