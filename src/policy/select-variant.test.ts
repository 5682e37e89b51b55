// Tests of variant selection: each rule, each error, tie-breaks, alternatives, caps and an INFaaS-like case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import { Catalogue } from './catalogue.ts';
import { EMPTY_CLUSTER } from './cluster-view.ts';
import { clusterOf, makeVariant } from './fixtures.ts';
import { selectVariant, type SelectionRequest } from './select-variant.ts';

const UC = 'classification/fashion-mnist';
const NOW = 1_000_000;

// p95 at batch b = p95·(0.5 + 0.5·b); load 20 ms unless said.
const cat = new Catalogue([
  makeVariant({ name: 's.cheap', arch: 's', accuracy: 87.2, p95: 0.4, costPer1k: 0.001, loadMs: 5 }),
  makeVariant({ name: 's.fast', arch: 's', accuracy: 87.2, p95: 0.2, costPer1k: 0.002, loadMs: 5 }),
  makeVariant({ name: 'm.cheap', arch: 'm', accuracy: 90.1, p95: 2, costPer1k: 0.003 }),
  makeVariant({ name: 'm.fast', arch: 'm', accuracy: 90.1, p95: 1, costPer1k: 0.006 }),
  makeVariant({ name: 'm.b32', arch: 'm', accuracy: 90.1, p95: 1, costPer1k: 0.004, maxBatch: 32 }),
]);

const uc = (minAccuracy: number, latencyMs: number, extra: Partial<SelectionRequest> = {}): SelectionRequest =>
  ({ kind: 'usecase', useCase: UC, minAccuracy, latencyMs, batch: 1, ...extra }) as SelectionRequest;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InfaasError);
    return e.code;
  }
  return 'no error';
}

test('cold start: the cheapest variant whose load + p95 fits', () => {
  const s = selectVariant(uc(85, 10), cat, EMPTY_CLUSTER, NOW);
  assert.equal(s.variant.name, 's.cheap');
  assert.equal(s.loaded, false);
  assert.equal(s.predictedMs, 5.4);
  assert.match(s.reason, /cold-starting the cheapest/);
});

test('accuracy filter: only variants at or above minAccuracy', () => {
  assert.equal(selectVariant(uc(90, 30), cat, EMPTY_CLUSTER, NOW).variant.name, 'm.cheap');
});

test('a loaded, healthy variant that fits wins over a cheaper cold start', () => {
  const cluster = clusterOf({ 'm.fast': [{ workerId: 'w2', estimatedWaitMs: 1 }] });
  const s = selectVariant(uc(85, 10), cat, cluster, NOW);
  assert.deepEqual([s.variant.name, s.loaded, s.predictedMs, s.workerId], ['m.fast', true, 2, 'w2']);
});

test('loaded candidates: cheapest first, then lower predicted latency', () => {
  const cluster = clusterOf({
    'm.fast': [{ estimatedWaitMs: 0 }],
    'm.cheap': [{ workerId: 'slow', estimatedWaitMs: 3 }, { workerId: 'quick', estimatedWaitMs: 0.5 }],
  });
  const s = selectVariant(uc(85, 10), cat, cluster, NOW);
  assert.deepEqual([s.variant.name, s.workerId, s.predictedMs], ['m.cheap', 'quick', 2.5]);
  const tie = new Catalogue([
    makeVariant({ name: 'x.slow', arch: 'x', p95: 3, costPer1k: 0.001 }),
    makeVariant({ name: 'x.quick', arch: 'x', p95: 1, costPer1k: 0.001 }),
  ]);
  const both = clusterOf({ 'x.slow': [{}], 'x.quick': [{}] });
  assert.equal(selectVariant({ kind: 'arch', arch: 'x', latencyMs: 5, batch: 1 }, tie, both, NOW).variant.name, 'x.quick');
  assert.equal(selectVariant({ kind: 'arch', arch: 'x', latencyMs: 50, batch: 1 }, tie, EMPTY_CLUSTER, NOW).variant.name, 'x.quick');
});

test('a loaded variant whose wait breaks the SLO is passed over', () => {
  const cluster = clusterOf({ 'm.fast': [{ estimatedWaitMs: 9.5 }] });
  const s = selectVariant(uc(85, 10), cat, cluster, NOW);
  assert.deepEqual([s.variant.name, s.loaded], ['s.cheap', false]);
});

test('overloaded and interfered replicas are skipped; a loading one counts its remaining load time', () => {
  const flagged = clusterOf({ 'm.fast': [{ state: 'overloaded' }, { state: 'interfered' }] });
  assert.equal(selectVariant(uc(85, 10), cat, flagged, NOW).variant.name, 's.cheap');
  const loadingSoon = clusterOf({ 'm.fast': [{ state: 'loading', readyAt: NOW + 2 }] });
  const s = selectVariant(uc(85, 10), cat, loadingSoon, NOW);
  assert.deepEqual([s.variant.name, s.loaded, s.predictedMs], ['m.fast', true, 3]);
  const loadingLate = clusterOf({ 'm.fast': [{ state: 'loading', readyAt: NOW + 50 }] });
  assert.equal(selectVariant(uc(85, 10), cat, loadingLate, NOW).variant.name, 's.cheap');
  assert.equal(selectVariant(uc(85, 10), cat, loadingLate, NOW + 45).variant.name, 'm.fast', 'the clock moves the decision');
});

test('loaded variants of another use case or architecture are ignored', () => {
  const other = new Catalogue([...cat.variants(), makeVariant({ name: 'd.x', arch: 'd', useCase: 'classification/digits', costPer1k: 0 })]);
  const s = selectVariant({ kind: 'arch', arch: 's', latencyMs: 10, batch: 1 }, other, clusterOf({ 'd.x': [{}], 'm.cheap': [{}] }), NOW);
  assert.deepEqual([s.variant.name, s.loaded], ['s.cheap', false]);
});

test('batch cap: variants with maxBatch below the batch are skipped, latency is taken at the batch', () => {
  const s = selectVariant(uc(90, 100, { batch: 16 }), cat, EMPTY_CLUSTER, NOW);
  assert.equal(s.variant.name, 'm.b32');
  assert.equal(s.predictedMs, 20 + 8.5);
});

test('cost cap: variants above maxCostPer1k are never chosen', () => {
  const cluster = clusterOf({ 'm.fast': [{}] });
  assert.equal(selectVariant(uc(90, 30, { maxCostPer1k: 0.005 }), cat, cluster, NOW).variant.name, 'm.cheap');
  assert.throws(() => selectVariant(uc(90, 1.5, { maxCostPer1k: 0.003 }), cat, cluster, NOW), (err: InfaasError) => {
    assert.equal(err.code, 'SLO_UNSATISFIABLE');
    assert.match(err.message, /for at most 0.003 per 1k queries/);
    assert.match(err.message, /without the cost cap m.b32 would/);
    assert.equal((err.details!.alternatives as any).cheapestMeetingSlo.variant, 'm.b32');
    return true;
  });
});

test('when only the load time breaks the SLO, cold-start anyway and say this request misses it', () => {
  const s = selectVariant(uc(90, 1.5), cat, EMPTY_CLUSTER, NOW);
  assert.equal(s.variant.name, 'm.b32');
  assert.equal(s.loaded, false);
  assert.equal(s.predictedMs, 21);
  assert.match(s.reason, /misses the SLO/);
});

test('a pricier cold start that fits with its load beats a cheaper one that fits only once loaded', () => {
  const c = new Catalogue([
    makeVariant({ name: 'x.slowload', arch: 'x', p95: 1, loadMs: 500, costPer1k: 0.001 }),
    makeVariant({ name: 'x.slowload2', arch: 'x', p95: 1, loadMs: 400, costPer1k: 0.002 }),
    makeVariant({ name: 'x.quickload', arch: 'x', p95: 2, loadMs: 5, costPer1k: 0.009 }),
  ]);
  const s = selectVariant({ kind: 'arch', arch: 'x', latencyMs: 10, batch: 1 }, c, EMPTY_CLUSTER, NOW);
  assert.deepEqual([s.variant.name, s.predictedMs], ['x.quickload', 7]);
  const steady = selectVariant({ kind: 'arch', arch: 'x', latencyMs: 1.5, batch: 1 }, c, EMPTY_CLUSTER, NOW);
  assert.deepEqual([steady.variant.name, steady.predictedMs], ['x.slowload', 501]);
});

test('unsatisfiable: a readable message with the closest alternatives', () => {
  assert.throws(() => selectVariant(uc(95, 0.5), cat, EMPTY_CLUSTER, NOW), (err: InfaasError) => {
    assert.equal(err.code, 'SLO_UNSATISFIABLE');
    assert.equal(err.message, `no variant of use case ${UC} reaches 95% accuracy within 0.5 ms; fastest meeting 95%: none (best accuracy 90.1%); most accurate within 0.5 ms: s.fast (87.2%, p95 0.2 ms)`);
    const alts = err.details!.alternatives as any;
    assert.equal(alts.fastestMeetingAccuracy, undefined);
    assert.deepEqual(alts.mostAccurateMeetingLatency, { variant: 's.fast', p95Ms: 0.2, accuracy: 87.2, costPer1k: 0.002 });
    return true;
  });
  assert.throws(() => selectVariant(uc(90, 0.5), cat, EMPTY_CLUSTER, NOW), (err: InfaasError) => {
    assert.match(err.message, /fastest meeting 90%: m.b32 \(p95 1 ms, 90.1%\); most accurate within 0.5 ms: s.fast/);
    assert.equal((err.details!.alternatives as any).fastestMeetingAccuracy.variant, 'm.b32', 'equal p95: the cheaper');
    return true;
  });
  assert.throws(() => selectVariant({ kind: 'arch', arch: 'm', latencyMs: 0.1, batch: 1 }, cat, EMPTY_CLUSTER, NOW),
    /no variant of architecture m answers within 0.1 ms; fastest: m.b32 \(p95 1 ms\)/);
  assert.throws(() => selectVariant(uc(50, 1000, { batch: 64 }), cat, EMPTY_CLUSTER, NOW), /accepts batch 64 \(largest max batch 32\)/);
  assert.throws(() => selectVariant(uc(50, 1000, { maxCostPer1k: 0.0001 }), cat, EMPTY_CLUSTER, NOW), /costs at most 0.0001 per 1k queries \(cheapest: s.cheap at 0.001\)/);
});

test('exact variant: no SLO check, loaded when a healthy replica exists, batch bounded by maxBatch', () => {
  const s = selectVariant({ kind: 'variant', variant: 'm.cheap', batch: 8 }, cat, EMPTY_CLUSTER, NOW);
  assert.deepEqual([s.variant.name, s.loaded, s.predictedMs], ['m.cheap', false, 20 + 9]);
  const l = selectVariant({ kind: 'variant', variant: 'm.cheap', batch: 1 }, cat, clusterOf({ 'm.cheap': [{ workerId: 'w9', estimatedWaitMs: 4 }] }), NOW);
  assert.deepEqual([l.loaded, l.workerId, l.predictedMs], [true, 'w9', 6]);
  const f = selectVariant({ kind: 'variant', variant: 'm.cheap', batch: 1 }, cat, clusterOf({ 'm.cheap': [{ state: 'overloaded' }] }), NOW);
  assert.equal(f.loaded, false);
  assert.match(f.reason, /overloaded or interfered/);
  assert.equal(code(() => selectVariant({ kind: 'variant', variant: 'm.cheap', batch: 9 }, cat, EMPTY_CLUSTER, NOW)), 'INVALID_ARGUMENT');
  assert.equal(code(() => selectVariant({ kind: 'variant', variant: 'm.fast', batch: 1, maxCostPer1k: 0.001 }, cat, EMPTY_CLUSTER, NOW)), 'SLO_UNSATISFIABLE');
});

test('unknown names are NOT_FOUND, invalid numbers INVALID_ARGUMENT', () => {
  assert.equal(code(() => selectVariant({ kind: 'variant', variant: 'nope', batch: 1 }, cat, EMPTY_CLUSTER, NOW)), 'NOT_FOUND');
  assert.equal(code(() => selectVariant({ kind: 'arch', arch: 'nope', latencyMs: 5, batch: 1 }, cat, EMPTY_CLUSTER, NOW)), 'NOT_FOUND');
  assert.throws(() => selectVariant(uc(50, 5, { useCase: 'a/b' } as any), cat, EMPTY_CLUSTER, NOW), /unknown use case 'a\/b' \(known: classification\/fashion-mnist\)/);
  for (const bad of [uc(50, -1), uc(50, 0), uc(101, 5), uc(-1, 5), uc(50, 5, { batch: 0 }), uc(50, 5, { batch: 1.5 }), uc(50, 5, { maxCostPer1k: -1 }), uc(NaN, 5)]) {
    assert.equal(code(() => selectVariant(bad, cat, EMPTY_CLUSTER, NOW)), 'INVALID_ARGUMENT', JSON.stringify(bad));
  }
});

test('INFaaS-like: classification-imagenet-224 with 75% in 100 ms picks resnet50 on CPU, loaded after the first query', () => {
  const IMAGENET = 'classification/imagenet-224';
  const v = (name: string, accuracy: number, p95: number, loadMs: number, costPer1k: number, maxBatch = 8) =>
    makeVariant({ name, arch: name.split('.')[0], useCase: IMAGENET, accuracy, p95, loadMs, costPer1k, maxBatch });
  const imagenet = new Catalogue([
    v('mobilenet.cpu', 70.4, 1.5, 590, 0.0004),
    v('resnet50.cpu', 76.1, 60, 1200, 0.004),
    v('resnet50.gpu', 76.1, 5, 4000, 0.02, 64),
    v('nasnet.cpu', 82.5, 5700, 11000, 0.9),
    v('nasnet.gpu', 82.5, 30, 9000, 0.08, 64),
  ]);
  const q: SelectionRequest = { kind: 'usecase', useCase: IMAGENET, minAccuracy: 75, latencyMs: 100, batch: 1 };
  const first = selectVariant(q, imagenet, EMPTY_CLUSTER, NOW);
  assert.deepEqual([first.variant.name, first.loaded], ['resnet50.cpu', false]);
  const next = selectVariant(q, imagenet, clusterOf({ 'resnet50.cpu': [{ estimatedWaitMs: 10 }] }), NOW);
  assert.deepEqual([next.variant.name, next.loaded, next.predictedMs], ['resnet50.cpu', true, 70]);
  const tight = selectVariant({ ...q, latencyMs: 20 }, imagenet, clusterOf({ 'resnet50.cpu': [{}] }), NOW);
  assert.equal(tight.variant.name, 'resnet50.gpu');
  const arch = selectVariant({ kind: 'arch', arch: 'nasnet', latencyMs: 200, batch: 4 }, imagenet, EMPTY_CLUSTER, NOW);
  assert.equal(arch.variant.name, 'nasnet.gpu');
  assert.throws(() => selectVariant({ ...q, minAccuracy: 80, latencyMs: 10 }, imagenet, EMPTY_CLUSTER, NOW),
    /fastest meeting 80%: nasnet.gpu \(p95 30 ms, 82.5%\); most accurate within 10 ms: resnet50.gpu \(76.1%, p95 5 ms\)/);
});

test('a variant needing more threads than any worker has is never cold-started', () => {
  // t2 is cheaper and fits; with only 1-thread workers it would run on half its threads, slower than its profile
  const threads = new Catalogue([
    makeVariant({ name: 'k.t2', arch: 'k', accuracy: 90, p95: 1, costPer1k: 0.001, loadMs: 5, threads: 2 }),
    makeVariant({ name: 'k.t1', arch: 'k', accuracy: 90, p95: 2, costPer1k: 0.002, loadMs: 5, threads: 1 }),
  ]);
  assert.equal(selectVariant(uc(85, 10), threads, EMPTY_CLUSTER, NOW).variant.name, 'k.t2');
  const oneThread = { ...EMPTY_CLUSTER, maxThreads: () => 1 };
  assert.equal(selectVariant(uc(85, 10), threads, oneThread, NOW).variant.name, 'k.t1');
  // nothing fits in one thread: the request is refused rather than run on a worker too small for it
  const onlyT2 = new Catalogue([makeVariant({ name: 'k.t2', arch: 'k', accuracy: 90, p95: 1, costPer1k: 0.001, loadMs: 5, threads: 2 })]);
  assert.equal(code(() => selectVariant(uc(85, 10), onlyT2, oneThread, NOW)), 'SLO_UNSATISFIABLE');
  assert.throws(() => selectVariant(uc(85, 10), onlyT2, oneThread, NOW), /runs on this server's workers: they have 1 thread/);
  // alternatives name only variants the workers can run
  assert.throws(() => selectVariant(uc(85, 1), threads, oneThread, NOW), (e: unknown) => e instanceof InfaasError && !JSON.stringify(e.details).includes('k.t2'));
});

test('with measured corrections: run factors, measured load times and the overhead decide, not the raw profile', () => {
  const corrections = (run: Record<string, number>, load: Record<string, number>, overheadMs: number) => ({
    runFactor: (v: string) => run[v] ?? 1,
    loadMs: (v: { name: string; profile: { loadMs: number } }) => load[v.name] ?? v.profile.loadMs,
    overheadMs: () => overheadMs,
  });
  const withCorrections = (c: ReturnType<typeof corrections>, replicas: Parameters<typeof clusterOf>[0] = {}) => ({ ...clusterOf(replicas), corrections: () => c });
  // As profiled, s.cheap cold-starts within 10 ms (5 + 0.4). Measured, its load takes 18 ms: s.fast (5 ms) fits.
  const slowLoad = selectVariant(uc(85, 10), cat, withCorrections(corrections({}, { 's.cheap': 18 }, 0)), NOW);
  assert.deepEqual([slowLoad.variant.name, slowLoad.loaded, slowLoad.predictedMs], ['s.fast', false, 5.2]);
  assert.match(slowLoad.reason, /load 5 ms/);
  // Nothing fits with its measured load: the cheapest whose p95 fits pays it once, and the reason says the measured figure.
  const steady = selectVariant(uc(85, 10), cat, withCorrections(corrections({}, { 's.cheap': 18, 's.fast': 30 }, 0)), NOW);
  assert.deepEqual([steady.variant.name, steady.predictedMs], ['s.cheap', 18.4]);
  assert.match(steady.reason, /pays the load \(18 ms\)/);
  // Loaded s.fast runs 20x its profile: wait 1 + 20 x 0.2 + overhead 1.5 misses 5 ms; m.fast (1 + 1 + 1.5) fits.
  const loaded = { 'm.fast': [{ workerId: 'w1', estimatedWaitMs: 1 }], 's.fast': [{ workerId: 'w2', estimatedWaitMs: 1 }] };
  const slowRun = selectVariant(uc(85, 5), cat, withCorrections(corrections({ 's.fast': 20 }, {}, 1.5), loaded), NOW);
  assert.deepEqual([slowRun.variant.name, slowRun.workerId, slowRun.predictedMs], ['m.fast', 'w1', 3.5]);
  // m.fast at 3x (1 + 3 + 1.5) misses it too: no loaded replica fits.
  const slower = selectVariant(uc(85, 5), cat, withCorrections(corrections({ 's.fast': 20, 'm.fast': 3 }, {}, 1.5), loaded), NOW);
  assert.equal(slower.loaded, false);
  // Measured slower than any variant can meet now: chosen as the profiles would (admission answers it as overload);
  // an SLO the profiles cannot meet either stays unsatisfiable.
  const slowNow = selectVariant({ kind: 'arch', arch: 's', latencyMs: 0.5, batch: 1 }, cat, withCorrections(corrections({}, {}, 1)), NOW);
  assert.deepEqual([slowNow.variant.name, slowNow.loaded], ['s.cheap', false]);
  assert.equal(code(() => selectVariant({ kind: 'arch', arch: 's', latencyMs: 0.1, batch: 1 }, cat, withCorrections(corrections({}, {}, 1)), NOW)), 'SLO_UNSATISFIABLE');
  // An exact variant: predicted with its measured load and the overhead.
  const exact = selectVariant({ kind: 'variant', variant: 's.cheap', batch: 1 }, cat, withCorrections(corrections({ 's.cheap': 2 }, { 's.cheap': 18 }, 1)), NOW);
  assert.equal(exact.predictedMs, 18 + 1 + 0.8);
});
