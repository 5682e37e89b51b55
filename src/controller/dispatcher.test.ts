// Tests of the dispatcher's deadline handling: what is left of the SLO goes to the worker as its budget,
// exact-variant queries carry none, and a worker's early DEADLINE_EXCEEDED comes back as a 429 with its details;
// use-case queries go through the policy's router when one is given; the autoscaling window (unplaced, SLOs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import type { Tensor, UseCase, Architecture, WorkerStatus } from '../core/types.ts';
import { keys } from '../metadata/metadata-store.ts';
import { MemoryStore } from '../metadata/memory/memory-store.ts';
import { makeVariant } from '../policy/fixtures.ts';
import { selectVariant } from '../policy/select-variant.ts';
import { Dispatcher, type UseCaseRouter } from './dispatcher.ts';
import { LiveClusterView } from './live-cluster-view.ts';
import { ModelIndex } from './model-index.ts';
import type { InferOptions, InferReply, VariantSpec, WorkerClient } from '../protocol/worker-protocol.ts';

const useCase: UseCase = { id: 'classification/fashion-mnist', task: 'classification', dataset: 'fashion-mnist', inputShape: [4] };
const variant = makeVariant({ name: 'm.fp32.t1.b8.all', arch: 'm', p95: 1, maxBatch: 8 });
const big = makeVariant({ name: 'm.fp32.t1.b1.all', arch: 'm', p95: 1, maxBatch: 1, memoryMB: 95 });
const small = makeVariant({ name: 'm.fp32.t2.b1.all', arch: 'm', p95: 1, maxBatch: 1, threads: 2, memoryMB: 5 });
const arch: Architecture = {
  name: 'm', useCase: useCase.id, registeredAt: '', artifacts: [{ id: 'm.fp32', arch: 'm', precision: 'fp32', key: 'm.onnx', bytes: 1, sha256: '', inputName: 'x', outputName: 'y', accuracy: 90 }],
};

/** A worker that records each call's options and answers, or refuses like a worker whose deadline passed. */
class FakeWorker implements WorkerClient {
  readonly id = 'w1';
  readonly address = 'fake';
  readonly closed = new Promise<void>(() => undefined);
  calls: Array<{ spec: VariantSpec; opts?: InferOptions }> = [];
  refuse = false;
  async infer(spec: VariantSpec, input: Tensor, opts?: InferOptions): Promise<InferReply> {
    this.calls.push({ spec, opts });
    if (this.refuse) throw new InfaasError('DEADLINE_EXCEEDED', 'deadline exceeded: the request needed ~1 ms on m but only 0.2 ms of its SLO remained', { variant: spec.name, neededMs: 1, remainingMs: 0.2 });
    return { outputs: { y: { shape: [input.shape[0], 2], data: new Float32Array(input.shape[0] * 2) } }, coldStart: false, timing: { queueMs: 0, loadMs: 0, inferenceMs: 0.1 }, batch: { requests: 3, samples: 5 } };
  }
  load = async () => ({ loadMs: 0, alreadyLoaded: true });
  unload = async () => true;
  status = async (): Promise<WorkerStatus> => status;
  close = () => undefined;
}

const status: WorkerStatus = {
  id: 'w1', workerClass: 'cpu-1', address: 'fake', startedAt: 0, updatedAt: 0, memoryBudgetMB: 100, memoryUsedMB: 10,
  replicas: [{ variant: variant.name, state: 'active', queued: 0, lastUsedAt: 0, memoryMB: 10 }],
};

async function setup(route?: UseCaseRouter) {
  const store = new MemoryStore();
  await store.set(keys.useCase(useCase.id), useCase);
  await store.set(keys.architecture('m'), arch);
  for (const v of [variant, big, small]) await store.set(keys.variant(v.name), v);
  const index = await ModelIndex.load(store);
  const worker = new FakeWorker();
  const view = new LiveClusterView();
  view.sync([status], index.variants);
  const dispatcher = new Dispatcher({ index: () => index, view, workers: { clients: () => [worker], get: () => worker, snapshot: () => [status] }, route: () => route });
  return { dispatcher, worker };
}

const input: Tensor = { shape: [1, 4], data: new Float32Array(4) };

test('an SLO query sends what is left of its SLO as the budget, with the profile curve in the spec', async () => {
  const { dispatcher, worker } = await setup();
  const started = performance.now() - 3; // 3 ms already spent before dispatch
  const r = await dispatcher.infer({ level: 'arch', arch: 'm', latencyMs: 50 }, input, started);
  const budget = worker.calls[0].opts?.budgetMs;
  assert.ok(budget !== undefined && budget <= 47 && budget > 40, `budget ${budget}`);
  assert.deepEqual(worker.calls[0].spec.latency?.map((l) => l.batch), variant.profile.latency.map((l) => l.batch));
  assert.deepEqual(r.mergedBatch, { requests: 3, samples: 5 });
});

test('an exact-variant query carries no deadline', async () => {
  const { dispatcher, worker } = await setup();
  await dispatcher.infer({ level: 'variant', variant: variant.name }, input);
  assert.equal(worker.calls[0].opts, undefined);
});

test("the worker's early rejection (too late to start) is answered as RESOURCE_EXHAUSTED with Retry-After, worker and SLO details", async () => {
  const { dispatcher, worker } = await setup();
  worker.refuse = true;
  await assert.rejects(dispatcher.infer({ level: 'arch', arch: 'm', latencyMs: 5 }, input), (e) => {
    const err = e as InfaasError;
    assert.equal(err.code, 'RESOURCE_EXHAUSTED');
    assert.match(err.message, /needs ~1 ms on m\.\S+ \(worker w1\) but only 0\.2 ms of its 5 ms SLO remained/);
    assert.deepEqual(
      { worker: err.details?.worker, latencyMs: err.details?.latencyMs, neededMs: err.details?.neededMs, retryAfterMs: err.details?.retryAfterMs },
      { worker: 'w1', latencyMs: 5, neededMs: 1, retryAfterMs: 1 },
    );
    return true;
  });
  assert.equal(worker.calls.length, 1, 'a deadline rejection is not retried');
});

test('a new replica no worker can take (no free memory, or all hold it) is reported once as unplaced', async () => {
  const { dispatcher } = await setup();
  await dispatcher.infer({ level: 'variant', variant: small.name }, input); // 5 MB fits in the 90 MB free
  await dispatcher.infer({ level: 'variant', variant: variant.name }, input); // already held and loaded: no new replica
  assert.deepEqual(dispatcher.takeWindow().unplaced, []);
  await dispatcher.infer({ level: 'variant', variant: big.name }, input); // 95 MB does not: the worker must evict
  await dispatcher.infer({ level: 'variant', variant: big.name }, input);
  assert.deepEqual(dispatcher.takeWindow().unplaced, [big.name]);
  assert.deepEqual(dispatcher.takeWindow().unplaced, [], 'taking the record clears it');
  // the router wants another replica of the held variant (its replica would miss the SLO): the only worker has it
  const more = await setup((q, view, catalogue, now) => ({ ...selectVariant({ kind: 'variant', variant: variant.name, batch: q.batch }, catalogue, view, now), loaded: false, workerId: undefined }));
  await more.dispatcher.infer({ level: 'usecase', task: 'classification', dataset: 'fashion-mnist', minAccuracy: 80, latencyMs: 50 }, input);
  assert.deepEqual(more.dispatcher.takeWindow().unplaced, [variant.name]);
  // an explicit load of a variant every worker already holds is not a placement failure
  await dispatcher.load(variant);
  assert.deepEqual(dispatcher.takeWindow().unplaced, []);
});

test('an explicit load pins the variant until it is unloaded by name', async () => {
  const { dispatcher } = await setup();
  assert.deepEqual([...(dispatcher.takeWindow().pinned ?? [])], []);
  await dispatcher.load(variant);
  assert.deepEqual([...(dispatcher.takeWindow().pinned ?? [])], [variant.name]);
  assert.deepEqual([...(dispatcher.takeWindow().pinned ?? [])], [variant.name], 'taking the window keeps pins');
  await dispatcher.unloadEverywhere(variant);
  assert.deepEqual([...(dispatcher.takeWindow().pinned ?? [])], []);
});

test('the window records each variant\'s tightest SLO and highest accuracy from arch and use-case queries', async () => {
  const { dispatcher } = await setup();
  await dispatcher.infer({ level: 'arch', arch: 'm', latencyMs: 50 }, input);
  await dispatcher.infer({ level: 'arch', arch: 'm', latencyMs: 20 }, input);
  await dispatcher.infer({ level: 'usecase', task: 'classification', dataset: 'fashion-mnist', minAccuracy: 80, latencyMs: 40 }, input);
  await dispatcher.infer({ level: 'variant', variant: small.name }, input); // carries no SLO
  const w = dispatcher.takeWindow();
  assert.deepEqual(w.slo.get(variant.name), { minSloMs: 20, maxMinAccuracy: 80 });
  assert.equal(w.slo.has(small.name), false);
  assert.equal(dispatcher.takeWindow().slo.size, 0, 'taking the window clears it');
});

test("use-case queries are routed by the policy's router when one is set; cost-capped and arch queries are not", async () => {
  const asked: string[] = [];
  const router: UseCaseRouter = (q, view, catalogue, now) => {
    asked.push(`${q.useCase} ${q.minAccuracy} ${q.latencyMs} ${q.batch}`);
    return selectVariant({ kind: 'variant', variant: small.name, batch: q.batch }, catalogue, view, now);
  };
  const { dispatcher, worker } = await setup(router);
  const r = await dispatcher.infer({ level: 'usecase', task: 'classification', dataset: 'fashion-mnist', minAccuracy: 80, latencyMs: 50 }, input);
  assert.deepEqual(asked, ['classification/fashion-mnist 80 50 1']);
  assert.equal(r.variant, small.name, 'the router chose it, not the cheapest loaded variant');
  await dispatcher.infer({ level: 'usecase', task: 'classification', dataset: 'fashion-mnist', minAccuracy: 80, latencyMs: 50, maxCostPer1k: 1 }, input);
  await dispatcher.infer({ level: 'arch', arch: 'm', latencyMs: 50 }, input);
  assert.equal(asked.length, 1, 'a cost cap or another level uses selectVariant directly');
  assert.equal(worker.calls.length, 3);
});

test('a request whose worker dies is retried once on another worker and says so; with no other worker it fails with a clear 503', async () => {
  const { FakeWorkerClient } = await import('../testing/fake-worker.ts');
  const store = new MemoryStore();
  await store.set(keys.useCase(useCase.id), useCase);
  await store.set(keys.architecture('m'), arch);
  await store.set(keys.variant(variant.name), variant);
  const index = await ModelIndex.load(store);
  const make = (ids: string[]) => {
    const workers = ids.map((id) => new FakeWorkerClient(id, { runMs: () => 50 }));
    const live = () => workers.filter((w) => !w.calls.includes('dead'));
    const statuses = () => live().map((w): WorkerStatus => ({ ...status, id: w.id }));
    const view = new LiveClusterView();
    view.sync(statuses(), index.variants);
    const dispatcher = new Dispatcher({ index: () => index, view, workers: { clients: live, get: (id) => live().find((w) => w.id === id), snapshot: statuses } });
    const kill = (w: InstanceType<typeof FakeWorkerClient>) => (w.calls.push('dead'), w.kill());
    return { dispatcher, workers, kill };
  };
  const two = make(['w1', 'w2']);
  const running = two.dispatcher.infer({ level: 'variant', variant: variant.name }, input);
  await new Promise((r) => setTimeout(r, 10));
  const first = two.workers.find((w) => w.calls.some((c) => c.startsWith('infer')))!;
  two.kill(first);
  const r = await running;
  assert.equal(r.retries, 1);
  assert.deepEqual(r.retriedAfter?.worker, first.id);
  assert.match(r.retriedAfter!.error, new RegExp(`worker ${first.id} exited while running`));
  assert.notEqual(r.worker, first.id);

  const one = make(['w1']);
  const alone = one.dispatcher.infer({ level: 'variant', variant: variant.name }, input);
  await new Promise((r) => setTimeout(r, 10));
  one.kill(one.workers[0]);
  await assert.rejects(alone, (e) => {
    const err = e as InfaasError;
    assert.equal(err.code, 'UNAVAILABLE');
    assert.match(err.message, /no other worker could take the request after w1 failed: worker w1 exited while running/);
    return true;
  });
});
