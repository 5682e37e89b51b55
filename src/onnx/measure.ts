// Measures an ONNX artifact with onnxruntime-node: top-1 accuracy on a validation set and batch-1 latency.

import * as ort from 'onnxruntime-node';
import type { ValidationSet } from '../core/validation-set.ts';

export interface SessionOptions {
  /** Intra-op threads (default 1). */
  threads?: number;
  /** Graph optimisation level (default 'all'). */
  optLevel?: 'basic' | 'all';
}

/** Opens a CPU session on a path or ONNX bytes. The caller releases it. */
export async function openSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: opts.optLevel ?? 'all',
    executionMode: 'sequential',
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

async function withSession<T>(model: ort.InferenceSession | string | Uint8Array, f: (s: ort.InferenceSession) => Promise<T>): Promise<T> {
  if (typeof model !== 'string' && !(model instanceof Uint8Array)) return f(model);
  const s = await openSession(model);
  try {
    return await f(s);
  } finally {
    await s.release();
  }
}

/** Top-1 accuracy in percent (0..100) of the model's first output on `valset`, run in batches. */
export async function measureAccuracy(model: ort.InferenceSession | string | Uint8Array, valset: ValidationSet, batchSize = 250): Promise<number> {
  return withSession(model, async (s) => {
    const per = valset.shape.reduce((a, b) => a * b, 1);
    let correct = 0;
    for (let start = 0; start < valset.count; start += batchSize) {
      const b = Math.min(batchSize, valset.count - start);
      const data = valset.inputs.slice(start * per, (start + b) * per);
      const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, [b, ...valset.shape]) });
      const t = out[s.outputNames[0]];
      const probs = t.data as Float32Array;
      const classes = probs.length / b;
      for (let i = 0; i < b; i++) {
        let best = 0;
        for (let j = 1; j < classes; j++) if (probs[i * classes + j] > probs[i * classes + best]) best = j;
        if (best === valset.labels[start + i]) correct++;
      }
    }
    return (100 * correct) / valset.count;
  });
}

/** Median (p50) milliseconds of `runs` batch-1 session.run calls on the first validation sample, after warm-up. */
export async function measureLatencyP50(model: ort.InferenceSession | string | Uint8Array, valset: ValidationSet, runs = 200): Promise<number> {
  return withSession(model, async (s) => {
    const per = valset.shape.reduce((a, b) => a * b, 1);
    const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', valset.inputs.slice(0, per), [1, ...valset.shape]) };
    for (let i = 0; i < 20; i++) await s.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await s.run(feeds);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  });
}
