// Reads the per-sample input shape of an ONNX model, so `register --validation DIR` can decode images to it.

import onnxProto from 'onnx-proto';
import { usageError } from './cli-error.ts';

const { onnx } = onnxProto;

/**
 * The first graph input that is not an initializer, as a per-sample shape: a leading batch dimension (symbolic,
 * or any first dimension of a rank-4 input) is dropped.
 * @throws CliError (exit 2) when the bytes are not an ONNX model or the input has symbolic non-batch dimensions.
 */
export function modelInputShape(bytes: Uint8Array): number[] {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw usageError(`the model file is not a readable ONNX model: ${e instanceof Error ? e.message : String(e)}`, 'register');
  }
  const graph = model.graph;
  const inits = new Set((graph?.initializer ?? []).map((t) => t.name));
  const input = (graph?.input ?? []).find((i) => !inits.has(i.name ?? ''));
  const dims = input?.type?.tensorType?.shape?.dim;
  if (!input || !dims) throw usageError('the model has no tensor input with a known shape; pass --shape C,H,W', 'register');
  const values = dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : undefined));
  const dropBatch = values.length === 4 || (values.length > 1 && values[0] === undefined);
  const sample = dropBatch ? values.slice(1) : values;
  if (sample.some((v) => v === undefined)) throw usageError(`input "${input.name}" has symbolic dimensions; pass --shape C,H,W`, 'register');
  return sample as number[];
}
