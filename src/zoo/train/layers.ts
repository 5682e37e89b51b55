// Trainable layers (Dense, Conv2d 3x3 pad 1, ReLU, MaxPool2, Flatten) on batched NCHW Float32Array data.
//
// Contract: `forward(x, batch)` keeps whatever `backward` needs; `backward(dy, batch)` adds parameter gradients
// into `params[i].grad` and returns dL/dx (or an empty array when `needsInputGrad` is false).

import type { Rng } from '../prng.ts';
import { gemmNN, gemmNT, gemmTN } from './gemm.ts';

export interface Param {
  name: string;
  value: Float32Array;
  grad: Float32Array;
  /** The ONNX shape of the tensor, e.g. [cout, cin, 3, 3] for a conv weight. */
  shape: number[];
}

export type LayerKind = 'dense' | 'conv3x3' | 'relu' | 'maxpool2' | 'flatten';

export interface Layer {
  readonly kind: LayerKind;
  /** Per-sample input and output shapes (no batch dimension). */
  readonly inShape: number[];
  readonly outShape: number[];
  readonly params: Param[];
  needsInputGrad: boolean;
  forward(x: Float32Array, batch: number): Float32Array;
  backward(dy: Float32Array, batch: number): Float32Array;
}

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function heInit(n: number, fanIn: number, rng: Rng): Float32Array {
  const w = new Float32Array(n);
  const std = Math.sqrt(2 / fanIn);
  for (let i = 0; i < n; i++) w[i] = rng.normal() * std;
  return w;
}

function param(name: string, value: Float32Array, shape: number[]): Param {
  return { name, value, grad: new Float32Array(value.length), shape };
}

const EMPTY: Float32Array = new Float32Array(0);

/** Fully connected: y = x W^T + b with W stored [out, in] (the ONNX Gemm transB=1 layout). */
export class Dense implements Layer {
  readonly kind = 'dense';
  readonly inShape: number[];
  readonly outShape: number[];
  readonly params: Param[];
  needsInputGrad = true;
  #x: Float32Array = EMPTY;

  constructor(inFeatures: number, readonly outFeatures: number, rng: Rng, name = 'fc') {
    this.inShape = [inFeatures];
    this.outShape = [outFeatures];
    this.params = [param(`${name}.weight`, heInit(outFeatures * inFeatures, inFeatures, rng), [outFeatures, inFeatures]), param(`${name}.bias`, new Float32Array(outFeatures), [outFeatures])];
  }

  forward(x: Float32Array, batch: number): Float32Array {
    this.#x = x;
    const [inF, outF] = [this.inShape[0], this.outFeatures];
    const y = new Float32Array(batch * outF);
    const b = this.params[1].value;
    for (let i = 0; i < batch; i++) y.set(b, i * outF);
    gemmNT(batch, outF, inF, x, 0, this.params[0].value, 0, y, 0);
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const [inF, outF] = [this.inShape[0], this.outFeatures];
    const [w, b] = this.params;
    gemmTN(outF, inF, batch, dy, 0, this.#x, 0, w.grad, 0);
    for (let i = 0; i < batch; i++) for (let j = 0; j < outF; j++) b.grad[j] += dy[i * outF + j];
    if (!this.needsInputGrad) return EMPTY;
    const dx = new Float32Array(batch * inF);
    gemmNN(batch, inF, outF, dy, 0, w.value, 0, dx, 0);
    return dx;
  }
}

/** 3x3 convolution, stride 1, zero padding 1, via im2col + GEMM. Weight [cout, cin, 3, 3]. */
export class Conv2d implements Layer {
  readonly kind = 'conv3x3';
  readonly inShape: number[];
  readonly outShape: number[];
  readonly params: Param[];
  needsInputGrad = true;
  #cols: Float32Array = EMPTY;

  constructor(readonly cin: number, readonly cout: number, readonly h: number, readonly w: number, rng: Rng, name = 'conv') {
    this.inShape = [cin, h, w];
    this.outShape = [cout, h, w];
    const k = cin * 9;
    this.params = [param(`${name}.weight`, heInit(cout * k, k, rng), [cout, cin, 3, 3]), param(`${name}.bias`, new Float32Array(cout), [cout])];
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const { cin, cout, h, w } = this;
    const hw = h * w, k = cin * 9, colSize = k * hw;
    if (this.#cols.length !== batch * colSize) this.#cols = new Float32Array(batch * colSize);
    const cols = this.#cols;
    const y = new Float32Array(batch * cout * hw);
    const W = this.params[0].value, B = this.params[1].value;
    for (let n = 0; n < batch; n++) {
      im2col(x, n * cin * hw, cin, h, w, cols, n * colSize);
      const yo = n * cout * hw;
      for (let o = 0; o < cout; o++) y.fill(B[o], yo + o * hw, yo + (o + 1) * hw);
      gemmNN(cout, hw, k, W, 0, cols, n * colSize, y, yo);
    }
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const { cin, cout, h, w } = this;
    const hw = h * w, k = cin * 9, colSize = k * hw;
    const [W, B] = this.params;
    const dx = this.needsInputGrad ? new Float32Array(batch * cin * hw) : EMPTY;
    const dcols = this.needsInputGrad ? new Float32Array(colSize) : EMPTY;
    for (let n = 0; n < batch; n++) {
      const yo = n * cout * hw;
      gemmNT(cout, k, hw, dy, yo, this.#cols, n * colSize, W.grad, 0);
      for (let o = 0; o < cout; o++) {
        let s = 0;
        for (let i = yo + o * hw, e = i + hw; i < e; i++) s += dy[i];
        B.grad[o] += s;
      }
      if (this.needsInputGrad) {
        dcols.fill(0);
        gemmTN(k, hw, cout, W.value, 0, dy, yo, dcols, 0);
        col2im(dcols, cin, h, w, dx, n * cin * hw);
      }
    }
    return dx;
  }
}

/** cols[(c*9 + ky*3 + kx), y*w + x] = x[c, y+ky-1, x+kx-1] (0 outside). */
function im2col(x: Float32Array, xOff: number, cin: number, h: number, w: number, cols: Float32Array, cOff: number): void {
  const hw = h * w;
  for (let c = 0; c < cin; c++) {
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        const row = cOff + (c * 9 + ky * 3 + kx) * hw;
        for (let yy = 0; yy < h; yy++) {
          const sy = yy + ky - 1;
          const ro = row + yy * w;
          if (sy < 0 || sy >= h) {
            cols.fill(0, ro, ro + w);
            continue;
          }
          const so = xOff + c * hw + sy * w;
          for (let xx = 0; xx < w; xx++) {
            const sx = xx + kx - 1;
            cols[ro + xx] = sx >= 0 && sx < w ? x[so + sx] : 0;
          }
        }
      }
    }
  }
}

function col2im(cols: Float32Array, cin: number, h: number, w: number, dx: Float32Array, dOff: number): void {
  const hw = h * w;
  for (let c = 0; c < cin; c++) {
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        const row = (c * 9 + ky * 3 + kx) * hw;
        for (let yy = 0; yy < h; yy++) {
          const sy = yy + ky - 1;
          if (sy < 0 || sy >= h) continue;
          const ro = row + yy * w;
          const so = dOff + c * hw + sy * w;
          for (let xx = 0; xx < w; xx++) {
            const sx = xx + kx - 1;
            if (sx >= 0 && sx < w) dx[so + sx] += cols[ro + xx];
          }
        }
      }
    }
  }
}

export class Relu implements Layer {
  readonly kind = 'relu';
  readonly outShape: number[];
  readonly params: Param[] = [];
  needsInputGrad = true;
  #y: Float32Array = EMPTY;

  constructor(readonly inShape: number[]) {
    this.outShape = inShape.slice();
  }

  forward(x: Float32Array): Float32Array {
    const y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
    this.#y = y;
    return y;
  }

  backward(dy: Float32Array): Float32Array {
    const dx = new Float32Array(dy.length);
    const y = this.#y;
    for (let i = 0; i < dy.length; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
    return dx;
  }
}

/** 2x2 max pooling, stride 2 (H and W must be even). */
export class MaxPool2 implements Layer {
  readonly kind = 'maxpool2';
  readonly outShape: number[];
  readonly params: Param[] = [];
  needsInputGrad = true;
  #argmax = new Int32Array(0);

  constructor(readonly inShape: number[]) {
    const [c, h, w] = inShape;
    this.outShape = [c, h >> 1, w >> 1];
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const [c, h, w] = this.inShape;
    const oh = h >> 1, ow = w >> 1;
    const y = new Float32Array(batch * c * oh * ow);
    const arg = (this.#argmax = new Int32Array(y.length));
    let o = 0;
    for (let nc = 0; nc < batch * c; nc++) {
      const base = nc * h * w;
      for (let yy = 0; yy < oh; yy++) {
        for (let xx = 0; xx < ow; xx++, o++) {
          const i0 = base + 2 * yy * w + 2 * xx;
          let best = i0, v = x[i0];
          if (x[i0 + 1] > v) { v = x[i0 + 1]; best = i0 + 1; }
          if (x[i0 + w] > v) { v = x[i0 + w]; best = i0 + w; }
          if (x[i0 + w + 1] > v) { v = x[i0 + w + 1]; best = i0 + w + 1; }
          y[o] = v;
          arg[o] = best;
        }
      }
    }
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const dx = new Float32Array(batch * size(this.inShape));
    const arg = this.#argmax;
    for (let i = 0; i < dy.length; i++) dx[arg[i]] += dy[i];
    return dx;
  }
}

/** [c, h, w] -> [c*h*w]; a no-op on the data (row-major NCHW flattening, as ONNX Flatten axis=1). */
export class Flatten implements Layer {
  readonly kind = 'flatten';
  readonly outShape: number[];
  readonly params: Param[] = [];
  needsInputGrad = true;

  constructor(readonly inShape: number[]) {
    this.outShape = [size(inShape)];
  }

  forward(x: Float32Array): Float32Array {
    return x;
  }

  backward(dy: Float32Array): Float32Array {
    return dy;
  }
}
