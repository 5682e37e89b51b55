// Widening must preserve the network's function exactly (without noise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../prng.ts';
import { Sequential, type LayerSpec } from './model.ts';
import { widenInto } from './widen.ts';

const net = (c: number): LayerSpec[] => [
  { type: 'conv', out: c }, { type: 'relu' }, { type: 'conv', out: 2 * c }, { type: 'relu' }, { type: 'pool' },
  { type: 'flatten' }, { type: 'dense', out: 4 * c }, { type: 'relu' }, { type: 'dense', out: 10 },
];

test('widenInto keeps the outputs of the narrow network', () => {
  const narrow = new Sequential([1, 6, 6], net(2), createRng(1));
  const wide = new Sequential([1, 6, 6], net(5), createRng(2));
  widenInto(narrow, wide, createRng(3), 0);
  const x = Float32Array.from({ length: 3 * 36 }, (_, i) => ((i * 37) % 17) / 17);
  const a = narrow.forward(x, 3), b = wide.forward(x, 3);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `logit ${i}: ${a[i]} vs ${b[i]}`);
});

test('widenInto refuses networks with different layer sequences', () => {
  const a = new Sequential([1, 6, 6], net(2), createRng(1));
  const b = new Sequential([1, 6, 6], [{ type: 'flatten' }, { type: 'dense', out: 10 }], createRng(1));
  assert.throws(() => widenInto(a, b, createRng(1)), /same layer sequence/);
});
