// Inspection of an ONNX file at registration time: what it takes and returns, which operators it uses, and
// whether it fits a use case. Errors are InfaasError INVALID_MODEL with messages meant for the model developer.

import { excerpt, invalidModel } from '../core/errors.ts';
import { decodeModel, DataType, toNum, type ModelProto, type ValueInfoProto } from './onnx-builder.ts';
import type onnxProto from 'onnx-proto';

export interface TensorInfo {
  name: string;
  /** Dimensions: a number when fixed, the symbol (e.g. 'N') when symbolic, '?' when unknown. */
  shape: (number | string)[];
  /** Element type, lower case ONNX name: 'float', 'int64', 'uint8', ... */
  elemType: string;
}

export interface ModelInfo {
  irVersion: number;
  /** Version of the default ('ai.onnx') operator set. */
  opsetVersion: number;
  /** Graph inputs that are not initializers. */
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Distinct operator types, sorted; operators of other domains are written `domain.Op`. */
  ops: string[];
}

/** Operators of the default domain a registered model may use: what the zoo uses plus common CNN/MLP ones. */
export const SUPPORTED_OPS: readonly string[] = [
  'Add', 'ArgMax', 'AveragePool', 'BatchNormalization', 'Cast', 'Clip', 'Concat', 'Constant', 'ConstantOfShape',
  'Conv', 'ConvInteger', 'ConvTranspose', 'DequantizeLinear', 'Div', 'Dropout', 'DynamicQuantizeLinear', 'Elu', 'Erf', 'Exp',
  'Expand', 'Flatten', 'Gather', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'HardSigmoid', 'HardSwish', 'Identity',
  'LayerNormalization', 'LeakyRelu', 'Log', 'LogSoftmax', 'LRN', 'MatMul', 'MatMulInteger', 'Max', 'MaxPool', 'Mean', 'Min',
  'Mul', 'Neg', 'Pad', 'Pow', 'PRelu', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear', 'Reciprocal', 'ReduceMax',
  'ReduceMean', 'ReduceSum', 'Relu', 'Reshape', 'Resize', 'Shape', 'Sigmoid', 'Slice', 'Softmax', 'Split', 'Sqrt',
  'Squeeze', 'Sub', 'Sum', 'Tanh', 'Transpose', 'Unsqueeze',
].sort();

/** Default-domain opsets the bundled ONNX Runtime executes. */
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DataType)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k.toLowerCase()]),
);

function tensorInfo(v: ValueInfoProto): TensorInfo {
  const t = v.type?.tensorType;
  const dims = t?.shape?.dim ?? [];
  return {
    name: v.name ?? '',
    shape: dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : '?')),
    elemType: TYPE_NAMES[t?.elemType ?? 0] ?? 'undefined',
  };
}

function collectOps(g: onnxProto.onnx.IGraphProto, into: Set<string>): void {
  for (const n of g.node ?? []) {
    const domain = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : '';
    into.add(`${domain}${n.opType ?? ''}`);
    for (const a of n.attribute ?? []) {
      if (a.g) collectOps(a.g, into);
      for (const sg of a.graphs ?? []) collectOps(sg, into);
    }
  }
}

/** Parses ONNX bytes. Throws INVALID_MODEL when they are not a model. */
export function inspectModel(bytes: Uint8Array): ModelInfo {
  let m: ModelProto;
  try {
    m = decodeModel(bytes);
  } catch {
    throw invalidModel('not an ONNX model (could not parse protobuf)');
  }
  const g = m.graph;
  if (!g || (g.node ?? []).length === 0) throw invalidModel('not an ONNX model (no graph with nodes found in the protobuf)');
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const opsetEntry = (m.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const ops = new Set<string>();
  collectOps(g, ops);
  return {
    irVersion: toNum(m.irVersion ?? 0),
    opsetVersion: toNum(opsetEntry?.version ?? 0),
    inputs: (g.input ?? []).filter((i) => !inits.has(i.name)).map(tensorInfo),
    outputs: (g.output ?? []).map(tensorInfo),
    ops: [...ops].sort(),
  };
}

/** Most values one sample (the input without its batch dimension) may have: 2^26 float32 values, 256 MiB. */
export const MAX_SAMPLE_VALUES = 2 ** 26;
/** Highest rank of a sample (without the batch dimension). */
export const MAX_SAMPLE_RANK = 8;
/** Names listed in a message at most (a model may have thousands of inputs or operators). */
const MAX_LISTED = 8;

/** A shape for a message: dimensions as declared, each quoted through excerpt() when symbolic (model-supplied text). */
export const fmtShape = (s: readonly (number | string)[]) =>
  `[${s.slice(0, MAX_SAMPLE_RANK + 2).map((d) => (typeof d === 'number' || d === '?' || d === 'N' ? d : excerpt(d, 16))).join(',')}${s.length > MAX_SAMPLE_RANK + 2 ? ',…' : ''}]`;

/** Names quoted through excerpt(), at most MAX_LISTED of them, then how many more. */
function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).map((n) => excerpt(n, 40)).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

/**
 * Checks a use case's sample shape (without the batch dimension) is one the server can hold: 1 to MAX_SAMPLE_RANK
 * positive integer dimensions of at most MAX_SAMPLE_VALUES values in all. Throws INVALID_MODEL otherwise.
 */
export function checkSampleShape(shape: readonly number[], what = 'the model input'): void {
  if (shape.length < 1 || shape.length > MAX_SAMPLE_RANK || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw invalidModel(`${what} must have 1 to ${MAX_SAMPLE_RANK} fixed positive dimensions besides the batch, got ${fmtShape(shape)}`);
  }
  const values = shape.reduce((a, d) => a * d, 1);
  if (values > MAX_SAMPLE_VALUES) throw invalidModel(`${what} of shape ${fmtShape(shape)} has ${values} values per sample; at most ${MAX_SAMPLE_VALUES} are accepted`);
}

/**
 * Checks that a model fits a use case whose samples have `sampleShape` (without the batch dimension):
 * exactly one float input of shape [batch, ...sampleShape] with a symbolic (or unknown) batch dimension, at least
 * one output, a supported opset and only supported operators. Throws INVALID_MODEL saying what is wrong.
 */
export function validateForUseCase(info: ModelInfo, sampleShape: readonly number[], useCase = 'this use case'): void {
  checkSampleShape(sampleShape, `use case ${useCase}'s input`);
  const expected = fmtShape(['N', ...sampleShape]);
  if (info.inputs.length === 0) throw invalidModel(`model has no inputs; use case ${useCase} expects one float input of shape ${expected}`);
  if (info.inputs.length > 1) {
    throw invalidModel(`model has ${info.inputs.length} inputs (${listNames(info.inputs.map((i) => i.name))}); use case ${useCase} expects exactly one, of shape ${expected}`);
  }
  if (info.outputs.length === 0) throw invalidModel('model has no outputs');
  const input = info.inputs[0];
  const inputName = excerpt(input.name, 40);
  if (input.elemType !== 'float') throw invalidModel(`model input ${inputName} has element type ${input.elemType} but use case ${useCase} expects float (float32) input`);
  const s = input.shape;
  const rankOk = s.length === sampleShape.length + 1;
  const dimsOk = rankOk && sampleShape.every((d, i) => s[i + 1] === d || typeof s[i + 1] === 'string');
  if (!rankOk || !dimsOk) throw invalidModel(`model input ${inputName} has shape ${fmtShape(s)} but use case ${useCase} expects ${expected}`);
  if (typeof s[0] === 'number') {
    throw invalidModel(`model input ${inputName} has a fixed batch dimension ${s[0]} (shape ${fmtShape(s)}); export it with a symbolic batch dimension, e.g. ${expected}`);
  }
  if (info.opsetVersion < MIN_OPSET || info.opsetVersion > MAX_OPSET) {
    throw invalidModel(`model uses opset ${info.opsetVersion}; supported opsets are ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  const supported = new Set(SUPPORTED_OPS);
  const bad = info.ops.filter((op) => !supported.has(op));
  if (bad.length > 0) {
    throw invalidModel(`unsupported operator${bad.length > 1 ? 's' : ''} ${listNames(bad)} (supported: ${SUPPORTED_OPS.join(', ')})`);
  }
}
