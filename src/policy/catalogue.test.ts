// Tests of the variant catalogue: indexes, orders, rejected variants and latency interpolation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalogue, p50At, p95At } from './catalogue.ts';
import { makeVariant } from './fixtures.ts';

const cat = new Catalogue([
  makeVariant({ name: 'a.fp32.t1.b8.all', arch: 'a', accuracy: 80, costPer1k: 0.003, p95: 2 }),
  makeVariant({ name: 'a.int8.t1.b8.all', arch: 'a', accuracy: 79, costPer1k: 0.001, p95: 1 }),
  makeVariant({ name: 'b.fp32.t1.b8.all', arch: 'b', accuracy: 90, costPer1k: 0.002, p95: 3 }),
  makeVariant({ name: 'c.fp32.t1.b8.all', arch: 'c', useCase: 'classification/digits', accuracy: 97, costPer1k: 0.001 }),
]);

test('looks variants up by name, architecture and use case', () => {
  assert.equal(cat.size, 4);
  assert.equal(cat.get('b.fp32.t1.b8.all')?.arch, 'b');
  assert.equal(cat.get('nope'), undefined);
  assert.deepEqual(cat.byArchCost('a').map((e) => e.name), ['a.int8.t1.b8.all', 'a.fp32.t1.b8.all']);
  assert.deepEqual(cat.byArchAccuracy('a').map((e) => e.name), ['a.fp32.t1.b8.all', 'a.int8.t1.b8.all']);
  assert.deepEqual(cat.byUseCaseCost('classification/fashion-mnist').map((e) => e.name), ['a.int8.t1.b8.all', 'b.fp32.t1.b8.all', 'a.fp32.t1.b8.all']);
  assert.deepEqual(cat.byUseCaseAccuracy('classification/fashion-mnist').map((e) => e.accuracy), [90, 80, 79]);
  assert.deepEqual(cat.architectures('classification/fashion-mnist'), ['a', 'b']);
  assert.deepEqual(cat.useCases(), ['classification/digits', 'classification/fashion-mnist']);
  assert.equal(cat.hasArch('c'), true);
  assert.equal(cat.hasUseCase('classification/nope'), false);
  assert.deepEqual(cat.byArchCost('zzz'), []);
});

test('equal costs are ordered by batch-1 latency, then name', () => {
  const c = new Catalogue([
    makeVariant({ name: 'x.2', arch: 'x', costPer1k: 0.001, p95: 2 }),
    makeVariant({ name: 'x.3', arch: 'x', costPer1k: 0.001, p95: 1 }),
    makeVariant({ name: 'x.1', arch: 'x', costPer1k: 0.001, p95: 1 }),
  ]);
  assert.deepEqual(c.byArchCost('x').map((e) => e.name), ['x.1', 'x.3', 'x.2']);
});

test('rejects duplicates and profiles without latencies instead of failing the whole catalogue', () => {
  const bad = makeVariant({ name: 'bad' });
  bad.profile.latency = [];
  const c = new Catalogue([makeVariant({ name: 'ok' }), makeVariant({ name: 'ok' }), bad]);
  assert.equal(c.size, 1);
  assert.deepEqual(c.rejected.map((r) => [r.name, r.reason]), [['ok', 'duplicate variant name'], ['bad', 'profile has no latency points']]);
  assert.equal(c.get('bad'), undefined);
});

test('latency is exact at profiled batches and interpolated between them', () => {
  const c = new Catalogue([makeVariant({
    name: 'v', maxBatch: 8,
    latency: [{ batch: 8, p50: 8, p95: 10 }, { batch: 1, p50: 1, p95: 2 }, { batch: 4, p50: 4, p95: 6 }],
  })]);
  const e = c.entry('v')!;
  assert.equal(p95At(e, 1), 2);
  assert.equal(p95At(e, 4), 6);
  assert.equal(p50At(e, 8), 8);
  assert.equal(p95At(e, 2), 2 + (4 * 1) / 3);
  assert.equal(p95At(e, 6), 8);
  assert.deepEqual(c.latency('v', 6), { batch: 6, p50: 6, p95: 8 });
  assert.equal(c.latency('nope', 1), undefined);
});

test('beyond the last profiled batch the least-squares line is used, never below the last point', () => {
  const c = new Catalogue([
    makeVariant({ name: 'lin', maxBatch: 4, latency: [{ batch: 1, p50: 1, p95: 3 }, { batch: 2, p50: 2, p95: 5 }, { batch: 4, p50: 4, p95: 9 }] }),
    makeVariant({ name: 'one', maxBatch: 2, latency: [{ batch: 2, p50: 3, p95: 4 }] }),
  ]);
  const lin = c.entry('lin')!;
  assert.ok(Math.abs(lin.fit95.slope - 2) < 1e-9 && Math.abs(lin.fit95.intercept - 1) < 1e-9);
  assert.ok(Math.abs(p95At(lin, 8) - 17) < 1e-9);
  const one = c.entry('one')!;
  assert.equal(p95At(one, 1), 4, 'below the first profiled batch: the first value');
  assert.equal(p95At(one, 4), 8, 'single point: proportional to batch');
});
