// A sequential network built from a small layer spec, plus softmax cross-entropy and prediction helpers.

import type { Rng } from '../prng.ts';
import { Conv2d, Dense, Flatten, MaxPool2, Relu, type Layer, type Param } from './layers.ts';

/** One layer of an architecture, as written in the zoo catalogue. */
export type LayerSpec =
  | { type: 'conv'; out: number }
  | { type: 'pool' }
  | { type: 'dense'; out: number }
  | { type: 'relu' }
  | { type: 'flatten' };

export class Sequential {
  readonly layers: Layer[];

  constructor(readonly inputShape: number[], specs: readonly LayerSpec[], rng: Rng) {
    const layers: Layer[] = [];
    let shape = inputShape.slice();
    let ci = 0, di = 0;
    for (const s of specs) {
      let l: Layer;
      if (s.type === 'conv') {
        if (shape.length !== 3) throw new Error(`conv needs a [c,h,w] input, got [${shape}]`);
        l = new Conv2d(shape[0], s.out, shape[1], shape[2], rng, `conv${ci++}`);
      } else if (s.type === 'pool') l = new MaxPool2(shape);
      else if (s.type === 'relu') l = new Relu(shape);
      else if (s.type === 'flatten') l = new Flatten(shape);
      else {
        if (shape.length !== 1) throw new Error(`dense needs a flat input, got [${shape}] (add a flatten)`);
        l = new Dense(shape[0], s.out, rng, `fc${di++}`);
      }
      layers.push(l);
      shape = l.outShape;
    }
    // The first parametrised layer does not need dL/dx: skip that work.
    for (const l of layers) {
      l.needsInputGrad = false;
      if (l.params.length > 0) break;
    }
    this.layers = layers;
  }

  get params(): Param[] {
    return this.layers.flatMap((l) => l.params);
  }

  get outputSize(): number {
    return this.layers[this.layers.length - 1].outShape[0];
  }

  /** Logits for a batch. */
  forward(x: Float32Array, batch: number): Float32Array {
    let h = x;
    for (const l of this.layers) h = l.forward(h, batch);
    return h;
  }

  backward(dLogits: Float32Array, batch: number): void {
    let g = dLogits;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i];
      g = l.backward(g, batch);
      if (!l.needsInputGrad) break;
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
  }
}

/** Mean softmax cross-entropy over the batch; writes dL/dlogits into `grad`. */
export function softmaxCrossEntropy(logits: Float32Array, labels: Int32Array, labelOff: number, batch: number, classes: number, grad: Float32Array): number {
  let loss = 0;
  for (let i = 0; i < batch; i++) {
    const o = i * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, logits[o + j]);
    let sum = 0;
    for (let j = 0; j < classes; j++) {
      const e = Math.exp(logits[o + j] - max);
      grad[o + j] = e;
      sum += e;
    }
    const y = labels[labelOff + i];
    for (let j = 0; j < classes; j++) grad[o + j] = (grad[o + j] / sum - (j === y ? 1 : 0)) / batch;
    loss -= logits[o + y] - max - Math.log(sum);
  }
  return loss / batch;
}

export function argmaxRows(logits: Float32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let j = 1; j < cols; j++) if (logits[i * cols + j] > logits[i * cols + best]) best = j;
    out[i] = best;
  }
  return out;
}
