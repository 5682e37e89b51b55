// Runs the shared ModelRepository conformance suite against LocalRepository, plus file-tree specifics.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfaasError } from '../../core/errors.ts';
import { runModelRepositoryConformance } from '../conformance.ts';
import { LocalRepository } from './local-repository.ts';

runModelRepositoryConformance('LocalRepository', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'infaas-repo-'));
  return { repo: new LocalRepository(join(dir, 'models')), reopen: async () => new LocalRepository(join(dir, 'models')), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('LocalRepository specifics', () => {
  it('stores objects as plain files under the root, with no temp files left, and refuses file/folder clashes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infaas-repo-'));
    try {
      const repo = new LocalRepository(join(dir, 'rel', '..', 'models'));
      assert.equal(repo.root, join(dir, 'models'));
      await repo.put('a/b.onnx', new Uint8Array([1]));
      await repo.put('a/b.onnx', new Uint8Array([2]));
      assert.equal(await repo.localPath('a/b.onnx'), join(dir, 'models', 'a', 'b.onnx'));
      assert.deepEqual(await readdir(join(dir, 'models', 'a')), ['b.onnx']);
      await writeFile(join(dir, 'models', 'a', 'junk~tmp'), 'x');
      assert.deepEqual(await repo.list(''), ['a/b.onnx']);
      await assert.rejects(repo.put('a/b.onnx/c', new Uint8Array([3])), (e) => e instanceof InfaasError && e.code === 'INVALID_ARGUMENT');
      await assert.rejects(repo.put('a', new Uint8Array([3])), (e) => e instanceof InfaasError && e.code === 'INVALID_ARGUMENT');
      assert.deepEqual([...(await repo.get('a/b.onnx'))], [2]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
