// Gradient checks: analytic gradients of Dense, Conv2d, MaxPool2 and softmax cross-entropy against finite differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../prng.ts';
import { Sequential, softmaxCrossEntropy, type LayerSpec } from './model.ts';

function loss(model: Sequential, x: Float32Array, y: Int32Array, batch: number): number {
  const logits = model.forward(x, batch);
  return softmaxCrossEntropy(logits, y, 0, batch, 10, new Float32Array(logits.length));
}

function gradCheck(specs: LayerSpec[], inputShape: number[]): void {
  const rng = createRng(42);
  const model = new Sequential(inputShape, specs, rng);
  const batch = 2;
  const per = inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: batch * per }, () => rng.next());
  const y = Int32Array.from([3, 7]);
  model.zeroGrad();
  const logits = model.forward(x, batch);
  const g = new Float32Array(logits.length);
  softmaxCrossEntropy(logits, y, 0, batch, 10, g);
  model.backward(g, batch);
  let checked = 0;
  for (const p of model.params) {
    // a few entries of every parameter tensor
    for (const idx of [0, Math.floor(p.value.length / 2), p.value.length - 1]) {
      const old = p.value[idx];
      const eps = 1e-3;
      p.value[idx] = old + eps;
      const lp = loss(model, x, y, batch);
      p.value[idx] = old - eps;
      const lm = loss(model, x, y, batch);
      p.value[idx] = old;
      const numeric = (lp - lm) / (2 * eps);
      const analytic = p.grad[idx];
      assert.ok(Math.abs(numeric - analytic) <= 2e-3 + 0.05 * Math.abs(numeric), `${p.name}[${idx}]: analytic ${analytic}, numeric ${numeric}`);
      checked++;
    }
  }
  assert.ok(checked >= 6);
}

test('Dense + ReLU gradients match finite differences', () => {
  gradCheck([{ type: 'flatten' }, { type: 'dense', out: 6 }, { type: 'relu' }, { type: 'dense', out: 10 }], [1, 3, 4]);
});

test('Conv2d + ReLU + MaxPool2 gradients match finite differences (including dL/dx of the second conv)', () => {
  gradCheck([{ type: 'conv', out: 3 }, { type: 'relu' }, { type: 'conv', out: 4 }, { type: 'relu' }, { type: 'pool' }, { type: 'flatten' }, { type: 'dense', out: 10 }], [2, 4, 6]);
});

test('a conv layer computes a 3x3 zero-padded cross-correlation', () => {
  const model = new Sequential([1, 3, 3], [{ type: 'conv', out: 1 }], createRng(1));
  const [w, b] = model.params;
  w.value.fill(0);
  w.value[4] = 1; // centre tap
  w.value[0] = 10; // top-left tap
  b.value[0] = 0.5;
  const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const y = model.forward(x, 1);
  // out[i,j] = x[i,j] + 10 * x[i-1,j-1] + 0.5
  assert.deepEqual(Array.from(y), [1.5, 2.5, 3.5, 4.5, 15.5, 26.5, 7.5, 48.5, 59.5]);
});
