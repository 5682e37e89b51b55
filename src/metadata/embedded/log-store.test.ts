// EmbeddedStore: the shared conformance suite, plus crash recovery (a real SIGKILL), torn tails,
// compaction, group commit and the data-dir lock.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfaasError } from '../../core/errors.ts';
import { runMetadataStoreConformance } from '../conformance.ts';
import { EmbeddedStore } from './log-store.ts';

const tempDir = () => mkdtemp(join(tmpdir(), 'infaas-meta-'));

runMetadataStoreConformance('EmbeddedStore', async () => {
  const dir = await tempDir();
  return { store: await EmbeddedStore.open(dir), reopen: () => EmbeddedStore.open(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const inUseBy = (pid: number) => (e: unknown) =>
  e instanceof InfaasError && e.code === 'UNAVAILABLE' && e.message.includes(`is in use by pid ${pid}`);

describe('EmbeddedStore crash recovery', () => {
  const fixture = fileURLToPath(new URL('./sigkill-writer.fixture.ts', import.meta.url));
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const valueFor = (i: number) => ({ i, pad: 'p'.repeat((i * 37) % 3000) });

  /** Runs the writer child until it has acknowledged `killAfter` writes, SIGKILLs it, returns its lines. */
  async function runAndKill(dir: string, first: number, killAfter: number, onOpened?: (pid: number) => Promise<void>) {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, String(first), '8'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let partial = '';
    let written = 0;
    let checking: Promise<void> | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        if (l === 'opened' && onOpened) checking = onOpened(child.pid!);
        if (l.startsWith('written ') && ++written === killAfter) {
          const kill = () => void child.kill('SIGKILL');
          if (checking) checking.then(kill, kill);
          else kill();
        }
      }
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.on('close', (c, s) => res([c, s])));
    await checking;
    assert.equal(signal, 'SIGKILL', `child exited with code ${code} before it was killed`);
    return lines;
  }

  it('keeps every acknowledged write after SIGKILL at arbitrary points', async () => {
    await withDir(async (dir) => {
      const acked = new Map<number, 'present' | 'either' | 'absent'>();
      let compacted = false;
      for (const [round, killAfter] of [150, 400, 60].entries()) {
        const lines = await runAndKill(dir, round * 1_000_000, killAfter, round === 0
          ? async (pid) => assert.rejects(EmbeddedStore.open(dir), inUseBy(pid))
          : undefined);
        for (const l of lines) {
          const [word, n] = l.split(' ');
          if (word === 'written') acked.set(Number(n), 'present');
          else if (word === 'deleting') acked.set(Number(n), 'either');
          else if (word === 'deleted') acked.set(Number(n), 'absent');
          else if (word === 'compacted') compacted = true;
        }
        const store = await EmbeddedStore.open(dir);
        try {
          for (const [i, state] of acked) {
            const got = await store.get(`k/${i}`);
            if (state === 'present') assert.deepEqual(got, valueFor(i), `round ${round}: acknowledged k/${i} lost`);
            else if (state === 'absent') assert.equal(got, undefined, `round ${round}: acknowledged delete of k/${i} lost`);
            else if (got !== undefined) assert.deepEqual(got, valueFor(i));
          }
          for (const { key, value } of await store.list<{ i: number }>('k/')) assert.deepEqual(value, valueFor(Number(key.slice(2))));
        } finally {
          await store.close();
        }
      }
      assert.ok(acked.size >= 610, `only ${acked.size} acknowledged writes`);
      assert.ok(compacted, 'the writer never compacted while being killed');
    });
  });

  it('cuts off a torn tail of garbage and keeps appending after it', async () => {
    await withDir(async (dir) => {
      let store = await EmbeddedStore.open(dir);
      for (let i = 0; i < 20; i++) await store.set(`t/${i}`, { i });
      await store.close();
      const log = join(dir, 'meta.log');
      const goodSize = (await stat(log)).size;
      const garbage = Buffer.concat([Buffer.from('0badc0de\t"t/99"\t{"i":9'), Buffer.from([0, 0, 0x0a, 0xff, 0xfe, 0x0a, 0x41])]);
      await appendFile(log, garbage);
      store = await EmbeddedStore.open(dir);
      assert.equal(store.stats().truncatedBytes, garbage.length);
      assert.equal((await stat(log)).size, goodSize);
      assert.equal((await store.list('t/')).length, 20);
      await store.set('t/after', 'x');
      await store.close();
      store = await EmbeddedStore.open(dir);
      assert.equal(store.stats().truncatedBytes, 0);
      assert.equal(await store.get('t/after'), 'x');
      assert.equal((await store.list('t/')).length, 21);
      await store.close();
    });
  });

  it('stops at a hole in the log and saves the unacknowledged records after it', async () => {
    await withDir(async (dir) => {
      let store = await EmbeddedStore.open(dir);
      await store.set('h/1', 1);
      await store.close();
      const log = join(dir, 'meta.log');
      const before = await readFile(log);
      store = await EmbeddedStore.open(dir);
      await store.set('h/2', 2);
      await store.close();
      const after = await readFile(log);
      await writeFile(log, Buffer.concat([before, Buffer.alloc(100), Buffer.from('\n'), after.subarray(before.length)]));
      store = await EmbeddedStore.open(dir);
      assert.deepEqual(store.stats().discardedRecords, 1);
      assert.deepEqual(await store.list('h/'), [{ key: 'h/1', value: 1 }]);
      await store.close();
      assert.ok((await readdir(dir)).some((f) => f.startsWith('meta.log.discarded-')));
    });
  });
});

describe('EmbeddedStore compaction and group commit', () => {
  it('compacts while running and keeps the data', async () => {
    await withDir(async (dir) => {
      let store = await EmbeddedStore.open(dir, { compactMinBytes: 4096, compactRatio: 2 });
      for (let i = 0; i < 300; i++) await store.set(`c/${i % 5}`, { i, pad: 'x'.repeat(50) });
      await store.set('c/keep', 'kept');
      const s = store.stats();
      assert.ok(s.compactions >= 1, `no compaction: ${JSON.stringify(s)}`);
      assert.ok(s.logBytes <= 4096 * 2, `log still ${s.logBytes} bytes`);
      await store.close();
      assert.equal((await stat(join(dir, 'meta.log'))).size, s.logBytes);
      store = await EmbeddedStore.open(dir);
      assert.deepEqual((await store.list('c/')).map((e) => e.value), [{ i: 295, pad: 'x'.repeat(50) }, { i: 296, pad: 'x'.repeat(50) },
        { i: 297, pad: 'x'.repeat(50) }, { i: 298, pad: 'x'.repeat(50) }, { i: 299, pad: 'x'.repeat(50) }, 'kept']);
      await store.close();
    });
  });

  it('compacts at open when the log is several times the live data', async () => {
    await withDir(async (dir) => {
      let store = await EmbeddedStore.open(dir);
      await Promise.all(Array.from({ length: 400 }, (_, i) => store.set(`o/${i % 4}`, i)));
      await store.delete('o/0');
      const grown = store.stats().logBytes;
      await store.close();
      store = await EmbeddedStore.open(dir, { compactMinBytes: 1000 });
      assert.equal(store.stats().compactions, 1);
      assert.ok(store.stats().logBytes < grown / 10);
      assert.deepEqual(await store.list('o/'), [{ key: 'o/1', value: 397 }, { key: 'o/2', value: 398 }, { key: 'o/3', value: 399 }]);
      await store.close();
    });
  });

  it('writes concurrent mutations of one tick with a single fsync', async () => {
    await withDir(async (dir) => {
      const store = await EmbeddedStore.open(dir);
      const before = store.stats().fsyncs;
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.set(`g/${i}`, i)));
      assert.equal(store.stats().fsyncs - before, 1);
      await store.close();
    });
  });
});

describe('EmbeddedStore expiring keys', () => {
  it('keeps expiring keys out of the log: after a restart they are absent, even over an older permanent value', async () => {
    await withDir(async (dir) => {
      let store = await EmbeddedStore.open(dir, { compactMinBytes: 1, compactRatio: 1 });
      await store.set('lease/a', 'permanent');
      await store.set('lease/a', { holder: 'c1' }, { ttlMs: 60_000 });
      await store.set('lease/b', { holder: 'c2' }, { ttlMs: 60_000 });
      await store.set('kept', 1);
      for (let i = 0; i < 50; i++) await store.set('churn', i); // compacts while the expiring keys are held
      assert.ok(store.stats().compactions >= 1);
      assert.deepEqual((await store.list('lease/')).map((e) => e.key), ['lease/a', 'lease/b']);
      await store.close();
      store = await EmbeddedStore.open(dir);
      assert.deepEqual(await store.list(''), [{ key: 'churn', value: 49 }, { key: 'kept', value: 1 }]);
      await store.close();
    });
  });
});

describe('EmbeddedStore data-dir lock', () => {
  it('refuses a second open of the same dir, in this process too, until closed', async () => {
    await withDir(async (dir) => {
      const store = await EmbeddedStore.open(dir);
      await assert.rejects(EmbeddedStore.open(dir), inUseBy(process.pid));
      const both = await Promise.allSettled([EmbeddedStore.open(join(dir, 'sub')), EmbeddedStore.open(join(dir, 'sub'))]);
      assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      for (const r of both) if (r.status === 'fulfilled') await r.value.close();
      await store.close();
      const again = await EmbeddedStore.open(dir);
      await again.close();
    });
  });

  it('takes over a stale lock (dead pid, its own recycled pid, or garbage)', async () => {
    await withDir(async (dir) => {
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      for (const content of [`${dead}\n`, `${process.pid}\n`, 'not a pid']) {
        await writeFile(join(dir, 'meta.lock'), content);
        const store = await EmbeddedStore.open(dir);
        assert.equal((await readFile(join(dir, 'meta.lock'), 'utf8')).trim(), String(process.pid));
        await store.close();
        await assert.rejects(stat(join(dir, 'meta.lock')), { code: 'ENOENT' });
      }
    });
  });
});
