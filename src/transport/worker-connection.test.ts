// Tests of TcpWorkerClient against a real worker server on loopback (in this process, real ORT sessions).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrtNativeBackend } from '../backend/ort-native/ort-backend.ts';
import type { InfaasError } from '../core/errors.ts';
import type { WorkerStatus } from '../core/types.ts';
import { ReplicaManager } from '../worker/replica-manager.ts';
import { TestRepo, assertClose, buildTestModel, expectedOutput, sampleInput, testSpec } from '../worker/test-fixtures.ts';
import { serveWorker, type WorkerService } from './worker-server.ts';
import { TcpWorkerClient } from './worker-connection.ts';
import { parseAddress } from './protocol.ts';

const repo = new TestRepo();
after(() => repo.remove());
const m1 = repo.write('m1.onnx', buildTestModel({ seed: 1 }));
const codeOf = (e: unknown) => (e as InfaasError).code;

function manager() {
  return new ReplicaManager({ id: 'w1', workerClass: 'cpu-1', classThreads: 1, memoryBudgetMB: 100, backend: new OrtNativeBackend(), resolvePath: repo.localPath });
}

for (const kind of ['tcp', 'unix'] as const) {
  test(`infer, load, unload and status over ${kind}`, async () => {
    const rm = manager();
    const listen = kind === 'tcp' ? { host: '127.0.0.1', port: 0 } : { path: join(tmpdir(), `infaas-w-${process.pid}-${Date.now()}.sock`) };
    const server = await serveWorker(rm, listen);
    const client = await TcpWorkerClient.connect('w1', server.address, { timeoutMs: 5000 });
    const spec = testSpec('m1.v', 'm1.onnx');
    const x = sampleInput(3);
    const cold = await client.infer(spec, { shape: [3, 4], data: x });
    assert.equal(cold.coldStart, true);
    assert.ok(cold.timing.loadMs > 0);
    assert.deepEqual(cold.outputs.y.shape, [3, 3]);
    assertClose(cold.outputs.y.data, expectedOutput(m1, x));
    // Many concurrent calls multiplexed on one connection, each answered with its own outputs.
    const inputs = Array.from({ length: 30 }, (_, i) => sampleInput(1 + (i % 4), 4, 100 + i));
    const replies = await Promise.all(inputs.map((d) => client.infer(spec, { shape: [d.length / 4, 4], data: d })));
    replies.forEach((r, i) => {
      assert.equal(r.coldStart, false);
      assertClose(r.outputs.y.data, expectedOutput(m1, inputs[i]));
    });
    const st: WorkerStatus = await client.status();
    assert.equal(st.id, 'w1');
    assert.deepEqual(st.replicas.map((r) => [r.variant, r.state]), [['m1.v', 'active']]);
    await assert.rejects(client.infer(spec, { shape: [2, 4], data: new Float32Array(5) }), (e) => codeOf(e) === 'INVALID_ARGUMENT');
    assert.equal(await client.unload('m1.v'), true);
    assert.equal((await client.status()).replicas.length, 0);
    const reload = await client.load(spec);
    assert.equal(reload.alreadyLoaded, false);
    assert.ok(reload.loadMs > 0);
    assert.deepEqual(await client.load(spec), { loadMs: 0, alreadyLoaded: true });
    client.close();
    await client.closed;
    await assert.rejects(client.status(), (e) => codeOf(e) === 'UNAVAILABLE');
    await server.close();
    await rm.close();
  });
}

/** A service whose calls never finish, to test timeouts and dropped connections. */
const stuck: WorkerService = {
  id: 'w9',
  workerClass: 'x',
  infer: () => new Promise(() => undefined),
  load: () => new Promise(() => undefined),
  unload: async () => true,
  status: () => ({ id: 'w9', workerClass: 'x', address: '', startedAt: 0, updatedAt: 0, memoryBudgetMB: 1, memoryUsedMB: 0, replicas: [] }),
};

test('a call with no answer rejects with DEADLINE_EXCEEDED; the connection keeps working', async () => {
  const server = await serveWorker(stuck, { host: '127.0.0.1', port: 0 });
  const client = await TcpWorkerClient.connect('w9', server.address, { timeoutMs: 100 });
  await assert.rejects(client.infer(testSpec('slow.v', 'x.onnx'), { shape: [1, 4], data: sampleInput(1) }), (e) => codeOf(e) === 'DEADLINE_EXCEEDED' && /slow\.v/.test((e as Error).message));
  assert.equal(client.inFlight, 0);
  assert.equal((await client.status()).id, 'w9');
  client.close();
  await server.close();
});

test('every pending call rejects with UNAVAILABLE when the connection drops', async () => {
  const server = await serveWorker(stuck, { host: '127.0.0.1', port: 0 });
  const client = await TcpWorkerClient.connect('w9', server.address, { timeoutMs: 60_000 });
  const calls = [
    client.infer(testSpec('fmnist-cnn-m.fp32.t1.b8.all', 'x.onnx'), { shape: [1, 4], data: sampleInput(1) }),
    client.load(testSpec('other.v', 'x.onnx')),
  ];
  await new Promise((r) => setTimeout(r, 20));
  await server.close(); // destroys the server side of the connection
  const results = await Promise.allSettled(calls);
  for (const r of results) assert.equal(r.status === 'rejected' && codeOf(r.reason), 'UNAVAILABLE');
  assert.match((results[0] as PromiseRejectedResult).reason.message, /worker w9 exited while running fmnist-cnn-m\.fp32\.t1\.b8\.all/);
  await client.closed;
});

test('connecting to nothing is UNAVAILABLE; bad addresses are INVALID_ARGUMENT', async () => {
  const server = await serveWorker(stuck, { host: '127.0.0.1', port: 0 });
  const addr = server.address;
  await server.close();
  await assert.rejects(TcpWorkerClient.connect('w9', addr, { timeoutMs: 100 }), (e) => codeOf(e) === 'UNAVAILABLE');
  assert.throws(() => parseAddress('http://x'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.deepEqual(parseAddress('tcp://127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
  assert.deepEqual(parseAddress('unix:/tmp/a.sock'), { path: '/tmp/a.sock' });
});
