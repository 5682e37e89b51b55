// Tests of precomputed profile files: validation messages, derived cost fields, and the export round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { variantsFromProfileFile, profileFileFromVariants } from './precomputed.ts';
import { profileArtifact } from './profiler.ts';
import { buildTinyModel, buildTinyValset, writeFixtures } from './test-fixtures.ts';
import { InfaasError } from '../core/errors.ts';
import type { WorkerClass } from '../core/types.ts';

const workerClasses: WorkerClass[] = [
  { name: 'cpu-1', threads: 1, memoryMB: 1024, pricePerHour: 0.048 },
  { name: 'cpu-2', threads: 2, memoryMB: 2048, pricePerHour: 0.096 },
];
const ctx = { artifactId: 'm.fp32', arch: 'm', useCase: 'classification/x', workerClasses };

const good = () => ({
  accuracy: 88.1,
  variants: [
    {
      config: { backend: 'ort-cpu', threads: 1, maxBatch: 8, optLevel: 'all' },
      profile: { loadMs: 20, latency: [{ batch: 8, p50: 2, p95: 3 }, { batch: 1, p50: 0.4, p95: 0.5 }, { batch: 16, p50: 3, p95: 4 }], memoryMB: 12 },
    },
  ],
});

function bad(json: unknown, pattern: RegExp): void {
  assert.throws(() => variantsFromProfileFile(json, ctx), (e: unknown) => {
    assert.ok(e instanceof InfaasError);
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, pattern);
    return true;
  });
}

test('fills cost fields from the price table and sorts latency', () => {
  const { accuracy, variants } = variantsFromProfileFile(good(), ctx);
  assert.equal(accuracy, 88.1);
  assert.equal(variants.length, 1);
  const v = variants[0];
  assert.equal(v.name, 'm.fp32.t1.b8.all');
  assert.equal(v.arch, 'm');
  assert.equal(v.useCase, 'classification/x');
  assert.deepEqual(v.profile.latency, [{ batch: 1, p50: 0.4, p95: 0.5 }, { batch: 8, p50: 2, p95: 3 }]); // batch 16 > maxBatch dropped
  assert.equal(v.profile.peakThroughput, 4000); // 8 * 1000 / 2
  assert.equal(v.profile.workerClass, 'cpu-1');
  assert.equal(v.profile.costPerHour, 0.048);
  assert.ok(Math.abs(v.profile.costPer1k - (0.048 / 3600) * 1000 / 4000) < 1e-15);
  assert.equal(v.profile.accuracy, 88.1);
  assert.equal(v.profile.measuredAt, 'supplied');
});

test('backend defaults to ort-cpu and supplied cost fields are kept', () => {
  const j = good();
  const c = j.variants[0].config as Record<string, unknown>;
  delete c.backend;
  c.threads = 2;
  Object.assign(j.variants[0].profile, { workerClass: 'cpu-2', costPerHour: 1, costPer1k: 0.5, peakThroughput: 100 });
  const v = variantsFromProfileFile(j, ctx).variants[0];
  assert.equal(v.config.backend, 'ort-cpu');
  assert.deepEqual([v.profile.workerClass, v.profile.costPerHour, v.profile.costPer1k, v.profile.peakThroughput], ['cpu-2', 1, 0.5, 100]);
});

test('clear messages for missing and ill-typed fields', () => {
  const mutate = (f: (j: any) => void) => {
    const j = good();
    f(j);
    return j;
  };
  bad(null, /must be a JSON object/);
  bad([], /must be a JSON object/);
  bad(mutate((j) => delete j.accuracy), /accuracy is missing/);
  bad(mutate((j) => (j.accuracy = '88')), /accuracy must be a percentage.*"88"/);
  bad(mutate((j) => (j.accuracy = 101)), /accuracy must be a percentage/);
  bad(mutate((j) => delete j.variants), /variants is missing/);
  bad(mutate((j) => (j.variants = [])), /variants must be a non-empty array/);
  bad(mutate((j) => (j.variants = [3])), /variants\[0\] must be an object/);
  bad(mutate((j) => delete j.variants[0].config), /variants\[0\]\.config is missing/);
  bad(mutate((j) => delete j.variants[0].profile), /variants\[0\]\.profile is missing/);
  bad(mutate((j) => (j.variants[0].config.backend = 'cuda')), /config\.backend must be "ort-cpu"/);
  bad(mutate((j) => delete j.variants[0].config.threads), /variants\[0\]\.config\.threads is missing/);
  bad(mutate((j) => (j.variants[0].config.maxBatch = 2.5)), /config\.maxBatch must be a positive integer up to 4096, got 2\.5/);
  bad(mutate((j) => (j.variants[0].config.optLevel = 'max')), /optLevel must be "basic" or "all", got "max"/);
  bad(mutate((j) => delete j.variants[0].profile.loadMs), /profile\.loadMs is missing/);
  bad(mutate((j) => (j.variants[0].profile.memoryMB = 0)), /profile\.memoryMB must be a positive number/);
  bad(mutate((j) => delete j.variants[0].profile.latency), /profile\.latency is missing/);
  bad(mutate((j) => (j.variants[0].profile.latency = {})), /latency must be a non-empty array/);
  bad(mutate((j) => (j.variants[0].profile.latency[1].p95 = 0.1)), /latency\[1\]\.p95 \(0\.1\) is below p50 \(0\.4\)/);
  bad(mutate((j) => (j.variants[0].profile.latency[1].p50 = 'fast')), /latency\[1\]\.p50 must be a number of milliseconds/);
  bad(mutate((j) => j.variants[0].profile.latency.splice(1, 1)), /must include batch 1/);
  bad(mutate((j) => j.variants[0].profile.latency.splice(0, 1)), /must include batch 8 \(the variant's maxBatch\)/);
  bad(mutate((j) => j.variants[0].profile.latency.push({ batch: 1, p50: 1, p95: 1 })), /batch 1 twice/);
  bad(mutate((j) => (j.variants[0].profile.workerClass = 'gpu-9')), /workerClass "gpu-9" is not a configured worker class \(cpu-1, cpu-2\)/);
  bad(mutate((j) => (j.variants[0].config.threads = 4)), /no worker class has 4 threads/);
  bad(mutate((j) => j.variants.push(structuredClone(j.variants[0]))), /variants\[1\] repeats the configuration of variant m\.fp32\.t1\.b8\.all/);
});

test('hostile files: unknown or inherited fields, values out of range, long strings quoted short', () => {
  const mutate = (f: (j: any) => void) => {
    const j = good();
    f(j);
    return j;
  };
  bad(mutate((j) => (j.variants[0].profile.costPerHr = 9)), /variants\[0\]\.profile has an unknown field "costPerHr" \(expected loadMs, latency/);
  bad(mutate((j) => (j.variants[0].config.maxbatch = 8)), /variants\[0\]\.config has an unknown field "maxbatch"/);
  bad(mutate((j) => (j.extra = 1)), /profile has an unknown field "extra"/);
  bad(mutate((j) => (j.variants[0].profile.latency[0].p99 = 3)), /latency\[0\] has an unknown field "p99"/);
  // Prototype names are not fields: an own "constructor" is unknown, an inherited one is never read.
  bad(JSON.parse('{"accuracy": 1, "variants": [], "constructor": {}}'), /unknown field "constructor"/);
  bad(JSON.parse('{"accuracy": 1, "__proto__": {"variants": [1]}}'), /unknown field "__proto__"/);
  const inherited = good();
  inherited.variants[0].profile = Object.assign(Object.create({ workerClass: 'gpu-9', costPerHour: -5 }), inherited.variants[0].profile);
  assert.equal(variantsFromProfileFile(inherited, ctx).variants[0].profile.workerClass, 'cpu-1', 'inherited fields are not read');
  bad(mutate((j) => (j.variants[0].config.maxBatch = 1e9)), /maxBatch must be a positive integer up to 4096, got 1000000000/);
  bad(mutate((j) => (j.variants[0].config.threads = 1e6)), /threads must be a positive integer up to 1024/);
  bad(mutate((j) => (j.variants[0].profile.latency[1].p50 = 1e-300)), /p50 must be a number of milliseconds from 0\.000001/);
  bad(mutate((j) => (j.variants[0].profile.memoryMB = 1e300)), /memoryMB must be a positive number of MiB up to 10000000, got 1e\+300/);
  bad(mutate((j) => (j.variants[0].profile.loadMs = 1e308 * 10)), /loadMs must be .*, got Infinity/);
  bad(mutate((j) => (j.variants[0].profile.costPer1k = -1)), /costPer1k must be a non-negative number/);
  bad(mutate((j) => (j.variants = Array.from({ length: 1025 }, () => j.variants[0]))), /has 1025 entries; at most 1024/);
  bad(mutate((j) => (j.variants[0].profile.latency = Array.from({ length: 65 }, (_, b) => ({ batch: b + 1, p50: 1, p95: 1 })))), /latency has 65 entries; at most 64/);
  const long = 'z'.repeat(100_000);
  for (const [f, field] of [[(j: any) => (j.variants[0].config.optLevel = long), 'optLevel'], [(j: any) => (j.variants[0].profile.workerClass = long), 'workerClass']] as const) {
    assert.throws(() => variantsFromProfileFile(mutate(f), ctx), (e: unknown) => {
      assert.ok(e instanceof InfaasError);
      assert.match(e.message, new RegExp(`${field}.*"z{64}…" \\(100000 characters\\)`));
      assert.ok(e.message.length < 300, field);
      return true;
    });
  }
  bad(mutate((j) => (j.variants[0].config.optLevel = { big: long })), /optLevel must be "basic" or "all", got an object$/);
});

test('round trip: a measured profile exported and re-imported gives the same variants', async () => {
  const valset = buildTinyValset(9);
  const fx = writeFixtures(buildTinyModel(), valset);
  try {
    const measured = await profileArtifact({
      path: fx.modelPath, artifactId: 'm.fp32', arch: 'm', useCase: 'classification/x', validation: valset, workerClasses,
      grid: { threads: [1, 2], maxBatch: [1, 4], optLevels: ['all'], runs: 5, warmup: 1 }, effort: { budgetMs: 5, loadRepeats: 1 },
    });
    const file = JSON.parse(JSON.stringify(profileFileFromVariants(measured.accuracy, measured.variants)));
    const back = variantsFromProfileFile(file, ctx);
    assert.equal(back.accuracy, measured.accuracy);
    const strip = (vs: typeof measured.variants) => vs.map((v) => ({ ...v, profile: { ...v.profile, measuredAt: '' } }));
    assert.deepEqual(strip(back.variants), strip(measured.variants));
    assert.ok(back.variants.every((v) => v.profile.measuredAt === 'supplied'));
  } finally {
    rmSync(fx.dir, { recursive: true, force: true });
  }
});
