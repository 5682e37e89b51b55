// Tests of turning DIR/<class>/*.png into a validation set: class order from labels, indices or sorted names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfaasError } from '../core/errors.ts';
import { decodeValidationSet, encodeValidationSet } from '../core/validation-set.ts';
import { encodePng } from './encode-image.ts';
import { classIndexOf, readImageFolder } from './image-folder.ts';

test('class folders map to indices by label name, by index, or by sorted name', () => {
  assert.deepEqual([...classIndexOf(['bag', '1'], ['Shirt', 'Trouser', 'Bag']).index], [['bag', 2], ['1', 1]]);
  assert.deepEqual([...classIndexOf(['7', '10']).index], [['7', 7], ['10', 10]]);
  const byName = classIndexOf(['dog', 'cat']);
  assert.deepEqual([...byName.index], [['cat', 0], ['dog', 1]]);
  assert.deepEqual(byName.classNames, ['cat', 'dog']);
  assert.throws(() => classIndexOf(['hat'], ['Shirt']), (e: unknown) => e instanceof InfaasError && /class folder "hat"/.test(e.message));
  assert.throws(() => classIndexOf(['5'], ['Shirt']), /neither a label name nor an index below 1/);
});

test('an image folder (with a resize) becomes a valid .valset', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-folder-'));
  try {
    mkdirSync(join(dir, 'cat'));
    mkdirSync(join(dir, 'dog'));
    mkdirSync(join(dir, '.hidden'));
    writeFileSync(join(dir, 'cat', 'a.png'), encodePng(new Float32Array(56 * 56).fill(1), [1, 56, 56]));
    writeFileSync(join(dir, 'dog', 'b.png'), encodePng(new Float32Array(14 * 14).fill(0.2), [1, 14, 14]));
    writeFileSync(join(dir, 'dog', 'readme.txt'), 'ignored');
    const set = await readImageFolder(dir, [1, 28, 28]);
    assert.equal(set.count, 2);
    assert.deepEqual(Array.from(set.labels), [0, 1]);
    assert.deepEqual(set.classNames, ['cat', 'dog']);
    assert.ok(Math.abs(set.inputs[784 + 100] - 0.2) < 0.003);
    const back = decodeValidationSet(encodeValidationSet(set));
    assert.deepEqual(back.shape, [1, 28, 28]);
    writeFileSync(join(dir, 'dog', 'c.png'), 'garbage');
    await assert.rejects(readImageFolder(dir, [1, 28, 28]), (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_IMAGE' && /dog\/c\.png: could not decode/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder without class subfolders is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-folder-'));
  try {
    await assert.rejects(readImageFolder(dir, [1, 28, 28]), /has no class subfolders/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
