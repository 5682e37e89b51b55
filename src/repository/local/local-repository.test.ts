// Runs the shared ModelRepository conformance suite against LocalRepository, plus file-tree specifics.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
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

  it('hashes a verified file once, and notices an edit in place even when size and mtime are kept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infaas-repo-'));
    try {
      const repo = new LocalRepository(dir);
      const data = new Uint8Array([1, 2, 3, 4, 5]);
      const sha256 = createHash('sha256').update(data).digest('hex');
      await repo.put('m.onnx', data);
      for (let i = 0; i < 3; i++) assert.equal(await repo.localPath('m.onnx', { sha256 }), join(dir, 'm.onnx'));
      assert.equal(repo.filesHashed, 1);

      const { mtime, atime } = await stat(join(dir, 'm.onnx'));
      const fh = await open(join(dir, 'm.onnx'), 'r+');
      await fh.write(new Uint8Array([9]), 0, 1, 2);
      await fh.close();
      await utimes(join(dir, 'm.onnx'), atime, mtime);
      await assert.rejects(repo.localPath('m.onnx', { sha256 }), (e) => e instanceof InfaasError && e.code === 'INVALID_MODEL' && /changed or damaged/.test(e.message));
      assert.equal(repo.filesHashed, 2);

      await repo.put('m.onnx', data);
      assert.equal(await repo.localPath('m.onnx', { sha256 }), join(dir, 'm.onnx'));
      assert.equal(await repo.localPath('m.onnx', { sha256 }), join(dir, 'm.onnx'));
      assert.equal(repo.filesHashed, 3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names objects by key in every error, never by the server path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infaas-repo-'));
    try {
      const repo = new LocalRepository(join(dir, 'models'));
      await repo.put('m/fp32.onnx', new Uint8Array([1, 2]));
      await symlink('loop.onnx', join(dir, 'models', 'm', 'loop.onnx')); // ELOOP on every open
      const failures = await Promise.all([
        repo.localPath('m/fp32.onnx', { sha256: '0'.repeat(64) }).catch((e) => e),
        repo.get('m/loop.onnx').catch((e) => e),
        repo.localPath('m/loop.onnx').catch((e) => e),
        repo.localPath('m/loop.onnx', { sha256: '0'.repeat(64) }).catch((e) => e),
      ]);
      for (const e of failures) {
        assert.ok(e instanceof InfaasError, String(e));
        assert.ok(!e.message.includes(dir) && !JSON.stringify(e.details ?? {}).includes(dir), e.message);
        assert.match(e.message, /'m\/(fp32|loop)\.onnx'/);
      }
      assert.match(failures[0].message, /does not match the registered hash .*changed or damaged/);
      assert.match(failures[1].message, /^model repository: cannot read 'm\/loop\.onnx' \(ELOOP\)$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
