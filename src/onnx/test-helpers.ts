// Helpers the ONNX tests share: run a model's first output in a fresh ORT session, and the largest difference.
import * as ort from 'onnxruntime-node';

/** Runs an in-memory model once on `x` (shape `shape`) and returns its first output. */
export async function runOnce(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, shape) });
  await s.release();
  return out[s.outputNames[0]].data as Float32Array;
}

/** The largest absolute elementwise difference of two equal-length arrays. */
export const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
