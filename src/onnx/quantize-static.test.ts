// Static QDQ quantization: calibrated ranges, close outputs, batch independence, any ModelProto with constant weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportSequential } from '../zoo/export-onnx.ts';
import { createRng } from '../zoo/prng.ts';
import { Sequential } from '../zoo/train/model.ts';
import { buildModel, DataType, encodeModel, floatTensor, node, valueInfo, attr } from './onnx-builder.ts';
import { inspectModel } from './inspect-model.ts';
import { maxDiff, runOnce } from './test-helpers.ts';
import { quantizeStatic } from './quantize-static.ts';
import type { QuantizeReport } from './quantize.ts';

const run = runOnce;

test('a CNN quantized statically is ~4x smaller, close to fp32 and independent of batching', async () => {
  const rng = createRng(11);
  const model = new Sequential([1, 28, 28], [{ type: 'conv', out: 8 }, { type: 'relu' }, { type: 'pool' }, { type: 'conv', out: 16 }, { type: 'relu' }, { type: 'pool' }, { type: 'flatten' }, { type: 'dense', out: 32 }, { type: 'relu' }, { type: 'dense', out: 10 }], rng);
  const fp32 = encodeModel(exportSequential(model, { graphName: 's' }));
  const cal = Float32Array.from({ length: 64 * 784 }, () => rng.next());
  const report: QuantizeReport = { quantized: [], skipped: [] };
  const int8 = encodeModel(await quantizeStatic(exportSequential(model, { graphName: 's' }), { inputs: cal, shape: [64, 1, 28, 28] }, { batchSize: 16 }, report));
  assert.deepEqual(report, { quantized: ['Conv Conv_t0_conv3x3', 'Conv Conv_t3_conv3x3', 'Gemm Gemm_t7_dense', 'Gemm Gemm_t9_dense'], skipped: [] });
  assert.ok(int8.length < fp32.length / 2.5, `${int8.length} vs ${fp32.length}`);
  const ops = inspectModel(int8).ops;
  assert.ok(ops.includes('QuantizeLinear') && ops.includes('DequantizeLinear'));
  const x = Float32Array.from({ length: 4 * 784 }, () => rng.next());
  const [a, b] = [await run(fp32, x, [4, 1, 28, 28]), await run(int8, x, [4, 1, 28, 28])];
  assert.ok(maxDiff(a, b) < 0.05 && maxDiff(a, b) > 0, `max probability difference ${maxDiff(a, b)}`);
  for (let i = 0; i < 4; i++) {
    const one = await run(int8, x.slice(i * 784, (i + 1) * 784), [1, 1, 28, 28]);
    assert.deepEqual(Array.from(one), Array.from(b.subarray(i * 10, i * 10 + 10)), `sample ${i} differs alone and in a batch`);
  }
});

test('Gemm without transB and MatMul graphs are quantized with per-column weight scales', async () => {
  const rng = createRng(12);
  const w1 = Float32Array.from({ length: 16 * 12 }, () => rng.normal());
  const w2 = Float32Array.from({ length: 12 * 6 }, () => rng.normal());
  const m = buildModel({
    name: 'g',
    inputs: [valueInfo('x', DataType.FLOAT, ['b', 16])],
    outputs: [valueInfo('y', DataType.FLOAT, ['b', 6])],
    nodes: [node('Gemm', ['x', 'w1', 'b1'], ['h'], [attr.int('transB', 0)]), node('Relu', ['h'], ['r']), node('MatMul', ['r', 'w2'], ['y'])],
    initializers: [floatTensor('w1', [16, 12], w1), floatTensor('b1', [12], Float32Array.from({ length: 12 }, () => rng.normal())), floatTensor('w2', [12, 6], w2)],
  });
  const cal = Float32Array.from({ length: 50 * 16 }, () => rng.next() * 2 - 1);
  const int8 = encodeModel(await quantizeStatic(m, { inputs: cal, shape: [50, 16] }, { minElements: 1 }));
  const x = cal.slice(0, 5 * 16);
  const [a, b] = [await run(encodeModel(m), x, [5, 16]), await run(int8, x, [5, 16])];
  const scale = a.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
  assert.ok(maxDiff(a, b) < 0.05 * scale, `diff ${maxDiff(a, b)} at output scale ${scale}`);
});

test('static quantization needs opset 13', async () => {
  const m = buildModel({ name: 'old', inputs: [valueInfo('x', DataType.FLOAT, [1, 2])], outputs: [valueInfo('y', DataType.FLOAT, [1, 2])], nodes: [node('Relu', ['x'], ['y'])], initializers: [], opset: 11 });
  await assert.rejects(quantizeStatic(m, { inputs: new Float32Array(2), shape: [1, 2] }), /opset 11/);
});
