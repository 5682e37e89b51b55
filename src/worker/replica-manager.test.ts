// Tests of the replica manager in-process against real ONNX Runtime sessions.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { OrtNativeBackend } from '../backend/ort-native/ort-backend.ts';
import type { Backend, LoadedModel, LoadOptions } from '../backend/backend.ts';
import type { InfaasError } from '../core/errors.ts';
import { ReplicaManager } from './replica-manager.ts';
import { TestRepo, assertClose, buildTestModel, expectedOutput, sampleInput, testSpec } from './test-fixtures.ts';

const repo = new TestRepo();
after(() => repo.remove());
const m1 = repo.write('a/m1.onnx', buildTestModel({ seed: 1 }));
repo.write('a/m2.onnx', buildTestModel({ seed: 2 }));
repo.write('a/m3.onnx', buildTestModel({ seed: 3 }));
repo.write('a/dyn.onnx', buildTestModel({ seed: 4, symbolicFeatures: true }));
repo.write('a/bad.onnx', { bytes: new Uint8Array([1, 2, 3, 4]), weights: new Float32Array(), features: 4, classes: 3 });

/** A backend that counts loads and records whether two runs ever overlapped on one session. */
class CountingBackend implements Backend {
  readonly kind = 'counting';
  loads = 0;
  overlapped = false;
  readonly #inner = new OrtNativeBackend();
  async load(opts: LoadOptions): Promise<LoadedModel> {
    this.loads++;
    const m = await this.#inner.load(opts);
    let running = 0;
    return {
      inputName: m.inputName,
      outputNames: m.outputNames,
      inputShape: m.inputShape,
      infer: async (t) => {
        if (++running > 1) this.overlapped = true;
        try {
          return await m.infer(t);
        } finally {
          running--;
        }
      },
      unload: () => m.unload(),
    };
  }
}

function manager(budgetMB = 100, backend: Backend = new OrtNativeBackend()) {
  return new ReplicaManager({ id: 'w1', workerClass: 'cpu-1', classThreads: 1, memoryBudgetMB: budgetMB, backend, resolvePath: repo.localPath });
}

const codeOf = (e: unknown) => (e as InfaasError).code;

test('cold start then warm, with correct outputs and timings', async () => {
  const rm = manager();
  const x = sampleInput(2);
  const spec = testSpec('m1.v', 'a/m1.onnx');
  const first = await rm.infer(spec, { shape: [2, 4], data: x });
  assert.equal(first.coldStart, true);
  assert.ok(first.timing.loadMs > 0);
  assert.deepEqual(first.outputs.y.shape, [2, 3]);
  assertClose(first.outputs.y.data, expectedOutput(m1, x));
  const second = await rm.infer(spec, { shape: [2, 4], data: x });
  assert.equal(second.coldStart, false);
  assert.equal(second.timing.loadMs, 0);
  assert.ok(second.timing.inferenceMs > 0);
  const st = rm.status();
  assert.equal(st.replicas.length, 1);
  assert.equal(st.replicas[0].state, 'active');
  assert.equal(st.replicas[0].queued, 0);
  assert.equal(st.memoryUsedMB, 10);
  await rm.close();
});

test('concurrent cold starts share one load and runs never overlap on a session', async () => {
  const backend = new CountingBackend();
  const rm = manager(100, backend);
  const spec = testSpec('m1.v', 'a/m1.onnx');
  const x = sampleInput(1);
  const replies = await Promise.all(Array.from({ length: 12 }, () => rm.infer(spec, { shape: [1, 4], data: x })));
  assert.equal(backend.loads, 1);
  assert.equal(backend.overlapped, false);
  assert.ok(replies.every((r) => r.coldStart));
  assert.ok(replies.some((r) => r.timing.queueMs > 0));
  for (const r of replies) assertClose(r.outputs.y.data, expectedOutput(m1, x));
  await rm.close();
});

test('least recently used idle replica is evicted when the budget would be exceeded', async () => {
  const rm = manager(25);
  const x = { shape: [1, 4], data: sampleInput(1) };
  await rm.infer(testSpec('m1.v', 'a/m1.onnx'), x);
  await rm.infer(testSpec('m2.v', 'a/m2.onnx'), x);
  await rm.infer(testSpec('m1.v', 'a/m1.onnx'), x); // m2 is now the least recently used
  const r3 = await rm.infer(testSpec('m3.v', 'a/m3.onnx'), x);
  assert.equal(r3.coldStart, true);
  assert.deepEqual(rm.status().replicas.map((r) => r.variant).sort(), ['m1.v', 'm3.v']);
  assert.equal(rm.status().memoryUsedMB, 20);
  assert.equal((await rm.infer(testSpec('m2.v', 'a/m2.onnx'), x)).coldStart, true);
  await assert.rejects(rm.infer(testSpec('huge', 'a/m1.onnx', { memoryMB: 30 }), x), (e) => codeOf(e) === 'UNAVAILABLE');
  await rm.close();
});

test('bad input is INVALID_ARGUMENT and the replica keeps serving', async () => {
  const rm = manager();
  const spec = testSpec('m1.v', 'a/m1.onnx');
  await assert.rejects(rm.infer(spec, { shape: [2, 4], data: new Float32Array(7) }), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  await assert.rejects(rm.infer(spec, { shape: [1, 5], data: new Float32Array(5) }), (e) => codeOf(e) === 'INVALID_ARGUMENT' && /\[1,5\]/.test((e as Error).message));
  // A symbolic feature dim lets the wrong width through to ORT; its error comes back as INVALID_ARGUMENT.
  const dyn = testSpec('dyn.v', 'a/dyn.onnx');
  await assert.rejects(rm.infer(dyn, { shape: [1, 5], data: new Float32Array(5) }), (e) => codeOf(e) === 'INVALID_ARGUMENT' && /dyn\.v/.test((e as Error).message));
  const ok = await rm.infer(dyn, { shape: [1, 4], data: sampleInput(1) });
  assert.equal(ok.outputs.y.data.length, 3);
  await assert.rejects(rm.infer({ ...spec, threads: 0 }, { shape: [1, 4], data: sampleInput(1) }), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  await rm.close();
});

test('load errors: corrupt model is INVALID_MODEL and is not kept', async () => {
  const rm = manager();
  await assert.rejects(rm.load(testSpec('bad.v', 'a/bad.onnx')), (e) => codeOf(e) === 'INVALID_MODEL');
  assert.equal(rm.status().replicas.length, 0);
  assert.equal(rm.status().memoryUsedMB, 0);
  await rm.close();
});

test('explicit load and unload', async () => {
  const rm = manager();
  const spec = testSpec('m1.v', 'a/m1.onnx');
  const l1 = await rm.load(spec);
  assert.equal(l1.alreadyLoaded, false);
  assert.ok(l1.loadMs > 0);
  assert.deepEqual(await rm.load(spec), { loadMs: 0, alreadyLoaded: true });
  assert.equal((await rm.infer(spec, { shape: [1, 4], data: sampleInput(1) })).coldStart, false);
  assert.equal(await rm.unload('m1.v'), true);
  assert.equal(await rm.unload('m1.v'), false);
  assert.equal(rm.status().replicas.length, 0);
  assert.equal((await rm.infer(spec, { shape: [1, 4], data: sampleInput(1) })).coldStart, true);
  await rm.close();
  await assert.rejects(rm.infer(spec, { shape: [1, 4], data: sampleInput(1) }), (e) => codeOf(e) === 'UNAVAILABLE');
});

test('a missing artifact is NOT_FOUND', async () => {
  const rm = manager();
  await assert.rejects(rm.infer(testSpec('gone.v', 'a/none.onnx'), { shape: [1, 4], data: sampleInput(1) }), (e) => codeOf(e) === 'NOT_FOUND');
  assert.equal(rm.status().replicas.length, 0);
  await rm.close();
});

/** Waits until `pred` holds of the status (polling), or fails after `ms`. */
async function until(rm: ReplicaManager, pred: (s: ReturnType<ReplicaManager['status']>) => boolean, ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    const s = rm.status();
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`condition not met; last status ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('the monitor reports each variant\'s rates, batch and latencies per window', async () => {
  const rm = new ReplicaManager({ id: 'w1', workerClass: 'cpu-1', classThreads: 1, memoryBudgetMB: 100, backend: new OrtNativeBackend(), resolvePath: repo.localPath, monitorIntervalMs: 40 });
  const spec = testSpec('m1.v', 'a/m1.onnx', { latency: [{ batch: 1, p50: 0.5, p95: 1 }, { batch: 8, p50: 1, p95: 2 }] });
  await rm.load(spec);
  const x = { shape: [2, 4], data: sampleInput(2) };
  const replies = await Promise.all(Array.from({ length: 10 }, () => rm.infer(spec, x)));
  assert.ok(replies.some((r) => r.batch!.requests > 1), 'concurrent requests were merged');
  const s = await until(rm, (st) => (st.replicas[0].stats?.runs ?? 0) > 0);
  const stats = s.replicas[0].stats!;
  assert.ok(stats.arrivalRps > 0 && Math.abs(stats.arrivalQps - 2 * stats.arrivalRps) < 1e-6, JSON.stringify(stats));
  assert.ok(stats.completedQps > 0 && stats.e2eP95Ms >= stats.e2eP50Ms && stats.p95Ms >= stats.p50Ms && stats.p50Ms > 0);
  assert.ok(stats.avgBatch >= 2 && stats.avgBatch <= 8 && stats.runs >= 1);
  // the queue is a gauge taken when the window closes: whatever was queued then, and nothing once all is answered
  assert.ok(stats.queueLength >= 0 && stats.queueLength <= 20, JSON.stringify(stats));
  assert.ok(stats.profileP50Ms >= 0.5 && stats.profileP95Ms >= 1);
  assert.equal(s.replicas[0].state, 'active');
  await until(rm, (st) => st.replicas[0].stats?.queueLength === 0);
  await rm.close();
});

test('a variant whose queue exceeds its profiled capacity is overloaded, and clears once drained', async () => {
  /** Every run takes 60 ms more than ORT needs. */
  class SlowBackend implements Backend {
    readonly kind = 'slow';
    readonly #inner = new OrtNativeBackend();
    async load(opts: LoadOptions): Promise<LoadedModel> {
      const m = await this.#inner.load(opts);
      return { ...m, inputName: m.inputName, outputNames: m.outputNames, inputShape: m.inputShape, infer: async (t) => (await new Promise((r) => setTimeout(r, 60)), m.infer(t)), unload: () => m.unload() };
    }
  }
  const rm = new ReplicaManager({ id: 'w1', workerClass: 'cpu-1', classThreads: 1, memoryBudgetMB: 100, backend: new SlowBackend(), resolvePath: repo.localPath, monitorIntervalMs: 20 });
  // The profile says one sample per second: six queued samples are far above INFaaS's 1.1 x capacity bound.
  const spec = testSpec('m1.v', 'a/m1.onnx', { maxBatch: 1, latency: [{ batch: 1, p50: 1000, p95: 1000 }] });
  await rm.load(spec);
  const x = { shape: [1, 4], data: sampleInput(1) };
  const all = Promise.all(Array.from({ length: 6 }, () => rm.infer(spec, x)));
  await until(rm, (st) => st.replicas[0].state === 'overloaded');
  await all;
  await until(rm, (st) => st.replicas[0].state === 'active' && st.replicas[0].stats?.queueLength === 0);
  await rm.close();
});

test('a request that waited for a cold start runs even past its budget; warm ones are held to it', async () => {
  const rm = manager();
  const spec = testSpec('m1.v', 'a/m1.onnx', { latency: [{ batch: 1, p50: 1, p95: 2 }] });
  const x = { shape: [1, 4], data: sampleInput(1) };
  const cold = await rm.infer(spec, x, { budgetMs: 0.01 });
  assert.equal(cold.coldStart, true);
  assertClose(cold.outputs.y.data, expectedOutput(m1, x.data));
  await assert.rejects(rm.infer(spec, x, { budgetMs: 0.01 }), (e) => codeOf(e) === 'DEADLINE_EXCEEDED');
  assert.equal((await rm.infer(spec, x, { budgetMs: 500 })).coldStart, false);
  await rm.close();
});
