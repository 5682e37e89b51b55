// Adam with decoupled weight decay (AdamW) over a list of parameters.

import type { Param } from './layers.ts';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class Adam {
  #m: Float32Array[];
  #v: Float32Array[];
  #t = 0;
  lr: number;

  constructor(readonly params: Param[], readonly opts: AdamOptions) {
    this.lr = opts.lr;
    this.#m = params.map((p) => new Float32Array(p.value.length));
    this.#v = params.map((p) => new Float32Array(p.value.length));
  }

  step(): void {
    const b1 = this.opts.beta1 ?? 0.9, b2 = this.opts.beta2 ?? 0.999, eps = this.opts.eps ?? 1e-8, wd = this.opts.weightDecay ?? 0;
    this.#t++;
    const c1 = 1 - b1 ** this.#t, c2 = 1 - b2 ** this.#t;
    const lr = this.lr;
    this.params.forEach((p, k) => {
      const m = this.#m[k], v = this.#v[k], w = p.value, g = p.grad;
      const decay = p.shape.length > 1 ? wd : 0; // no decay on biases
      for (let i = 0; i < w.length; i++) {
        const gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= lr * ((m[i] / c1) / (Math.sqrt(v[i] / c2) + eps) + decay * w[i]);
      }
    });
  }
}
