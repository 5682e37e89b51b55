// Start-up checks on their own: where worker sockets go (the data dir, or a per-data-dir temporary directory when
// its path is too long for a socket address), the port probe, and the undo list's order and resilience.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkListenable, prepareSocketDir } from './startup-checks.ts';
import { Teardown } from './teardown.ts';

describe('start-up checks', () => {
  const root = mkdtempSync(join(tmpdir(), 'infaas-checks-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('puts worker sockets in <data-dir>/run, emptied of a killed server\'s', () => {
    const dataDir = join(root, 'short');
    mkdirSync(join(dataDir, 'run'), { recursive: true });
    writeFileSync(join(dataDir, 'run', 'w1-123.sock'), '');
    assert.equal(prepareSocketDir(dataDir), join(dataDir, 'run'));
    assert.deepEqual(readdirSync(join(dataDir, 'run')), []);
  });

  it('uses one temporary directory per data dir when the path is too long for a socket address', () => {
    const dataDir = join(root, 'x'.repeat(100));
    const dir = prepareSocketDir(dataDir);
    try {
      assert.equal(dirname(dir), tmpdir());
      assert.match(dir, /infaas-run-[0-9a-f]{16}$/);
      assert.ok(Buffer.byteLength(join(dir, 'w9999-4194304.sock')) <= 107);
      writeFileSync(join(dir, 'w1-1.sock'), '');
      assert.equal(prepareSocketDir(dataDir), dir, 'the same data dir gets the same directory');
      assert.deepEqual(readdirSync(dir), [], 'emptied');
      assert.notEqual(prepareSocketDir(join(root, 'y'.repeat(100))), dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(prepareSocketDir(join(root, 'y'.repeat(100))), { recursive: true, force: true });
    }
  });

  it('probes the port: in use, a host that is not here, free', async () => {
    const taken = await new Promise<Server>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => resolve(s));
    });
    const port = (taken.address() as { port: number }).port;
    try {
      await assert.rejects(checkListenable('127.0.0.1', port), { code: 'UNAVAILABLE', message: new RegExp(`^port ${port} on 127\\.0\\.0\\.1 is already in use`) });
    } finally {
      await new Promise((r) => taken.close(r));
    }
    await checkListenable('127.0.0.1', port); // free again
    await checkListenable('127.0.0.1', 0);
    await assert.rejects(checkListenable('192.0.2.1', port), { code: 'INVALID_ARGUMENT', message: /^cannot listen on 192\.0\.2\.1: it is not an address of this machine/ });
  });

  it('tears down last first, every step even when one fails, once', async () => {
    const done: string[] = [];
    const failures: string[] = [];
    const t = new Teardown((name, e) => failures.push(`${name}: ${(e as Error).message}`));
    t.add('store', () => done.push('store'));
    t.add('workers', async () => {
      throw new Error('stuck');
    });
    t.add('http', async () => done.push('http'));
    await Promise.all([t.run(), t.run()]);
    await t.run();
    assert.deepEqual(done, ['http', 'store']);
    assert.deepEqual(failures, ['workers: stuck']);
    assert.throws(() => t.add('late', () => undefined), /teardown already ran/);
  });
});
