// The committed zoo (zoo/manifest.json and its files) is complete and its numbers are true in onnxruntime-node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeValidationSet } from '../core/validation-set.ts';
import { inspectModel, validateForUseCase } from '../onnx/inspect-model.ts';
import { measureAccuracy, openSession } from '../onnx/measure.ts';
import { readZooManifest, ZOO_DIR } from './manifest.ts';

const manifest = readZooManifest();

test('the manifest lists two use cases, each with at least 5 architectures and an int8 artifact', () => {
  assert.deepEqual(manifest.useCases.map((u) => `${u.task}/${u.dataset}`), ['classification/fashion-mnist', 'classification/mnist']);
  for (const uc of manifest.useCases) {
    assert.deepEqual(uc.inputShape, [1, 28, 28]);
    assert.ok(uc.architectures.length >= 5);
    assert.ok(uc.architectures.some((a) => a.artifacts.some((x) => x.precision === 'int8')));
    const labels = readFileSync(join(ZOO_DIR, uc.labels), 'utf8').trim().split('\n');
    assert.equal(labels.length, 10);
    const v = decodeValidationSet(readFileSync(join(ZOO_DIR, uc.validation)));
    assert.equal(v.count, 2000);
    assert.deepEqual(v.shape, [1, 28, 28]);
    assert.deepEqual(v.classNames, labels);
    const accs = uc.architectures.map((a) => a.artifacts.find((x) => x.precision === 'fp32')!.accuracy);
    assert.ok(Math.max(...accs) - Math.min(...accs) >= 5, `accuracy span ${accs}`);
  }
});

for (const uc of manifest.useCases) {
  test(`${uc.dataset}: every artifact loads, validates, has the listed size and the listed accuracy`, async () => {
    const valset = decodeValidationSet(readFileSync(join(ZOO_DIR, uc.validation)));
    for (const arch of uc.architectures) {
      const fp32 = arch.artifacts.find((a) => a.precision === 'fp32');
      assert.ok(fp32, `${arch.name} has no fp32 artifact`);
      for (const art of arch.artifacts) {
        const path = join(ZOO_DIR, art.file);
        assert.equal(statSync(path).size, art.bytes, art.file);
        validateForUseCase(inspectModel(new Uint8Array(readFileSync(path))), uc.inputShape, `${uc.task}/${uc.dataset}`);
        const session = await openSession(path);
        try {
          assert.deepEqual(session.inputNames, ['input']);
          assert.deepEqual(session.outputNames, ['probs']);
          const acc = await measureAccuracy(session, valset);
          assert.ok(Math.abs(acc - art.accuracy) <= 0.01, `${art.file}: measured ${acc}, manifest ${art.accuracy}`);
        } finally {
          await session.release();
        }
        if (art.precision === 'int8') {
          assert.ok(art.bytes < fp32.bytes / 3, `${art.file} is not much smaller than fp32`);
          assert.ok(Math.abs(art.accuracy - fp32.accuracy) <= 3, `${art.file}: int8 ${art.accuracy} vs fp32 ${fp32.accuracy}`);
        }
      }
    }
  });
}
