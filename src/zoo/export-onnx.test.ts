// The exported ONNX graph, run by onnxruntime-node, computes the same probabilities as the TypeScript network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../onnx/onnx-builder.ts';
import { inspectModel } from '../onnx/inspect-model.ts';
import { exportSequential } from './export-onnx.ts';
import { createRng } from './prng.ts';
import { Sequential, type LayerSpec } from './train/model.ts';

const CNN: LayerSpec[] = [{ type: 'conv', out: 4 }, { type: 'relu' }, { type: 'pool' }, { type: 'conv', out: 6 }, { type: 'relu' }, { type: 'pool' }, { type: 'flatten' }, { type: 'dense', out: 12 }, { type: 'relu' }, { type: 'dense', out: 10 }];
const MLP: LayerSpec[] = [{ type: 'flatten' }, { type: 'dense', out: 16 }, { type: 'relu' }, { type: 'dense', out: 10 }];

for (const [name, specs] of [['cnn', CNN], ['mlp', MLP]] as const) {
  test(`exported ${name} matches the TypeScript forward pass in onnxruntime`, async () => {
    const model = new Sequential([1, 28, 28], specs, createRng(7));
    const bytes = encodeModel(exportSequential(model, { graphName: name }));
    const info = inspectModel(bytes);
    assert.deepEqual(info.inputs, [{ name: 'input', shape: ['N', 1, 28, 28], elemType: 'float' }]);
    assert.deepEqual(info.outputs, [{ name: 'probs', shape: ['N', 10], elemType: 'float' }]);
    assert.equal(info.opsetVersion, 13);
    assert.ok(info.irVersion >= 7);
    const batch = 3;
    const rng = createRng(8);
    const x = Float32Array.from({ length: batch * 784 }, () => rng.next());
    const logits = model.forward(x, batch);
    const s = await ort.InferenceSession.create(bytes);
    const out = (await s.run({ input: new ort.Tensor('float32', x, [batch, 1, 28, 28]) })).probs;
    await s.release();
    assert.deepEqual(out.dims, [batch, 10]);
    const probs = out.data as Float32Array;
    for (let i = 0; i < batch; i++) {
      const row = logits.subarray(i * 10, i * 10 + 10);
      const max = Math.max(...row);
      const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
      for (let j = 0; j < 10; j++) assert.ok(Math.abs(Math.exp(row[j] - max) / sum - probs[i * 10 + j]) < 1e-5);
    }
  });
}
