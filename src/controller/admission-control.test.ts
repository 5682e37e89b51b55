// Tests of the controller's admission control through the dispatcher, with workers that hold every request until
// released (so the requests in flight are known exactly): a request the work in flight would make late is refused
// with 429 and when to retry while one that fits goes; another worker takes what the first cannot; exact-variant
// queries are never refused for an SLO; the requests in flight per worker are bounded; and what replies measure
// corrects the next predictions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import type { Architecture, Tensor, UseCase, WorkerStatus } from '../core/types.ts';
import { keys } from '../metadata/metadata-store.ts';
import { MemoryStore } from '../metadata/memory/memory-store.ts';
import { makeVariant } from '../policy/fixtures.ts';
import type { InferReply, VariantSpec, WorkerClient } from '../protocol/worker-protocol.ts';
import { Dispatcher, type DispatcherOptions, type InferResult } from './dispatcher.ts';
import { LiveClusterView } from './live-cluster-view.ts';
import { ModelIndex } from './model-index.ts';

const useCase: UseCase = { id: 'classification/fashion-mnist', task: 'classification', dataset: 'fashion-mnist', inputShape: [4] };
// One sample per run, p50 8 ms and p95 10 ms; a cold start is profiled at 20 ms.
const v = makeVariant({ name: 'm.fp32.t1.b1.all', arch: 'm', p95: 10, maxBatch: 1, loadMs: 20, memoryMB: 10 });
const arch: Architecture = {
  name: 'm', useCase: useCase.id, registeredAt: '', artifacts: [{ id: 'm.fp32', arch: 'm', precision: 'fp32', key: 'm.onnx', bytes: 1, sha256: '', inputName: 'x', outputName: 'y', accuracy: 90 }],
};
const input: Tensor = { shape: [1, 4], data: new Float32Array(4) };

/** A worker that answers each request only when released, with the timing it is told to report. */
class GateWorker implements WorkerClient {
  readonly address = 'gate';
  readonly closed = new Promise<void>(() => undefined);
  readonly held: Array<() => void> = [];
  readonly holds = new Set<string>();
  timing = { queueMs: 0, loadMs: 0, inferenceMs: 8 };
  constructor(readonly id: string, holds: string[] = []) {
    for (const h of holds) this.holds.add(h);
  }
  infer(spec: VariantSpec, t: Tensor): Promise<InferReply> {
    const coldStart = !this.holds.has(spec.name);
    this.holds.add(spec.name);
    const reply: InferReply = {
      outputs: { y: { shape: [t.shape[0], 2], data: new Float32Array(t.shape[0] * 2) } }, coldStart,
      timing: { ...this.timing, ...(coldStart ? { loadMs: this.timing.loadMs || 20, firstLoad: true } : {}) }, batch: { requests: 1, samples: t.shape[0] },
    };
    return new Promise((resolve) => this.held.push(() => resolve(reply)));
  }
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
  load = async () => ({ loadMs: 0, alreadyLoaded: true });
  unload = async () => true;
  status = async (): Promise<WorkerStatus> => this.snapshot();
  close = () => undefined;
  snapshot(): WorkerStatus {
    return {
      id: this.id, workerClass: 'cpu-1', address: 'gate', startedAt: 1, updatedAt: 0, memoryBudgetMB: 100, memoryUsedMB: 10 * this.holds.size,
      replicas: [...this.holds].map((name) => ({ variant: name, state: 'active' as const, queued: 0, lastUsedAt: 0, memoryMB: 10 })),
    };
  }
}

async function setup(workers: GateWorker[], over: Partial<DispatcherOptions> = {}) {
  const store = new MemoryStore();
  await store.set(keys.useCase(useCase.id), useCase);
  await store.set(keys.architecture('m'), arch);
  await store.set(keys.variant(v.name), v);
  const index = await ModelIndex.load(store);
  const view = new LiveClusterView();
  view.sync(workers.map((w) => w.snapshot()), index.variants);
  const dispatcher = new Dispatcher({
    index: () => index, view, edgeLagMs: () => 0, ...over,
    workers: { clients: () => workers, get: (id) => workers.find((w) => w.id === id), snapshot: () => workers.map((w) => w.snapshot()) },
  });
  return { dispatcher, view };
}

const archQuery = (latencyMs: number) => ({ level: 'arch' as const, arch: 'm', latencyMs });
const refusedWith = (p: Promise<unknown>) => p.then(() => undefined, (e: InfaasError) => e);

test('a request the requests in flight would make late gets 429 with when to retry; one that fits goes; exact-variant queries are not refused', async () => {
  const w1 = new GateWorker('w1', [v.name]);
  const { dispatcher } = await setup([w1]);
  // SLO 45 ms: with n requests ahead (8 ms each) a request predicts 8n + 10 ms: n = 0..4 fit, the 6th (n = 5) does not.
  const admitted = Array.from({ length: 5 }, () => dispatcher.infer(archQuery(45), input));
  const refused = await refusedWith(dispatcher.infer(archQuery(45), input));
  assert.ok(refused instanceof InfaasError);
  assert.equal(refused.code, 'RESOURCE_EXHAUSTED');
  assert.match(refused.message, /^overloaded: no replica can answer within the [\d.]+ ms left of the 45 ms SLO; the best, m\.fp32\.t1\.b1\.all, would take ~50 ms \(40 ms of work queued ahead on worker w1\); retry in ~[\d.]+ ms$/);
  assert.deepEqual([refused.details?.worker, refused.details?.waitMs, refused.details?.predictedMs], ['w1', 40, 50]);
  assert.ok((refused.details?.retryAfterMs as number) >= 5, JSON.stringify(refused.details));
  // A looser SLO still fits behind the same queue; an exact-variant query carries none and always goes.
  const loose = dispatcher.infer(archQuery(60), input);
  const exact = dispatcher.infer({ level: 'variant', variant: v.name }, input);
  assert.equal(w1.held.length, 7);
  // The refused variant is reported as wanting a replica no worker could take (for the autoscaler).
  assert.deepEqual(dispatcher.takeWindow().unplaced, [v.name]);
  w1.release();
  const done: InferResult[] = await Promise.all([...admitted, loose, exact]);
  assert.ok(done.every((r) => r.worker === 'w1' && r.predictedMs > 0));
});

test('another worker takes what the busy one cannot: a new replica where there is room', async () => {
  const [w1, w2] = [new GateWorker('w1', [v.name]), new GateWorker('w2')];
  const { dispatcher } = await setup([w1, w2]);
  const first = Array.from({ length: 5 }, () => dispatcher.infer(archQuery(45), input));
  // Behind 40 ms of work on w1 it would be late; w2 can load the variant (20 ms) and run it (10 ms) in time.
  const moved = dispatcher.infer(archQuery(45), input);
  assert.deepEqual([w1.held.length, w2.held.length], [5, 1]);
  w1.release();
  w2.release();
  await Promise.all(first);
  const r = await moved;
  assert.deepEqual([r.worker, r.coldStart], ['w2', true]);
});

test('the requests in flight on one worker are bounded, with or without an SLO', async () => {
  const w1 = new GateWorker('w1', [v.name]);
  const { dispatcher } = await setup([w1], { maxInflightPerWorker: 2 });
  const two = [dispatcher.infer({ level: 'variant', variant: v.name }, input), dispatcher.infer({ level: 'variant', variant: v.name }, input)];
  const third = await refusedWith(dispatcher.infer({ level: 'variant', variant: v.name }, input));
  assert.equal(third?.code, 'RESOURCE_EXHAUSTED');
  assert.match(third!.message, /worker w1 already has 2 requests in flight from this controller/);
  assert.ok((third!.details?.retryAfterMs as number) >= 1);
  w1.release();
  await Promise.all(two);
});

test('what replies measure corrects the predictions: run time, load time of a cold start, overhead', async () => {
  const w1 = new GateWorker('w1', [v.name]);
  const { dispatcher, view } = await setup([w1]);
  w1.timing = { queueMs: 0, loadMs: 0, inferenceMs: 24 }; // three times the profile's p50
  for (let i = 0; i < 3; i++) {
    const r = dispatcher.infer(archQuery(1000), input);
    w1.release();
    await r;
  }
  assert.ok(Math.abs(view.estimator.runFactor(v.name, 1) - 3) < 1e-9, String(view.estimator.runFactor(v.name, 1)));
  // Predicted now: nothing ahead, the overhead measured + 3 x the 10 ms p95 as a bound and 3 x the 8 ms p50 as
  // what to expect (the reply's figure adds the time spent before the request was sent).
  const p = view.predict(v, 'w1', 1, 0);
  assert.deepEqual([p.waitMs, p.cold], [0, false]);
  assert.ok(Math.abs(p.serviceMs - 30) < 1e-9 && Math.abs(p.expectedServiceMs - 24) < 1e-9, JSON.stringify(p));
  const next = dispatcher.infer(archQuery(1000), input);
  w1.release();
  assert.ok((await next).predictedMs >= 24 + view.estimator.overheadMs());
  // A cold start reported at 60 ms against the profile's 20: a first load is now predicted at 3x.
  const w2 = new GateWorker('w2');
  w2.timing = { queueMs: 0, loadMs: 60, inferenceMs: 24 };
  const two = await setup([w2]);
  const cold = two.dispatcher.infer({ level: 'variant', variant: v.name }, input);
  w2.release();
  assert.equal((await cold).coldStart, true);
  assert.ok(Math.abs(two.view.estimator.loadMs(v.name, 20, true) - 60) < 1e-9, String(two.view.estimator.loadMs(v.name, 20, true)));
  // A first load elsewhere is now predicted at 60 ms, and its run at 30.
  assert.ok(Math.abs(two.view.predict(v, 'w3', 1, 0).serviceMs - 90) < 1e-9, JSON.stringify(two.view.predict(v, 'w3', 1, 0)));
});

test('a worker with nothing in flight, sent nothing for 250 ms, takes the next request whatever the estimate (refusals measure nothing)', async () => {
  const w1 = new GateWorker('w1', [v.name]);
  let clock = 1000;
  const { dispatcher, view } = await setup([w1], { now: () => clock });
  // Measured 100x slower than profiled: nothing fits a 45 ms SLO, so nothing would ever be sent to correct it.
  for (let i = 0; i < 5; i++) view.estimator.observeRun(v.name, 1, 800, 8, clock);
  const first = dispatcher.infer(archQuery(45), input); // the first request to the worker goes
  const refused = await refusedWith(dispatcher.infer(archQuery(45), input));
  assert.equal(refused?.code, 'RESOURCE_EXHAUSTED');
  assert.match(refused!.message, /runs slower than profiled now/);
  assert.equal(refused!.details?.retryAfterMs, 1000);
  clock += 251;
  // Not while a request is in flight there: its reply will correct the estimate.
  assert.equal((await refusedWith(dispatcher.infer(archQuery(45), input)))?.code, 'RESOURCE_EXHAUSTED');
  w1.release();
  await first;
  const probe = dispatcher.infer(archQuery(45), input);
  assert.equal(w1.held.length, 1, 'the probe was sent');
  w1.release();
  await probe;
});
