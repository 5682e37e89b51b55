// Mini-batch training loop (seeded shuffling, Adam, cosine learning-rate decay) and plain accuracy evaluation.

import { createRng, permutation } from '../prng.ts';
import { argmaxRows, softmaxCrossEntropy, type Sequential } from './model.ts';
import { Adam } from './optimizer.ts';

/** Labelled samples: `inputs` holds count * prod(shape) floats. */
export interface Dataset {
  shape: number[];
  count: number;
  inputs: Float32Array;
  labels: Int32Array;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay?: number;
  /** Train on at most this many samples per epoch (a fresh seeded subset each epoch). */
  samplesPerEpoch?: number;
  seed: number;
  onEpoch?: (e: { epoch: number; loss: number; ms: number }) => void;
}

export function fit(model: Sequential, data: Dataset, opts: FitOptions): void {
  const rng = createRng(opts.seed);
  const per = data.shape.reduce((a, b) => a * b, 1);
  const classes = model.outputSize;
  const opt = new Adam(model.params, { lr: opts.lr, weightDecay: opts.weightDecay ?? 0 });
  const perEpoch = Math.min(data.count, opts.samplesPerEpoch ?? data.count);
  const stepsPerEpoch = Math.ceil(perEpoch / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  let step = 0;
  const xb = new Float32Array(opts.batchSize * per);
  const yb = new Int32Array(opts.batchSize);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const t0 = performance.now();
    const order = permutation(data.count, rng);
    let lossSum = 0;
    for (let s = 0; s < perEpoch; s += opts.batchSize) {
      const b = Math.min(opts.batchSize, perEpoch - s);
      for (let i = 0; i < b; i++) {
        const idx = order[s + i];
        xb.set(data.inputs.subarray(idx * per, (idx + 1) * per), i * per);
        yb[i] = data.labels[idx];
      }
      const x = b === opts.batchSize ? xb : xb.subarray(0, b * per);
      opt.lr = opts.lr * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps));
      model.zeroGrad();
      const logits = model.forward(x, b);
      const grad = new Float32Array(logits.length);
      lossSum += softmaxCrossEntropy(logits, yb, 0, b, classes, grad) * b;
      model.backward(grad, b);
      opt.step();
      step++;
    }
    opts.onEpoch?.({ epoch, loss: lossSum / perEpoch, ms: performance.now() - t0 });
  }
}

/** Top-1 accuracy in percent, computed by the TypeScript model itself. */
export function evaluate(model: Sequential, data: Dataset, batchSize = 100): number {
  const per = data.shape.reduce((a, b) => a * b, 1);
  let correct = 0;
  for (let s = 0; s < data.count; s += batchSize) {
    const b = Math.min(batchSize, data.count - s);
    const logits = model.forward(data.inputs.subarray(s * per, (s + b) * per), b);
    const pred = argmaxRows(logits, b, model.outputSize);
    for (let i = 0; i < b; i++) if (pred[i] === data.labels[s + i]) correct++;
  }
  return (100 * correct) / data.count;
}
