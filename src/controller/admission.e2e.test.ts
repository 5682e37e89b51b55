// Admission control end to end: a real server (REST on loopback, a real worker process, real ONNX Runtime) with a
// backlog queued on its one worker: exact-variant requests of 32 samples each, one full run apiece (they carry no
// SLO, so none is refused for one). An architecture query whose SLO cannot be met behind that backlog gets 429
// with Retry-After at once; one whose SLO can be met is served; so is every request of the backlog.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../bin/server.ts';
import { registerZoo } from '../bin/register-zoo.ts';
import { decodeValidationSet } from '../core/validation-set.ts';
import { ZOO_DIR, readZooManifest } from '../zoo/manifest.ts';

const ARCH = 'fmnist-cnn-l';
const VARIANT = `${ARCH}.fp32.t1.b32.all`;
let dataDir: string;
let server: RunningServer;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'infaas-admission-'));
  server = await startServer({
    dataDir, demo: false,
    // Variants of max batch 1 and 32; no autoscaler loading or unloading anything meanwhile.
    config: { port: 0, profiling: { threads: [1], maxBatch: [1, 32], optLevels: ['all'], runs: 5, warmup: 1 }, autoscaling: { policy: 'off', maxWorkers: 1 } },
  });
  await registerZoo(server.api, server.registry, () => undefined, (a) => a === ARCH);
});
after(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const uc = readZooManifest().useCases.find((u) => u.dataset === 'fashion-mnist')!;
const samples = decodeValidationSet(readFileSync(join(ZOO_DIR, uc.validation))).inputs.slice(0, 32 * 784);
const one = Buffer.from(samples.buffer, samples.byteOffset, 784 * 4);
const full = Buffer.from(samples.buffer, samples.byteOffset, 32 * 784 * 4);
const post = (query: string, body = one) => fetch(`${server.url}/v1/infer?${query}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });

test('behind a backlog, a request that cannot meet its SLO gets 429 with Retry-After; one that can is served', async () => {
  assert.equal((await post(`variant=${VARIANT}`, full)).status, 200); // loaded, and its runs measured
  const backlog = Array.from({ length: 60 }, () => post(`variant=${VARIANT}`, full));
  let done = 0;
  for (const b of backlog) void b.then(() => done++, () => done++);
  // Until the worker says 20 of them are queued (its status is polled every second): a full run each ahead.
  for (;;) {
    const { workers } = (await (await fetch(`${server.url}/v1/workers`)).json()) as { workers: Array<{ replicas: Array<{ variant: string; queued: number }> }> };
    if (workers.some((w) => w.replicas.some((r) => r.variant === VARIANT && r.queued >= 20))) break;
    assert.ok(done < backlog.length, 'the backlog drained before the worker reported it');
    await new Promise((r) => setTimeout(r, 20));
  }
  const tight = await post(`arch=${ARCH}&latencyMs=20`);
  const loose = post(`arch=${ARCH}&latencyMs=60000`);
  const refused = (await tight.json()) as { code: string; error: string; details: { retryAfterMs: number; worker: string } };
  assert.equal(tight.status, 429, JSON.stringify(refused));
  assert.equal(refused.code, 'RESOURCE_EXHAUSTED');
  assert.match(refused.error, /^overloaded: /);
  assert.ok(refused.details.retryAfterMs > 0 && refused.details.worker === 'w1', JSON.stringify(refused.details));
  assert.ok(Number(tight.headers.get('retry-after')) >= 1, `Retry-After: ${tight.headers.get('retry-after')}`);
  const served = await loose;
  assert.equal(served.status, 200, await served.clone().text());
  assert.equal(((await served.json()) as { arch: string }).arch, ARCH);
  assert.deepEqual([...new Set((await Promise.all(backlog)).map((r) => r.status))], [200]);
});
