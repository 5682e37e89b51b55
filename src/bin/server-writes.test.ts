// Everything `infaas serve` writes stays under its data dir: a real server (child process) with HOME and TMPDIR
// pointing at empty directories registers a model (a profiling child and a worker load it in ONNX Runtime),
// answers a query and stops; HOME is still empty, and TMPDIR holds nothing but tsx's compile cache.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterProcess } from '../testing/cluster.ts';
import type { TestHost } from '../testing/test-hosts.ts';
import { spawn } from 'node:child_process';
import { ZOO_DIR, readZooManifest } from '../zoo/manifest.ts';

const LOCAL: TestHost = { name: 'local', ip: '127.0.0.1', spawn: (c, a, o = {}) => spawn(c, a, o) };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const files = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

describe('what the server writes', () => {
  const root = mkdtempSync(join(tmpdir(), 'infaas-writes-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('writes nothing under HOME, and nothing but tsx\'s cache in the temporary directory', async () => {
    const [home, tmp, dataDir] = ['home', 'tmp', 'data'].map((d) => join(root, d));
    for (const d of [home, tmp, dataDir]) mkdirSync(d);
    writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify({ profiling: { threads: [1], maxBatch: [1], optLevels: ['all'], runs: 2, warmup: 1 }, autoscaling: { policy: 'off' } }));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp, XDG_CACHE_HOME: '', ORT_DISABLE_TELEMETRY: '' };
    const port = await freePort();
    const server = new ClusterProcess('server', LOCAL, ['serve', '--port', String(port), '--data-dir', dataDir], env);
    const url = `http://127.0.0.1:${port}`;
    try {
      await server.printed(/INFaaS serving on/);
      const uc = readZooManifest().useCases.find((u) => u.dataset === 'fashion-mnist')!;
      const arch = uc.architectures.find((a) => a.name === 'fmnist-linear')!;
      const form = new FormData();
      for (const [k, v] of Object.entries({ task: 'classification', dataset: 'fashion-mnist', arch: arch.name })) form.append(k, v);
      form.append('model', new Blob([readFileSync(join(ZOO_DIR, arch.artifacts[0].file))]), 'model.onnx');
      form.append('validation', new Blob([readFileSync(join(ZOO_DIR, uc.validation))]), 'validation.valset');
      const r = await fetch(`${url}/v1/models`, { method: 'POST', body: form });
      let reg = ((await r.json()) as { registration: { id: string; state: string; error?: string } }).registration;
      while (reg.state === 'PROFILING') {
        await new Promise((res) => setTimeout(res, 100));
        reg = ((await (await fetch(`${url}/v1/registrations/${reg.id}`)).json()) as { registration: typeof reg }).registration;
      }
      assert.equal(reg.state, 'SUCCEEDED', reg.error);
      const q = await fetch(`${url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ arch: arch.name, latencyMs: 5000, inputs: [new Array(784).fill(0.5)] }) });
      assert.equal(q.status, 200, await q.text());
    } finally {
      await server.stop();
    }
    assert.equal(server.child.exitCode, 0, server.log);
    assert.deepEqual(files(home), [], 'nothing under HOME (ONNX Runtime keeps no telemetry database there)');
    assert.deepEqual(files(tmp).filter((f) => !/^tsx-\d+(\/|$)/.test(f)), [], 'nothing in TMPDIR but tsx\'s compile cache');
    assert.ok(!files(dataDir).some((f) => f === 'run' || f.endsWith('.sock') || f === 'meta.lock'), `no socket or lock left: ${files(dataDir).join(', ')}`);
  });
});
