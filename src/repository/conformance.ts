// The one ModelRepository conformance suite: every implementation runs it through a five-line test file.
// It tests only the contract in model-repository.ts, so an S3-compatible backend must pass it unchanged.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InfaasError } from '../core/errors.ts';
import type { ModelRepository } from './model-repository.ts';

/**
 * What a conformance run needs: `open` gives a repository over fresh, empty state; `reopen` (optional) a
 * second instance over the same state; `cleanup` removes the state.
 */
export interface ModelRepositoryHarness {
  repo: ModelRepository;
  reopen?: () => Promise<ModelRepository>;
  cleanup: () => Promise<void>;
}

const BAD_KEYS = ['', '/abs', 'a/../b', '..', '.', 'a/./b', 'a//b', 'a/', 'sp ace', 'é', 'a\\b', 'a:b', 'x*', 'new\nline', '../up'];
const GOOD_KEYS = ['a-b_c.d', '.hidden', 'UPPER/lower/0-9', 'a..b', 'd/e/e/p/n/e/s/t', '...'];

const isCode = (code: string) => (e: unknown) => e instanceof InfaasError && e.code === code;
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const isMismatch = (e: unknown) => isCode('INVALID_MODEL')(e) && /does not match the registered hash/.test((e as Error).message);

export function runModelRepositoryConformance(name: string, open: () => Promise<ModelRepositoryHarness>): void {
  async function withRepo(fn: (h: ModelRepositoryHarness) => Promise<void>): Promise<void> {
    const h = await open();
    try {
      await fn(h);
    } finally {
      await h.cleanup();
    }
  }

  describe(`ModelRepository conformance: ${name}`, () => {
    it('puts, gets, overwrites; empty and large objects round-trip', () => withRepo(async ({ repo }) => {
      await repo.put('m/one.onnx', new Uint8Array([1, 2, 3]));
      const got = await repo.get('m/one.onnx');
      assert.ok(got instanceof Uint8Array);
      assert.deepEqual([...got], [1, 2, 3]);
      await repo.put('m/one.onnx', new Uint8Array([9]));
      assert.deepEqual([...(await repo.get('m/one.onnx'))], [9]);
      await repo.put('m/empty', new Uint8Array(0));
      assert.equal((await repo.get('m/empty')).length, 0);
      const big = new Uint8Array(5 << 20).map((_, i) => (i * 31) & 0xff);
      await repo.put('m/big.bin', big);
      assert.ok(Buffer.from(await repo.get('m/big.bin')).equals(Buffer.from(big)));
    }));

    it('copies bytes in and out', () => withRepo(async ({ repo }) => {
      const data = new Uint8Array([1, 2, 3]);
      await repo.put('c', data);
      data[0] = 42;
      const got = await repo.get('c');
      got[1] = 42;
      assert.deepEqual([...(await repo.get('c'))], [1, 2, 3]);
    }));

    it('get and localPath of a missing key reject with NOT_FOUND; exists and delete report presence', () => withRepo(async ({ repo }) => {
      await assert.rejects(repo.get('nope'), isCode('NOT_FOUND'));
      await assert.rejects(repo.localPath('nope/deeper'), isCode('NOT_FOUND'));
      assert.equal(await repo.exists('x/y'), false);
      assert.equal(await repo.delete('x/y'), false);
      await repo.put('x/y', bytes(3, 7));
      assert.equal(await repo.exists('x/y'), true);
      assert.equal(await repo.exists('x'), false, 'a folder-like prefix is not an object');
      await assert.rejects(repo.get('x'), isCode('NOT_FOUND'));
      assert.equal(await repo.delete('x'), false);
      assert.equal(await repo.delete('x/y'), true);
      assert.equal(await repo.delete('x/y'), false);
      assert.equal(await repo.exists('x/y'), false);
      await assert.rejects(repo.get('x/y'), isCode('NOT_FOUND'));
    }));

    it('rejects malformed keys and prefixes with INVALID_ARGUMENT', () => withRepo(async ({ repo }) => {
      for (const key of BAD_KEYS) {
        const k = JSON.stringify(key);
        await assert.rejects(repo.put(key, bytes(1, 1)), isCode('INVALID_ARGUMENT'), `put ${k}`);
        await assert.rejects(repo.get(key), isCode('INVALID_ARGUMENT'), `get ${k}`);
        await assert.rejects(repo.exists(key), isCode('INVALID_ARGUMENT'), `exists ${k}`);
        await assert.rejects(repo.delete(key), isCode('INVALID_ARGUMENT'), `delete ${k}`);
        await assert.rejects(repo.localPath(key), isCode('INVALID_ARGUMENT'), `localPath ${k}`);
      }
      for (const prefix of ['/abs', '../', 'a/../', 'a//', 'sp ace', 'é/']) await assert.rejects(repo.list(prefix), isCode('INVALID_ARGUMENT'), prefix);
      assert.deepEqual(await repo.list(''), []);
    }));

    it('accepts every well-formed key', () => withRepo(async ({ repo }) => {
      for (const [i, key] of GOOD_KEYS.entries()) await repo.put(key, bytes(2, i));
      for (const [i, key] of GOOD_KEYS.entries()) assert.deepEqual([...(await repo.get(key))], [i, i], key);
      assert.deepEqual(await repo.list(''), [...GOOD_KEYS].sort());
    }));

    it('lists the keys under a prefix, sorted', () => withRepo(async ({ repo }) => {
      const all = ['models/b.onnx', 'models/a.onnx', 'models/sub/c.onnx', 'modelsx/d', 'other/e', 'models-f'];
      for (const k of all) await repo.put(k, bytes(1, 0));
      assert.deepEqual(await repo.list('models/'), ['models/a.onnx', 'models/b.onnx', 'models/sub/c.onnx']);
      assert.deepEqual(await repo.list('models'), ['models-f', 'models/a.onnx', 'models/b.onnx', 'models/sub/c.onnx', 'modelsx/d']);
      assert.deepEqual(await repo.list('models/s'), ['models/sub/c.onnx']);
      assert.deepEqual(await repo.list('models/a.onnx'), ['models/a.onnx']);
      assert.deepEqual(await repo.list(''), [...all].sort());
      assert.deepEqual(await repo.list('nope/'), []);
      await repo.delete('models/sub/c.onnx');
      assert.deepEqual(await repo.list('models/'), ['models/a.onnx', 'models/b.onnx']);
    }));

    it('localPath gives a file holding the object bytes', () => withRepo(async ({ repo }) => {
      await repo.put('zoo/net.onnx', new Uint8Array([5, 6, 7, 8]));
      const path = await repo.localPath('zoo/net.onnx');
      assert.deepEqual([...(await readFile(path))], [5, 6, 7, 8]);
    }));

    it('localPath with an expected sha256 gives a file with exactly those bytes, or rejects with INVALID_MODEL', () => withRepo(async ({ repo }) => {
      const a = new Uint8Array([1, 2, 3, 4]);
      const b = new Uint8Array([4, 3, 2, 1, 0]);
      await repo.put('h/net.onnx', a);
      for (let i = 0; i < 2; i++) assert.deepEqual([...(await readFile(await repo.localPath('h/net.onnx', { sha256: sha256(a) })))], [...a]);
      assert.deepEqual([...(await readFile(await repo.localPath('h/net.onnx', {})))], [...a]);
      await assert.rejects(repo.localPath('h/net.onnx', { sha256: sha256(b) }), isMismatch);
      await repo.put('h/net.onnx', b);
      await assert.rejects(repo.localPath('h/net.onnx', { sha256: sha256(a) }), isMismatch, 'the hash registered before the object was replaced');
      assert.deepEqual([...(await readFile(await repo.localPath('h/net.onnx', { sha256: sha256(b) })))], [...b]);
      await repo.put('h/empty', new Uint8Array(0));
      assert.equal((await readFile(await repo.localPath('h/empty', { sha256: sha256(new Uint8Array(0)) }))).length, 0);
      await assert.rejects(repo.localPath('h/missing', { sha256: sha256(a) }), isCode('NOT_FOUND'));
      for (const bad of ['abc', sha256(a).toUpperCase(), `${sha256(a)}0`, 42]) {
        await assert.rejects(repo.localPath('h/net.onnx', { sha256: bad as string }), isCode('INVALID_ARGUMENT'), String(bad));
      }
    }));

    it('put is atomic: concurrent readers and listers see whole old or new bytes only', () => withRepo(async ({ repo }) => {
      const size = 1 << 20;
      await repo.put('atomic/blob', bytes(size, 0));
      let writing = true;
      const writer = (async () => {
        for (let v = 1; v <= 8; v++) await repo.put('atomic/blob', bytes(size, v));
        writing = false;
      })();
      let reads = 0;
      while (writing || reads === 0) {
        const got = await repo.get('atomic/blob');
        assert.equal(got.length, size);
        assert.ok(got.every((b) => b === got[0]), 'a read saw a mix of two versions');
        assert.deepEqual(await repo.list('atomic/'), ['atomic/blob']);
        reads++;
      }
      await writer;
      assert.equal((await repo.get('atomic/blob'))[0], 8);
    }));

    it('a second instance over the same state sees the objects', (t) => withRepo(async (h) => {
      if (!h.reopen) return void t.skip('no reopen given');
      await h.repo.put('p/q', new Uint8Array([3]));
      const again = await h.reopen();
      assert.deepEqual([...(await again.get('p/q'))], [3]);
      assert.deepEqual(await again.list('p/'), ['p/q']);
    }));
  });
}
