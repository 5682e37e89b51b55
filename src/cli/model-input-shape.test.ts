// Tests of reading an ONNX model's per-sample input shape (for `register --validation DIR`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { CliError } from './cli-error.ts';
import { modelInputShape } from './model-input-shape.ts';

const { onnx } = onnxProto;

function model(dims: ({ dimValue: number } | { dimParam: string })[], withInitializerFirst = false): Uint8Array {
  const input = { name: 'x', type: { tensorType: { elemType: 1, shape: { dim: dims } } } };
  const w = { name: 'w', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 3 }] } } } };
  return onnx.ModelProto.encode({
    irVersion: 8,
    graph: { name: 'g', input: withInitializerFirst ? [w, input] : [input], initializer: withInitializerFirst ? [{ name: 'w', dims: [3], dataType: 1, floatData: [1, 2, 3] }] : [] },
  }).finish();
}

test('drops a symbolic or rank-4 batch dimension and skips initializers', () => {
  assert.deepEqual(modelInputShape(model([{ dimParam: 'N' }, { dimValue: 1 }, { dimValue: 28 }, { dimValue: 28 }])), [1, 28, 28]);
  assert.deepEqual(modelInputShape(model([{ dimValue: 1 }, { dimValue: 3 }, { dimValue: 8 }, { dimValue: 8 }])), [3, 8, 8]);
  assert.deepEqual(modelInputShape(model([{ dimParam: 'batch' }, { dimValue: 64 }], true)), [64]);
});

test('symbolic sample dimensions and non-ONNX bytes ask for --shape / are refused', () => {
  assert.throws(() => modelInputShape(model([{ dimParam: 'N' }, { dimParam: 'H' }, { dimValue: 28 }])), (e: unknown) => e instanceof CliError && /--shape/.test(e.message));
  assert.throws(() => modelInputShape(new TextEncoder().encode('definitely not protobuf \u00ff\u00ff')), (e: unknown) => e instanceof CliError && e.exitCode === 2);
});
