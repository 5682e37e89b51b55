// Top-1 accuracy of a classifier over a validation set: argmax of each sample's output against its label.

import { sizeOf } from '../core/types.ts';
import type { ValidationSet } from '../core/validation-set.ts';

/** Runs one batch of `n` samples (data is [n, ...shape] row-major) and returns the flat output, n x classes. */
export type RunBatch = (data: Float32Array, n: number) => Promise<Float32Array>;

/** Percent (0..100) of samples whose argmax output equals the label; ties go to the lowest index. */
export async function topOneAccuracy(v: ValidationSet, batch: number, run: RunBatch, onChunk: () => void = () => {}): Promise<number> {
  const per = sizeOf(v.shape);
  let correct = 0;
  for (let start = 0; start < v.count; start += batch) {
    const n = Math.min(batch, v.count - start);
    const out = await run(v.inputs.subarray(start * per, (start + n) * per), n);
    const classes = out.length / n;
    for (let i = 0; i < n; i++) {
      let arg = 0;
      for (let c = 1; c < classes; c++) if (out[i * classes + c] > out[i * classes + arg]) arg = c;
      if (arg === v.labels[start + i]) correct++;
    }
    onChunk();
  }
  return (correct / v.count) * 100;
}
