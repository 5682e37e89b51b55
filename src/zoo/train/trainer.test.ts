// Smoke test of the training loop: one epoch of softmax regression on 500 Fashion-MNIST samples learns something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFashionMnistSplit, subset } from '../datasets.ts';
import { createRng } from '../prng.ts';
import { Sequential } from './model.ts';
import { evaluate, fit } from './trainer.ts';

test('a linear model fit for one epoch on 500 samples beats chance by far, reproducibly', () => {
  const all = loadFashionMnistSplit('t10k');
  const train = subset(all, 500, 1);
  const val = subset(all, 500, 2);
  const run = () => {
    const m = new Sequential([1, 28, 28], [{ type: 'flatten' }, { type: 'dense', out: 10 }], createRng(5));
    const before = evaluate(m, val);
    const losses: number[] = [];
    fit(m, train, { epochs: 1, batchSize: 20, lr: 5e-3, seed: 9, onEpoch: (e) => losses.push(e.loss) });
    return { before, after: evaluate(m, val), loss: losses[0] };
  };
  const r1 = run();
  assert.ok(r1.after > 45, `accuracy after one epoch: ${r1.after}`);
  assert.ok(r1.after > r1.before + 20, `before ${r1.before}, after ${r1.after}`);
  assert.deepEqual(run(), r1); // seeded: the same numbers again
});
