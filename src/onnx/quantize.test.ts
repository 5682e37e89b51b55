// int8 quantization of fp32 ONNX models: smaller files, close outputs, any ModelProto with constant weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import { exportSequential } from '../zoo/export-onnx.ts';
import { createRng } from '../zoo/prng.ts';
import { Sequential } from '../zoo/train/model.ts';
import { buildModel, DataType, decodeModel, encodeModel, floatTensor, node, valueInfo } from './onnx-builder.ts';
import { inspectModel } from './inspect-model.ts';
import { maxDiff, runOnce } from './test-helpers.ts';
import { quantizeModel, quantizeOnnx, type QuantizeReport } from './quantize.ts';

const run = runOnce;

for (const convMode of ['weights', 'integer'] as const) {
  test(`a CNN quantized with convMode '${convMode}' is about 4x smaller and gives close probabilities`, async () => {
    const model = new Sequential([1, 28, 28], [{ type: 'conv', out: 16 }, { type: 'relu' }, { type: 'pool' }, { type: 'conv', out: 16 }, { type: 'relu' }, { type: 'pool' }, { type: 'flatten' }, { type: 'dense', out: 64 }, { type: 'relu' }, { type: 'dense', out: 10 }], createRng(3));
    const fp32 = encodeModel(exportSequential(model, { graphName: 'q' }));
    const report: QuantizeReport = { quantized: [], skipped: [] };
    const int8 = encodeModel(quantizeModel(decodeModel(fp32), { convMode }, report));
    assert.ok(int8.length < fp32.length / 3, `${int8.length} vs ${fp32.length}`);
    // the first conv's weight (16x1x3x3 = 144 values) is below minElements and stays fp32
    assert.deepEqual([report.quantized.length, report.skipped.length], [3, 1]);
    const ops = inspectModel(int8).ops;
    assert.ok(ops.includes('MatMulInteger') && ops.includes('DynamicQuantizeLinear'));
    assert.ok(ops.includes(convMode === 'integer' ? 'ConvInteger' : 'DequantizeLinear'));
    const rng = createRng(4);
    const x = Float32Array.from({ length: 4 * 784 }, () => rng.next());
    const [a, b] = [await run(fp32, x, [4, 1, 28, 28]), await run(int8, x, [4, 1, 28, 28])];
    assert.ok(maxDiff(a, b) < 0.05, `max probability difference ${maxDiff(a, b)}`);
    assert.ok(maxDiff(a, b) > 0, 'quantization changed nothing');
  });
}

test('a hand-built MatMul graph (not from our trainer) is quantized too', async () => {
  const rng = createRng(5);
  const w = Float32Array.from({ length: 32 * 8 }, () => rng.normal());
  const m = buildModel({
    name: 'mm',
    inputs: [valueInfo('x', DataType.FLOAT, ['batch', 32])],
    outputs: [valueInfo('y', DataType.FLOAT, ['batch', 8])],
    nodes: [node('MatMul', ['x', 'w'], ['h']), node('Relu', ['h'], ['y'])],
    initializers: [floatTensor('w', [32, 8], w)],
  });
  const fp32 = encodeModel(m);
  const int8 = quantizeOnnx(fp32);
  const x = Float32Array.from({ length: 2 * 32 }, () => rng.next());
  const [a, b] = [await run(fp32, x, [2, 32]), await run(int8, x, [2, 32])];
  const scale = a.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
  assert.ok(maxDiff(a, b) < 0.03 * scale, `diff ${maxDiff(a, b)} at scale ${scale}`);
  assert.ok(!inspectModel(int8).ops.includes('MatMul'));
});

test('quantization refuses garbage and too-old opsets with INVALID_MODEL', () => {
  assert.throws(() => quantizeOnnx(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])), (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_MODEL');
  const m = buildModel({ name: 'old', inputs: [valueInfo('x', DataType.FLOAT, [1, 2])], outputs: [valueInfo('y', DataType.FLOAT, [1, 2])], nodes: [node('Relu', ['x'], ['y'])], initializers: [], opset: 9 });
  assert.throws(() => quantizeModel(m), /opset 9/);
});
