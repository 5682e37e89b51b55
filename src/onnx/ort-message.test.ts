// ortReason on real ONNX Runtime errors: the reason stays, the server's paths and ORT's source locations go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildModel, DataType, encodeModel, floatTensor, int64Tensor, node, valueInfo } from './onnx-builder.ts';
import { ortReason } from './ort-message.ts';

const F = DataType.FLOAT;
const reasonOf = async (f: () => Promise<unknown>, paths: string[] = []) => {
  try {
    await f();
  } catch (e) {
    return ortReason(e, paths);
  }
  throw new Error('expected an error');
};

test('a load error keeps ORT reason without the file path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-ortmsg-'));
  try {
    const path = join(dir, 'models', 'models', 'mm.onnx');
    const bytes = encodeModel(buildModel({ name: 'mm', inputs: [valueInfo('x', F, ['N', 4])], outputs: [valueInfo('y', F, ['N', 3])], nodes: [node('MatMul', ['x', 'W'], ['y'])], initializers: [floatTensor('W', [5, 3], new Float32Array(15))] }));
    writeFileSync(join(dir, 'mm.onnx'), bytes);
    const reason = await reasonOf(() => ort.InferenceSession.create(join(dir, 'mm.onnx'), { logSeverityLevel: 4 }), [join(dir, 'mm.onnx')]);
    assert.match(reason, /^Node \(MatMul_y\) Op \(MatMul\) \[ShapeInferenceError\] Incompatible dimensions for matrix multiplication$/);
    const missing = await reasonOf(() => ort.InferenceSession.create(path, { logSeverityLevel: 4 }));
    assert.ok(!missing.includes(dir) && !missing.includes('/models/'), missing);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run error loses ORT source location, and any absolute path goes', async () => {
  const bytes = encodeModel(buildModel({ name: 'r', inputs: [valueInfo('x', F, ['N', 4])], outputs: [valueInfo('y', F, ['N', 4])], nodes: [node('Reshape', ['x', 's'], ['y'])], initializers: [int64Tensor('s', [2], [1, 4])] }));
  const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
  const reason = await reasonOf(() => s.run({ x: new ort.Tensor('float32', new Float32Array(8), [2, 4]) }));
  await s.release();
  assert.match(reason, /Reshape.*The input tensor cannot be reshaped to the requested shape\. Input shape:\{2,4\}, requested shape:\{1,4\}$/);
  assert.ok(!reason.includes('onnxruntime_src') && !reason.includes('ReshapeHelper('), reason);
  assert.equal(ortReason(new Error("cannot open '/srv/data/.infaas/models/x/fp32.onnx': EACCES")), "cannot open '<path>': EACCES");
  assert.equal(ortReason(new Error(`bad ${'y'.repeat(1000)}`)).length, 300);
});
