// Durability against SIGKILL: `infaas serve` in a real child process is killed mid-profiling; on restart every
// acknowledged registration is there, the interrupted profiling job resumes and finishes, and no worker of the
// killed server is left running.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZOO_DIR, readZooManifest } from '../zoo/manifest.ts';
import { startServer } from './server.ts';

const CLI = new URL('../../bin/infaas.mjs', import.meta.url).pathname;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function serve(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', dataDir], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/v1/health`)).ok) return { child, url };
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server did not start');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SIGKILL of the server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'infaas-kill-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const uc = readZooManifest().useCases.find((u) => u.dataset === 'fashion-mnist')!;

  function form(arch: string, file: string): FormData {
    const f = new FormData();
    f.append('task', 'classification');
    f.append('dataset', 'fashion-mnist');
    f.append('arch', arch);
    f.append('model', new Blob([readFileSync(join(ZOO_DIR, file))]), 'm.onnx');
    f.append('validation', new Blob([readFileSync(join(ZOO_DIR, uc.validation))]), 'v.valset');
    return f;
  }

  it('loses no acknowledged registration and resumes interrupted profiling', async () => {
    // A slow profiling grid, so the kill lands while the second registration is still profiling.
    writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify({ profiling: { threads: [1, 2], maxBatch: [1, 8, 32], optLevels: ['basic', 'all'], runs: 30, warmup: 5 } }));
    const first = await serve(dataDir);
    const linear = uc.architectures.find((a) => a.name === 'fmnist-linear')!.artifacts[0].file;
    const cnnL = uc.architectures.find((a) => a.name === 'fmnist-cnn-l')!.artifacts[0].file;
    let reg: any = ((await (await fetch(`${first.url}/v1/models`, { method: 'POST', body: form('fmnist-linear', linear) })).json()) as any).registration;
    while (reg.state === 'PROFILING') {
      await new Promise((r) => setTimeout(r, 100));
      reg = ((await (await fetch(`${first.url}/v1/registrations/${reg.id}`)).json()) as any).registration;
    }
    assert.equal(reg.state, 'SUCCEEDED');
    const pending: any = ((await (await fetch(`${first.url}/v1/models`, { method: 'POST', body: form('fmnist-cnn-l', cnnL) })).json()) as any).registration;
    assert.equal(pending.state, 'PROFILING');
    const workerPids = (((await (await fetch(`${first.url}/v1/workers`)).json()) as any).workers as any[]).map((w) => w.pid as number);

    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    for (let i = 0; i < 50 && workerPids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(workerPids.filter(alive), [], 'workers of the killed server exit');

    const second = await serve(dataDir);
    try {
      const archs: any = await (await fetch(`${second.url}/v1/usecases/classification/fashion-mnist/architectures`)).json();
      assert.ok(archs.architectures.some((a: any) => a.name === 'fmnist-linear'));
      let resumed: any = ((await (await fetch(`${second.url}/v1/registrations/${pending.id}`)).json()) as any).registration;
      for (let i = 0; i < 600 && resumed.state === 'PROFILING'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        resumed = ((await (await fetch(`${second.url}/v1/registrations/${pending.id}`)).json()) as any).registration;
      }
      assert.equal(resumed.state, 'SUCCEEDED', resumed.error);
      const q = await fetch(`${second.url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ arch: 'fmnist-cnn-l', latencyMs: 1000, inputs: [new Array(784).fill(0)] }) });
      assert.equal(q.status, 200);
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  });

  it('a graceful stop during profiling leaves the registration to resume, not FAILED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infaas-stop-'));
    try {
      const slow = { threads: [1, 2], maxBatch: [1, 8, 32], optLevels: ['basic' as const, 'all' as const], runs: 30, warmup: 5 };
      const fast = { threads: [1], maxBatch: [1], optLevels: ['all' as const], runs: 3, warmup: 1 };
      const first = await startServer({ dataDir: dir, demo: false, config: { port: 0, profiling: slow } });
      const cnnL = uc.architectures.find((a) => a.name === 'fmnist-cnn-l')!.artifacts[0].file;
      const reg: any = ((await (await fetch(`${first.url}/v1/models`, { method: 'POST', body: form('fmnist-cnn-l', cnnL) })).json()) as any).registration;
      await first.close();
      const second = await startServer({ dataDir: dir, demo: false, config: { port: 0, profiling: fast } });
      try {
        const seen = await second.registry.get(reg.id);
        // Still PROFILING: the stop interrupted the slow job instead of waiting for it, and did not fail it.
        assert.equal(seen.state, 'PROFILING', seen.error);
        await second.registry.idle();
        assert.equal((await second.registry.get(reg.id)).state, 'SUCCEEDED');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
