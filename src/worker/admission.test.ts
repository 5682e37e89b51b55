// Worker-side admission control against real ONNX Runtime sessions (each run held 60 ms longer, so queues are
// deterministic): a request the work queued ahead of it would make late is refused at once with RESOURCE_EXHAUSTED
// and when to retry, while the ones that fit run; work queued on another replica of the worker counts; the queue
// is bounded; the status shows what the worker measured against the profile.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { OrtNativeBackend } from '../backend/ort-native/ort-backend.ts';
import type { Backend, LoadedModel, LoadOptions } from '../backend/backend.ts';
import type { InfaasError } from '../core/errors.ts';
import type { InferReply } from '../protocol/worker-protocol.ts';
import { ReplicaManager, type ReplicaManagerOptions } from './replica-manager.ts';
import { TestRepo, assertClose, buildTestModel, expectedOutput, sampleInput, testSpec } from './test-fixtures.ts';

const repo = new TestRepo();
after(() => repo.remove());
const m1 = repo.write('a/m1.onnx', buildTestModel({ seed: 1 }));
repo.write('a/m2.onnx', buildTestModel({ seed: 2 }));

/** Real ORT sessions whose every run is held `ms` longer. */
class DelayedBackend implements Backend {
  readonly kind = 'delayed';
  readonly #inner = new OrtNativeBackend();
  constructor(readonly ms: number) {}
  async load(opts: LoadOptions): Promise<LoadedModel> {
    const m = await this.#inner.load(opts);
    return { inputName: m.inputName, outputNames: m.outputNames, inputShape: m.inputShape, infer: async (t) => (await new Promise((r) => setTimeout(r, this.ms)), m.infer(t)), unload: () => m.unload() };
  }
}

function manager(over: Partial<ReplicaManagerOptions> = {}): ReplicaManager {
  return new ReplicaManager({ id: 'w1', workerClass: 'cpu-1', classThreads: 1, memoryBudgetMB: 100, backend: new DelayedBackend(60), resolvePath: repo.localPath, ...over });
}

// The profile: 50 ms per request (p95 60 ms), one at a time.
const slow = (name: string, key: string) => testSpec(name, key, { maxBatch: 1, latency: [{ batch: 1, p50: 50, p95: 60 }], loadMs: 5 });
const x = { shape: [1, 4], data: sampleInput(1) };
const err = (r: PromiseSettledResult<unknown>) => (r as PromiseRejectedResult).reason as InfaasError;

test('a request the queue ahead would make late is refused at once with when to retry; the ones that fit run', async () => {
  const rm = manager();
  const spec = slow('m1.v', 'a/m1.onnx');
  await rm.load(spec);
  // Sent together with 200 ms each: the 1st runs at once, the 2nd and 3rd wait 50 and 100 ms (+ 60 ms p95 of
  // their own run: within 200), the 4th would wait 150 ms and finish after 210: refused, as is the 5th.
  const settled = await Promise.allSettled(Array.from({ length: 5 }, () => rm.infer(spec, x, { budgetMs: 200 })));
  assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
  for (const s of settled.slice(0, 3)) assertClose((s as PromiseFulfilledResult<InferReply>).value.outputs.y.data, expectedOutput(m1, x.data));
  for (const s of settled.slice(3)) {
    const e = err(s);
    assert.equal(e.code, 'RESOURCE_EXHAUSTED');
    assert.match(e.message, /^overloaded: m1\.v would answer in ~\d+(\.\d+)? ms \(\d+(\.\d+)? ms of work queued ahead on this worker\), past the \d+(\.\d+)? ms left of its SLO; retry in ~\d+(\.\d+)? ms$/);
    assert.ok((e.details?.retryAfterMs as number) >= 1 && (e.details?.retryAfterMs as number) <= 200, JSON.stringify(e.details));
    assert.ok((e.details?.predictedMs as number) > 200);
  }
  // Once the queue drained, a request is admitted again (with room for runs slowed by a busy machine); requests
  // without an SLO are never refused for it.
  assert.equal((await rm.infer(spec, x, { budgetMs: 2000 })).coldStart, false);
  const noSlo = await Promise.allSettled(Array.from({ length: 5 }, () => rm.infer(spec, x)));
  assert.ok(noSlo.every((s) => s.status === 'fulfilled'));
  // The monitor counts the refusals; the status shows the runs measured against the profile.
  const st = rm.status().replicas[0];
  assert.ok(st.estimate && st.estimate.runs[0].maxBatch === 1 && st.estimate.runs[0].observed >= 9 && st.estimate.runs[0].factor > 0, JSON.stringify(st.estimate));
  assert.ok(st.estimate.firstLoadFactor! > 0, JSON.stringify(st.estimate));
  await rm.close();
});

test("work queued on another replica of the worker counts: the worker runs one batch at a time", async () => {
  const rm = manager();
  const a = slow('m1.v', 'a/m1.onnx');
  const b = slow('m2.v', 'a/m2.onnx');
  await Promise.all([rm.load(a), rm.load(b)]);
  // Three requests on b: about 150 ms of work. A request on a with 100 ms left cannot finish behind them.
  const onB = Array.from({ length: 3 }, () => rm.infer(b, x));
  const refused = await rm.infer(a, x, { budgetMs: 100 }).then(() => undefined, (e: InfaasError) => e);
  assert.equal(refused?.code, 'RESOURCE_EXHAUSTED', String(refused));
  assert.equal(refused?.details?.variant, 'm1.v');
  await Promise.all(onB);
  assert.equal((await rm.infer(a, x, { budgetMs: 1000 })).coldStart, false);
  await rm.close();
});

test('the queue is bounded: past maxQueue any request is refused, with or without an SLO', async () => {
  const rm = manager({ maxQueue: 2 });
  const spec = slow('m1.v', 'a/m1.onnx');
  await rm.load(spec);
  // The 1st runs at once, the 2nd and 3rd fill the queue, the 4th finds it full.
  const settled = await Promise.allSettled(Array.from({ length: 4 }, () => rm.infer(spec, x)));
  assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
  assert.equal(err(settled[3]).code, 'RESOURCE_EXHAUSTED');
  assert.match(err(settled[3]).message, /m1\.v already has 2 requests queued here/);
  assert.ok((err(settled[3]).details?.retryAfterMs as number) >= 1);
  await rm.close();
});
