// Tests of local worker processes: real children, real sockets, real ORT sessions.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InfaasError } from '../../core/errors.ts';
import type { WorkerClass } from '../../core/types.ts';
import type { WorkerExit } from '../provisioner.ts';
import { TcpWorkerClient } from '../../transport/worker-connection.ts';
import { TestRepo, alive, assertClose, busy, buildTestModel, expectedOutput, sampleInput, testSpec } from '../../worker/test-fixtures.ts';
import { LocalProvisioner } from './local-provisioner.ts';

const repo = new TestRepo();
const m1 = repo.write('m1.onnx', buildTestModel({ seed: 1 }));
repo.write('slow.onnx', buildTestModel({ seed: 5, hidden: { width: 512, layers: 8 } }));
const cpu1: WorkerClass = { name: 'cpu-1', threads: 1, memoryMB: 256, pricePerHour: 0.048 };
const codeOf = (e: unknown) => (e as InfaasError).code;

const prov = new LocalProvisioner({ repository: repo.root });
const exits: WorkerExit[] = [];
prov.onExit((e) => exits.push(e));
after(async () => {
  await prov.shutdown();
  repo.remove();
});

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a worker process starts, cold-starts a variant, serves warm, and stops gracefully', async () => {
  const h = await prov.start(cpu1);
  assert.equal(h.id, 'w1');
  assert.match(h.address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(h.pid && alive(h.pid));
  const client = await TcpWorkerClient.connect(h.id, h.address, { timeoutMs: 10_000 });
  const spec = testSpec('m1.v', 'm1.onnx');
  const x = sampleInput(2);
  const cold = await client.infer(spec, { shape: [2, 4], data: x });
  assert.equal(cold.coldStart, true);
  assert.ok(cold.timing.loadMs > 0);
  assertClose(cold.outputs.y.data, expectedOutput(m1, x));
  const warm = await client.infer(spec, { shape: [2, 4], data: x });
  assert.equal(warm.coldStart, false);
  // wrong shape: an error reply, and the worker keeps serving
  await assert.rejects(client.infer(spec, { shape: [1, 5], data: new Float32Array(5) }), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  const st = await client.status();
  assert.equal(st.pid, h.pid);
  assert.equal(st.memoryBudgetMB, 256);
  assert.deepEqual(st.replicas.map((r) => r.variant), ['m1.v']);
  assert.deepEqual(prov.list().map((w) => w.id), ['w1']);
  await prov.stop('w1');
  await client.closed;
  assert.equal(alive(h.pid!), false);
  assert.deepEqual(exits.at(-1), { id: 'w1', code: 0, signal: null });
  assert.deepEqual(prov.list(), []);
});

test('SIGKILL mid-request: the pending call rejects with UNAVAILABLE, onExit reports the signal', async () => {
  const h = await prov.start(cpu1);
  const client = await TcpWorkerClient.connect(h.id, h.address, { timeoutMs: 60_000 });
  const spec = testSpec('slow.v', 'slow.onnx', { memoryMB: 20 });
  await client.load(spec);
  const n = 4096;
  const call = client.infer(spec, { shape: [n, 4], data: sampleInput(n) });
  call.catch(() => undefined);
  await waitFor(() => busy(client));
  process.kill(h.pid!, 'SIGKILL');
  await assert.rejects(call, (e) => codeOf(e) === 'UNAVAILABLE' && /worker w2 exited while running slow\.v/.test((e as Error).message));
  await waitFor(() => exits.some((e) => e.id === 'w2'));
  await client.closed;
  assert.deepEqual(exits.find((e) => e.id === 'w2'), { id: 'w2', code: null, signal: 'SIGKILL' });
});

test('over the wire, a small memory budget evicts the least recently used variant', async () => {
  for (const k of ['a', 'b', 'c']) repo.write(`${k}.onnx`, buildTestModel({ seed: k.charCodeAt(0) }));
  const h = await prov.start({ ...cpu1, memoryMB: 25 });
  const client = await TcpWorkerClient.connect(h.id, h.address, { timeoutMs: 10_000 });
  const x = { shape: [1, 4], data: sampleInput(1) };
  await client.infer(testSpec('a.v', 'a.onnx'), x);
  await client.infer(testSpec('b.v', 'b.onnx'), x);
  await client.infer(testSpec('a.v', 'a.onnx'), x);
  assert.equal((await client.infer(testSpec('c.v', 'c.onnx'), x)).coldStart, true);
  const st = await client.status();
  assert.deepEqual(st.replicas.map((r) => r.variant).sort(), ['a.v', 'c.v']);
  assert.equal(st.memoryUsedMB, 20);
  assert.equal((await client.infer(testSpec('a.v', 'a.onnx'), x)).coldStart, false);
  await prov.stop(h.id);
});

test('a worker that cannot start rejects start() with UNAVAILABLE', async () => {
  const bad = new LocalProvisioner({ repository: repo.root, workerEntry: fileURLToPath(new URL('./no-such-entry.ts', import.meta.url)), onStderr: () => undefined });
  await assert.rejects(bad.start(cpu1), (e) => codeOf(e) === 'UNAVAILABLE' && /w1 exited during start \(code 1\).*no-such-entry/.test((e as Error).message));
  await bad.shutdown();
});

test('workers die with their parent: no orphans after the parent is SIGKILLed', async () => {
  const provisionerUrl = new URL('./local-provisioner.ts', import.meta.url).href;
  const script = `
    import { LocalProvisioner } from ${JSON.stringify(provisionerUrl)};
    const p = new LocalProvisioner({ repository: ${JSON.stringify(repo.root)} });
    const c = { name: 'cpu-1', threads: 1, memoryMB: 64, pricePerHour: 0 };
    const hs = await Promise.all([p.start(c), p.start(c)]);
    console.log(JSON.stringify(hs.map((h) => h.pid)));
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.includes('\n'), 30_000);
  const pids = JSON.parse(out) as number[];
  assert.equal(pids.length, 2);
  assert.ok(pids.every(alive));
  parent.kill('SIGKILL');
  await waitFor(() => pids.every((p) => !alive(p)));
});
