// Input validation at the worker boundary: a VariantSpec and an input tensor as they arrive off the wire.
// Everything a worker receives is checked here before it reaches ONNX Runtime.

import { invalid } from '../core/errors.ts';
import type { Tensor } from '../core/types.ts';
import type { InferOptions, VariantSpec } from '../protocol/worker-protocol.ts';

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Throws INVALID_ARGUMENT unless `s` is a well-formed VariantSpec. */
export function validateSpec(s: unknown): asserts s is VariantSpec {
  const spec = s as Partial<VariantSpec> | null;
  if (!spec || typeof spec !== 'object') throw invalid('variant spec is missing');
  if (typeof spec.name !== 'string' || !spec.name) throw invalid('variant spec needs a name');
  if (typeof spec.artifactKey !== 'string' || !spec.artifactKey) throw invalid(`variant ${spec.name}: artifactKey is missing`);
  if (spec.sha256 !== undefined && (typeof spec.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(spec.sha256))) throw invalid(`variant ${spec.name}: sha256 must be 64 lowercase hex digits`);
  if (!isPosInt(spec.threads)) throw invalid(`variant ${spec.name}: threads must be a positive integer`);
  if (!isPosInt(spec.maxBatch)) throw invalid(`variant ${spec.name}: maxBatch must be a positive integer`);
  if (spec.optLevel !== 'basic' && spec.optLevel !== 'all') throw invalid(`variant ${spec.name}: optLevel must be "basic" or "all"`);
  if (typeof spec.memoryMB !== 'number' || !(spec.memoryMB >= 0)) throw invalid(`variant ${spec.name}: memoryMB must be a number >= 0`);
  if (spec.latency !== undefined) {
    const l = spec.latency as unknown;
    const ok = Array.isArray(l) && l.every((p, i) => p && typeof p === 'object' && isPosInt(p.batch) && p.p50 >= 0 && p.p95 >= 0 && (i === 0 || p.batch > l[i - 1].batch));
    if (!ok) throw invalid(`variant ${spec.name}: latency must be [{batch, p50, p95}, ...] ascending by batch`);
  }
}

/** Throws INVALID_ARGUMENT unless the shape is positive integers and the data length matches it. */
export function validateTensor(t: Tensor, what = 'input'): void {
  if (!Array.isArray(t.shape) || t.shape.length === 0) throw invalid(`${what} shape must be a non-empty array`);
  let n = 1;
  for (const d of t.shape) {
    if (!isPosInt(d)) throw invalid(`${what} shape [${t.shape.join(',')}] must hold positive integers`);
    n *= d;
  }
  if (!(t.data instanceof Float32Array)) throw invalid(`${what} data must be float32`);
  if (t.data.length !== n) {
    throw invalid(`${what} has ${t.data.length} values but shape [${t.shape.join(',')}] needs ${n}`, { shape: t.shape, values: t.data.length });
  }
}

/** Throws INVALID_ARGUMENT when the input's rank or a fixed dimension disagrees with the model's input. */
export function checkAgainstModel(variant: string, shape: readonly number[], modelShape: readonly number[]): void {
  if (!modelShape.length) return;
  const bad = shape.length !== modelShape.length || modelShape.some((d, i) => d > 0 && d !== shape[i]);
  if (bad) {
    const fmt = (s: readonly number[]) => `[${s.map((d) => (d > 0 ? d : '?')).join(',')}]`;
    throw invalid(`input shape ${fmt(shape)} does not match ${variant}'s input ${fmt(modelShape)}`, { shape: [...shape], expected: [...modelShape] });
  }
}

/** Throws INVALID_ARGUMENT unless the per-call options are well formed; returns them. */
export function validateInferOptions(o: InferOptions): InferOptions {
  if (o.budgetMs !== undefined && (typeof o.budgetMs !== 'number' || Number.isNaN(o.budgetMs))) throw invalid('budgetMs must be a number of milliseconds');
  return o;
}
