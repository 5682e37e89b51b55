// The top-k classes of a classifier's output, per sample, for a query's reply.

import type { Tensor } from '../core/types.ts';

export interface Prediction {
  index: number;
  label?: string;
  score: number;
}

/** Top-k (index, label, score) per sample of a [B, C] output. */
export function topKOf(t: Tensor, k: number, labels?: string[]): Prediction[][] {
  const [b, c] = [t.shape[0], t.data.length / t.shape[0]];
  const out: Prediction[][] = [];
  for (let i = 0; i < b; i++) {
    const row = t.data.subarray(i * c, (i + 1) * c);
    const idx = Array.from({ length: c }, (_, j) => j).sort((x, y) => row[y] - row[x]).slice(0, Math.min(k, c));
    out.push(idx.map((j) => ({ index: j, ...(labels?.[j] !== undefined ? { label: labels[j] } : {}), score: row[j] })));
  }
  return out;
}
