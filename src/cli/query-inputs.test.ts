// Tests of reading `query -i` files: kind detection, batching, the single-tensor case and refused mixtures.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './cli-error.ts';
import { encodePng } from '../image/encode-image.ts';
import { loadQueryInputs } from './query-inputs.ts';
import { selectionQuery } from './query-selection.ts';

let dir: string;
const p = (name: string) => join(dir, name);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'infaas-qi-'));
  writeFileSync(p('a.png'), encodePng(new Float32Array(4).fill(0.5), [1, 2, 2]));
  writeFileSync(p('misnamed.json'), encodePng(new Float32Array(4), [1, 2, 2]));
  writeFileSync(p('nested.json'), JSON.stringify([[[0.1, 0.2], [0.3, 0.4]]]));
  writeFileSync(p('tensor.json'), JSON.stringify({ shape: [2, 1, 1, 2], data: [1, 2, 3, 4] }));
  writeFileSync(p('bad.json'), '{"nope": 1}');
  writeFileSync(p('broken.json'), '[1, 2');
  writeFileSync(p('x.f32'), Buffer.from(new Float32Array([1, 2]).buffer));
  writeFileSync(p('odd.bin'), Buffer.alloc(6));
  writeFileSync(p('fake.png'), 'not really');
  writeFileSync(p('notes.txt'), 'hello');
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function usage(paths: string[], re: RegExp) {
  await assert.rejects(loadQueryInputs(paths), (e: unknown) => e instanceof CliError && e.exitCode === 2 && re.test(e.message));
}

test('images are detected by content (even misnamed) and sent base64', async () => {
  const b = await loadQueryInputs([p('a.png'), p('misnamed.json')]);
  assert.equal(b.kind, 'images');
  if (b.kind === 'images') {
    assert.equal(b.images.length, 2);
    assert.equal(Buffer.from(b.images[0], 'base64').subarray(1, 4).toString(), 'PNG');
  }
});

test('JSON: each file is a sample; a lone {shape,data} file is sent as a tensor', async () => {
  assert.deepEqual(await loadQueryInputs([p('nested.json'), p('nested.json')]), { kind: 'json', inputs: [[[[0.1, 0.2], [0.3, 0.4]]], [[[0.1, 0.2], [0.3, 0.4]]]] });
  assert.deepEqual(await loadQueryInputs([p('tensor.json')]), { kind: 'json', inputs: { shape: [2, 1, 1, 2], data: [1, 2, 3, 4] } });
  assert.deepEqual(await loadQueryInputs([p('tensor.json'), p('nested.json')]), { kind: 'json', inputs: [[1, 2, 3, 4], [[[0.1, 0.2], [0.3, 0.4]]]] });
});

test('raw float32 files are concatenated', async () => {
  const b = await loadQueryInputs([p('x.f32'), p('x.f32')]);
  assert.equal(b.kind, 'raw');
  if (b.kind === 'raw') assert.deepEqual(Array.from(new Float32Array(new Uint8Array(b.bytes).buffer)), [1, 2, 1, 2]);
});

test('bad inputs are usage errors naming the file', async () => {
  await usage([p('a.png'), p('x.f32')], /must all be images, all JSON or all raw float32 \(got image and raw/);
  await usage([p('bad.json')], /bad\.json: expected a nested array of numbers/);
  await usage([p('broken.json')], /broken\.json is not valid JSON/);
  await usage([p('odd.bin')], /6 bytes is not a whole number of float32 values/);
  await usage([p('fake.png')], /named like an image but is not a PNG or JPEG/);
  await usage([p('notes.txt')], /must be a PNG\/JPEG image, a \.json sample or raw float32/);
});

test('the selection becomes a query string for raw bodies', () => {
  assert.equal(selectionQuery({ task: 'classification', dataset: 'fashion-mnist', minAccuracy: 85, latencyMs: 5, topK: 1 }), 'task=classification&dataset=fashion-mnist&minAccuracy=85&latencyMs=5&topK=1');
});
