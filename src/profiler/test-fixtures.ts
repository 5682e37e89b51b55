// Test fixtures for the profiler: a tiny linear ONNX classifier (Flatten → MatMul → Softmax) built with onnx-proto,
// a matching deterministic validation set, the hand-computed accuracy the profiler must report on it, and ONNX files
// that pass inspection but that ONNX Runtime refuses.

import { mulberry32 } from '../core/random.ts';
import onnxProto from 'onnx-proto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeValidationSet, type ValidationSet } from '../core/validation-set.ts';
import { sizeOf } from '../core/types.ts';
import { attr, buildModel, DataType, encodeModel, floatTensor, int64Tensor, node, valueInfo, type NodeProto, type TensorProto } from '../onnx/onnx-builder.ts';

const { onnx } = onnxProto;

export interface TinyModelOptions {
  /** Per-sample input shape, default [1, 28, 28]. */
  inputShape?: number[];
  classes?: number;
  seed?: number;
  /** Batch dimension: symbolic 'N' (default) or a fixed size. */
  batch?: 'N' | number;
  /** Declared non-batch input dims, when they should differ from inputShape (numbers fixed, strings symbolic). */
  declaredShape?: (number | string)[];
}

export interface TinyModel {
  bytes: Uint8Array;
  /** Row-major [features, classes] weights of the MatMul. */
  weights: Float32Array;
  inputShape: number[];
  classes: number;
}

/** A small seeded generator so fixtures are reproducible. */
export const seeded = mulberry32;

/** input [N, ...inputShape] → Flatten → MatMul(features x classes constant) → Softmax → 'probs' [N, classes]. */
export function buildTinyModel(o: TinyModelOptions = {}): TinyModel {
  const inputShape = o.inputShape ?? [1, 28, 28];
  const classes = o.classes ?? 10;
  const features = sizeOf(inputShape);
  const rnd = seeded(o.seed ?? 1);
  const weights = new Float32Array(features * classes);
  for (let i = 0; i < weights.length; i++) weights[i] = rnd() * 2 - 1;
  const batchDim = o.batch === undefined || o.batch === 'N' ? { dimParam: 'N' } : { dimValue: o.batch };
  const tensorType = (dims: object[]) => ({ tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims } } });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'infaas-profiler-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny',
      input: [{ name: 'input', type: tensorType([batchDim, ...(o.declaredShape ?? inputShape).map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }))]) }],
      output: [{ name: 'probs', type: tensorType([batchDim, { dimValue: classes }]) }],
      initializer: [{ name: 'W', dims: [features, classes], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(weights.buffer.slice(0)) }],
      node: [
        { opType: 'Flatten', input: ['input'], output: ['flat'], name: 'flatten', attribute: [{ name: 'axis', i: 1, type: onnx.AttributeProto.AttributeType.INT }] },
        { opType: 'MatMul', input: ['flat', 'W'], output: ['logits'], name: 'matmul' },
        { opType: 'Softmax', input: ['logits'], output: ['probs'], name: 'softmax', attribute: [{ name: 'axis', i: 1, type: onnx.AttributeProto.AttributeType.INT }] },
      ],
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), weights, inputShape, classes };
}

/** `count` uniform [0,1) samples with random labels in [0, classes). */
export function buildTinyValset(count: number, shape: number[] = [1, 28, 28], classes = 10, seed = 7): ValidationSet {
  const rnd = seeded(seed);
  const inputs = new Float32Array(count * sizeOf(shape));
  for (let i = 0; i < inputs.length; i++) inputs[i] = rnd();
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = Math.floor(rnd() * classes);
  return { shape, count, inputs, labels };
}

/** Top-1 accuracy (percent) of the linear model on the valset, computed by hand in JavaScript. */
export function handAccuracy(m: TinyModel, v: ValidationSet): number {
  const f = sizeOf(v.shape);
  let correct = 0;
  for (let s = 0; s < v.count; s++) {
    let best = -Infinity;
    let arg = -1;
    for (let c = 0; c < m.classes; c++) {
      let z = 0;
      for (let i = 0; i < f; i++) z += v.inputs[s * f + i] * m.weights[i * m.classes + c];
      if (z > best) {
        best = z;
        arg = c;
      }
    }
    if (arg === v.labels[s]) correct++;
  }
  return (correct / v.count) * 100;
}

/** Writes the model and valset to a fresh temporary directory; returns their paths. */
export function writeFixtures(m: TinyModel, v: ValidationSet, dir = mkdtempSync(join(tmpdir(), 'infaas-prof-'))): { dir: string; modelPath: string; valsetPath: string } {
  const modelPath = join(dir, 'tiny.fp32.onnx');
  const valsetPath = join(dir, 'validation.valset');
  writeFileSync(modelPath, m.bytes);
  writeFileSync(valsetPath, encodeValidationSet(v));
  return { dir, modelPath, valsetPath };
}

/** Well-formed ONNX files that pass inspection (one float input [N, ...shape], supported ops) but ONNX Runtime refuses. */
export type BrokenKind = 'matmul-mismatch' | 'dangling-input' | 'runs-at-batch-1-only' | 'fails-on-run';

/**
 * input [N, ...inputShape] → Flatten → …: 'matmul-mismatch' multiplies by weights of the wrong height (load fails);
 * 'dangling-input' adds a tensor nothing produces (load fails); 'runs-at-batch-1-only' reshapes to [1, features]
 * (batch 2 fails); 'fails-on-run' reshapes to [3, -1], which no sample of 784 values divides into (every run fails).
 */
export function buildBrokenModel(kind: BrokenKind, inputShape: number[] = [1, 28, 28], classes = 10): Uint8Array {
  const features = sizeOf(inputShape);
  const F = DataType.FLOAT;
  const flatten = node('Flatten', ['input'], ['flat'], [attr.int('axis', 1)]);
  const weights = (rows: number) => floatTensor('W', [rows, classes], new Float32Array(rows * classes).fill(0.01));
  const graph = (nodes: NodeProto[], initializers: TensorProto[]) =>
    encodeModel(buildModel({ name: kind, inputs: [valueInfo('input', F, ['N', ...inputShape])], outputs: [valueInfo('probs', F, ['N', classes])], nodes, initializers }));
  switch (kind) {
    case 'matmul-mismatch':
      return graph([flatten, node('MatMul', ['flat', 'W'], ['probs'])], [weights(features - 84)]);
    case 'dangling-input':
      return graph([flatten, node('Add', ['flat', 'ghost'], ['shifted']), node('MatMul', ['shifted', 'W'], ['probs'])], [weights(features)]);
    case 'runs-at-batch-1-only':
      return graph([node('Reshape', ['input', 'shape'], ['flat']), node('MatMul', ['flat', 'W'], ['probs'])], [int64Tensor('shape', [2], [1, features]), weights(features)]);
    case 'fails-on-run':
      return graph([node('Reshape', ['input', 'shape'], ['flat']), node('MatMul', ['flat', 'W'], ['probs'])], [int64Tensor('shape', [2], [3, -1]), weights(features)]);
  }
}
