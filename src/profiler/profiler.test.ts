// Tests of the in-process profiler against real ONNX Runtime sessions on tiny generated models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { profileArtifact, batchSizes, type ProfileOptions, type ProfileProgress } from './profiler.ts';
import { buildTinyModel, buildTinyValset, handAccuracy, writeFixtures } from './test-fixtures.ts';
import { variantName, type WorkerClass } from '../core/types.ts';
import type { ProfilingGrid } from '../config/config.ts';
import { InfaasError } from '../core/errors.ts';

const workerClasses: WorkerClass[] = [
  { name: 'cpu-1', threads: 1, memoryMB: 1024, pricePerHour: 0.048 },
  { name: 'cpu-2', threads: 2, memoryMB: 2048, pricePerHour: 0.096 },
];
const grid: ProfilingGrid = { threads: [1, 2], maxBatch: [1, 4, 6], optLevels: ['basic', 'all'], runs: 10, warmup: 2 };
const when = new Date('2030-01-02T03:04:05.000Z');

function options(path: string, over: Partial<ProfileOptions> = {}): ProfileOptions {
  return {
    path,
    artifactId: 'tiny.fp32',
    arch: 'tiny',
    useCase: 'classification/tiny',
    validation: buildTinyValset(37),
    grid,
    workerClasses,
    effort: { budgetMs: 20, loadRepeats: 2 },
    now: () => when,
    ...over,
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InfaasError, `expected InfaasError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
}

test('batchSizes: powers of two below the largest maxBatch plus every maxBatch', () => {
  assert.deepEqual(batchSizes([1, 8, 32]), [1, 2, 4, 8, 16, 32]);
  assert.deepEqual(batchSizes([6, 1]), [1, 2, 4, 6]);
  assert.deepEqual(batchSizes([1]), [1]);
});

test('profiles the tiny model into the full grid with sane numbers and hand-checked accuracy', async () => {
  const model = buildTinyModel({ seed: 3 });
  const valset = buildTinyValset(37);
  const fx = writeFixtures(model, valset);
  try {
    const progress: ProfileProgress[] = [];
    const r = await profileArtifact(options(fx.modelPath, { validation: valset }), (p) => progress.push(p));
    const expected = handAccuracy(model, valset);
    assert.ok(expected > 0 && expected < 100, 'fixture accuracy must be informative');
    assert.equal(r.accuracy, expected);
    assert.equal(r.variants.length, 2 * 2 * 3);
    const names = new Set<string>();
    for (const v of r.variants) {
      names.add(v.name);
      assert.equal(v.name, variantName('tiny.fp32', v.config));
      assert.equal(v.arch, 'tiny');
      assert.equal(v.useCase, 'classification/tiny');
      assert.equal(v.config.backend, 'ort-cpu');
      const p = v.profile;
      assert.equal(p.accuracy, expected);
      assert.equal(p.measuredAt, when.toISOString());
      assert.deepEqual(p.latency.map((l) => l.batch), batchSizes([1, 4, 6]).filter((b) => b <= v.config.maxBatch));
      for (const l of p.latency) assert.ok(l.p50 > 0 && l.p95 >= l.p50, `${v.name} b${l.batch}: p50 ${l.p50} p95 ${l.p95}`);
      const peak = Math.max(...p.latency.map((l) => (l.batch * 1000) / l.p50));
      assert.ok(Math.abs(p.peakThroughput - peak) <= 0.005 + 1e-9, `${p.peakThroughput} vs ${peak}`);
      assert.equal(p.workerClass, v.config.threads === 1 ? 'cpu-1' : 'cpu-2');
      assert.equal(p.costPerHour, v.config.threads === 1 ? 0.048 : 0.096);
      assert.ok(Math.abs(p.costPer1k - ((p.costPerHour / 3600) * 1000) / p.peakThroughput) <= 1e-12 * p.costPer1k);
      assert.ok(p.loadMs > 0);
      assert.ok(p.memoryMB >= 0.25 && Number.isInteger(Math.round(p.memoryMB * 100)), `memoryMB ${p.memoryMB}`);
    }
    assert.equal(names.size, 12);
    // variants of one config share load time; larger maxBatch never has less memory
    const t1b = r.variants.filter((v) => v.config.threads === 1 && v.config.optLevel === 'basic');
    assert.equal(new Set(t1b.map((v) => v.profile.loadMs)).size, 1);
    for (let i = 1; i < t1b.length; i++) assert.ok(t1b[i].profile.memoryMB >= t1b[i - 1].profile.memoryMB);

    assert.ok(progress.length > 0);
    for (let i = 1; i < progress.length; i++) assert.equal(progress[i].done, progress[i - 1].done + 1);
    const last = progress[progress.length - 1];
    assert.equal(last.done, last.total);
    assert.ok(progress.every((p) => p.total === last.total));
    assert.ok(progress.some((p) => p.stage === 'accuracy'));
  } finally {
    rmSync(fx.dir, { recursive: true, force: true });
  }
});

test('memory reflects the weights a session holds', async () => {
  const model = buildTinyModel({ classes: 5000 }); // 784 x 5000 float32 = 15.7 MB of weights
  const valset = buildTinyValset(4);
  const fx = writeFixtures(model, valset);
  try {
    const small: ProfilingGrid = { threads: [1], maxBatch: [1], optLevels: ['basic'], runs: 3, warmup: 1 };
    const r = await profileArtifact(options(fx.modelPath, { validation: valset, grid: small, effort: { budgetMs: 5, loadRepeats: 1 } }));
    assert.equal(r.variants.length, 1);
    assert.ok(r.variants[0].profile.memoryMB >= 12, `memoryMB ${r.variants[0].profile.memoryMB}`);
  } finally {
    rmSync(fx.dir, { recursive: true, force: true });
  }
});

test('a model with a fixed batch of 1 is profiled at batch 1 only', async () => {
  const fx = writeFixtures(buildTinyModel({ batch: 1 }), buildTinyValset(5));
  try {
    const r = await profileArtifact(options(fx.modelPath, { validation: buildTinyValset(5) }));
    assert.equal(r.variants.length, 4);
    for (const v of r.variants) {
      assert.equal(v.config.maxBatch, 1);
      assert.deepEqual(v.profile.latency.map((l) => l.batch), [1]);
    }
  } finally {
    rmSync(fx.dir, { recursive: true, force: true });
  }
});

test('incompatible or corrupt models are INVALID_MODEL with the reason', async () => {
  const valset = buildTinyValset(5);
  const wrongShape = writeFixtures(buildTinyModel({ inputShape: [3, 8, 8] }), valset);
  // declares symbolic dims, so ONNX Runtime itself fails at run time: 784 features into a 100-row MatMul
  const failsToRun = writeFixtures(buildTinyModel({ inputShape: [1, 10, 10], declaredShape: ['c', 'h', 'w'] }), valset);
  const corrupt = join(wrongShape.dir, 'corrupt.onnx');
  writeFileSync(corrupt, Buffer.from('this is not an onnx file'));
  try {
    await rejectsWith(profileArtifact(options(wrongShape.modelPath)), 'INVALID_MODEL', /shape \[\?,3,8,8\].*\[batch,1,28,28\]/);
    await rejectsWith(profileArtifact(options(failsToRun.modelPath)), 'INVALID_MODEL', /failed to run on input \[1,1,28,28\]: .+/);
    await rejectsWith(profileArtifact(options(corrupt)), 'INVALID_MODEL', /failed to load: .*(Protobuf|parse|pars)/i);
    await rejectsWith(profileArtifact(options(join(wrongShape.dir, 'missing.onnx'))), 'INVALID_MODEL', /failed to load/);
  } finally {
    rmSync(wrongShape.dir, { recursive: true, force: true });
    rmSync(failsToRun.dir, { recursive: true, force: true });
  }
});

test('a grid needing a worker class that does not exist is INVALID_ARGUMENT', async () => {
  const fx = writeFixtures(buildTinyModel(), buildTinyValset(5));
  try {
    await rejectsWith(profileArtifact(options(fx.modelPath, { grid: { ...grid, threads: [8] } })), 'INVALID_ARGUMENT', /8 threads/);
  } finally {
    rmSync(fx.dir, { recursive: true, force: true });
  }
});
