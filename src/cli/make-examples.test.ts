// Tests of the examples/ generator against a small synthetic validation set.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeValidationSet } from '../core/validation-set.ts';
import { decodeImage } from '../image/decode-image.ts';
import { makeExamples, nest } from './make-examples.ts';

test('nest reshapes a flat sample', () => {
  assert.deepEqual(nest(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 2, 3]), [[[1, 2, 3], [4, 5, 6]]]);
});

test('writes PNG, JSON and f32 examples for datasets that have a validation set, skips the others', () => {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-ex-'));
  try {
    const n = 3;
    const inputs = new Float32Array(n * 784);
    for (let i = 0; i < inputs.length; i++) inputs[i] = ((i * 7) % 256) / 255;
    mkdirSync(join(dir, 'zoo', 'fashion-mnist'), { recursive: true });
    writeFileSync(join(dir, 'zoo', 'fashion-mnist', 'validation.valset'), encodeValidationSet({ shape: [1, 28, 28], count: n, inputs, labels: Int32Array.from([4, 9, 5]) }));
    const picks = [
      { dataset: 'fashion-mnist', file: 'ankle-boot.png', classIndex: 9, format: 'png' as const },
      { dataset: 'fashion-mnist', file: 'sample.json', classIndex: 5, format: 'json' as const },
      { dataset: 'fashion-mnist', file: 'sample.f32', classIndex: 4, format: 'f32' as const },
      { dataset: 'mnist', file: 'seven.png', classIndex: 7, format: 'png' as const },
    ];
    const out = join(dir, 'examples');
    const r = makeExamples(join(dir, 'zoo'), out, picks);
    assert.equal(r.written.length, 3);
    assert.deepEqual(r.skipped, ['mnist']);
    const png = decodeImage(readFileSync(join(out, 'fashion-mnist', 'ankle-boot.png')), [1, 28, 28]);
    for (let i = 0; i < 784; i++) assert.ok(Math.abs(png[i] - inputs[784 + i]) < 0.5 / 255 + 1e-6, `pixel ${i}`);
    const json = JSON.parse(readFileSync(join(out, 'fashion-mnist', 'sample.json'), 'utf8'));
    assert.equal(json.length, 1);
    assert.equal(json[0].length, 28);
    assert.ok(Math.abs(json[0][0][1] - inputs[2 * 784 + 1]) < 1e-4);
    assert.equal(readFileSync(join(out, 'fashion-mnist', 'sample.f32')).length, 784 * 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
