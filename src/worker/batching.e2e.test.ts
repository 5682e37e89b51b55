// Dynamic batching and deadlines in a real worker process (forked through the local provisioner, real ORT
// sessions, framed transport on loopback): concurrent requests merge and get their own rows back, impossible
// deadlines are rejected early while the others succeed, and the worker keeps serving.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { InfaasError } from '../core/errors.ts';
import { LocalProvisioner } from '../provisioner/local/local-provisioner.ts';
import { TcpWorkerClient } from '../transport/worker-connection.ts';
import type { InferReply } from '../protocol/worker-protocol.ts';
import { TestRepo, assertClose, buildTestModel, expectedOutput, sampleInput, testSpec } from './test-fixtures.ts';

const repo = new TestRepo();
const m1 = repo.write('m1.onnx', buildTestModel({ seed: 1 }));
// Slow enough (a few ms per run) that requests sent together arrive while the first one runs.
repo.write('slow.onnx', buildTestModel({ seed: 5, hidden: { width: 256, layers: 24 } }));
const provisioner = new LocalProvisioner({ repository: repo.root, onStderr: () => undefined });
let client: TcpWorkerClient;

before(async () => {
  const h = await provisioner.start({ name: 'cpu-1', threads: 1, memoryMB: 256, pricePerHour: 0 });
  client = await TcpWorkerClient.connect(h.id, h.address, { timeoutMs: 20_000 });
});
after(async () => {
  client?.close();
  await provisioner.shutdown();
  repo.remove();
});

const codeOf = (e: unknown) => (e as InfaasError).code;
const curve = [
  { batch: 1, p50: 1, p95: 2 },
  { batch: 8, p50: 3, p95: 5 },
];

test('concurrent requests to one variant are merged and each gets the rows of a direct run', async () => {
  const slow = testSpec('slow.v', 'slow.onnx', { maxBatch: 8 });
  const inputs = Array.from({ length: 12 }, (_, i) => sampleInput(1 + (i % 3), 4, 200 + i));
  const direct: InferReply[] = [];
  for (const x of inputs) direct.push(await client.infer(slow, { shape: [x.length / 4, 4], data: x }));
  assert.ok(direct.every((r) => r.batch?.requests === 1));
  const merged = await Promise.all(inputs.map((x) => client.infer(slow, { shape: [x.length / 4, 4], data: x })));
  const sizes = merged.map((r) => r.batch!);
  assert.ok(sizes.some((b) => b.requests > 1), `no merged batch: ${JSON.stringify(sizes)}`);
  assert.ok(sizes.every((b) => b.samples <= 8), `a batch over maxBatch: ${JSON.stringify(sizes)}`);
  merged.forEach((r, i) => {
    assert.deepEqual(r.outputs.y.shape, [inputs[i].length / 4, 3]);
    assertClose(r.outputs.y.data, direct[i].outputs.y.data, 1e-4);
  });
  // A request merged with others waited in the queue while the one before it ran.
  assert.ok(merged.some((r) => r.batch!.requests > 1 && r.timing.queueMs > 0));
});

test('an impossible deadline is rejected early with DEADLINE_EXCEEDED while the others succeed', async () => {
  const spec = testSpec('m1.v', 'm1.onnx', { latency: curve });
  const x = sampleInput(1);
  await client.load(spec);
  const calls = [
    client.infer(spec, { shape: [1, 4], data: x }),
    client.infer(spec, { shape: [1, 4], data: x }, { budgetMs: 0.001 }), // needs ~1 ms (profile p50 at batch 1), less once corrected by a run, never 1 µs
    client.infer(spec, { shape: [1, 4], data: x }, { budgetMs: 10_000 }),
    client.infer(spec, { shape: [1, 4], data: x }, { budgetMs: -3 }), // already late when sent
  ];
  const [a, doomed, c, late] = await Promise.allSettled(calls);
  for (const ok of [a, c]) {
    assert.equal(ok.status, 'fulfilled');
    assertClose((ok as PromiseFulfilledResult<InferReply>).value.outputs.y.data, expectedOutput(m1, x));
  }
  assert.equal(doomed.status, 'rejected');
  const e = (doomed as PromiseRejectedResult).reason as InfaasError;
  assert.equal(e.code, 'DEADLINE_EXCEEDED');
  assert.match(e.message, /deadline exceeded: the request needed ~\d+(\.\d+)? ms on m1\.v but (only \d+(\.\d+)? ms of its SLO remained|its SLO had already run out)/);
  assert.equal(e.details?.variant, 'm1.v');
  assert.ok((e.details?.neededMs as number) > 0 && (e.details?.neededMs as number) <= 1, JSON.stringify(e.details));
  assert.equal(late.status === 'rejected' && codeOf(late.reason), 'DEADLINE_EXCEEDED');
  assert.match((late as PromiseRejectedResult).reason.message, /SLO had already run out \d+(\.\d+)? ms before/);
  // The worker keeps serving, with and without deadlines.
  assertClose((await client.infer(spec, { shape: [1, 4], data: x }, { budgetMs: 1000 })).outputs.y.data, expectedOutput(m1, x));
  const st = await client.status();
  assert.equal(st.replicas.find((r) => r.variant === 'm1.v')?.queued, 0);
});

test('a malformed deadline is INVALID_ARGUMENT', async () => {
  const spec = testSpec('m1.v', 'm1.onnx', { latency: curve });
  await assert.rejects(client.infer(spec, { shape: [1, 4], data: sampleInput(1) }, { budgetMs: 'soon' as unknown as number }), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  await assert.rejects(client.infer({ ...spec, latency: [{ batch: 0, p50: 1, p95: 1 }] }, { shape: [1, 4], data: sampleInput(1) }), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});
