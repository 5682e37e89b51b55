// Tests for the simulator's event heap: time order, FIFO among equal times, against a sorted reference.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue } from './event-queue.ts';
import { mulberry32 } from './traces.ts';

test('pops in time order, ties in insertion order, matching a stable sort', () => {
  const rng = mulberry32(7);
  const q = new EventQueue<{ t: number; id: number }>();
  const ref: Array<{ t: number; id: number }> = [];
  let id = 0;
  const out: number[] = [];
  const expected: number[] = [];
  for (let round = 0; round < 2000; round++) {
    if (rng() < 0.6 || q.size === 0) {
      const e = { t: Math.floor(rng() * 50), id: id++ };
      q.push(e);
      ref.push(e);
    } else {
      out.push(q.pop()!.id);
      ref.sort((a, b) => a.t - b.t || a.id - b.id);
      expected.push(ref.shift()!.id);
    }
  }
  while (q.size) {
    out.push(q.pop()!.id);
    ref.sort((a, b) => a.t - b.t || a.id - b.id);
    expected.push(ref.shift()!.id);
  }
  assert.deepEqual(out, expected);
  assert.equal(q.pop(), undefined);
});
