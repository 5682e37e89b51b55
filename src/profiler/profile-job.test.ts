// Tests of the child-process profiling job: real forked processes running real ONNX Runtime sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProfileJob, type ProfileJobOptions } from './profile-job.ts';
import type { ProfileProgress } from './profiler.ts';
import { buildBrokenModel, buildTinyModel, buildTinyValset, handAccuracy, writeFixtures } from './test-fixtures.ts';
import { InfaasError } from '../core/errors.ts';
import type { WorkerClass } from '../core/types.ts';

const workerClasses: WorkerClass[] = [
  { name: 'cpu-1', threads: 1, memoryMB: 1024, pricePerHour: 0.048 },
  { name: 'cpu-2', threads: 2, memoryMB: 2048, pricePerHour: 0.096 },
];

const model = buildTinyModel({ seed: 5 });
const valset = buildTinyValset(50);
const fx = writeFixtures(model, valset);
test.after(() => rmSync(fx.dir, { recursive: true, force: true }));

function job(over: Partial<ProfileJobOptions> = {}): ProfileJobOptions {
  return {
    path: fx.modelPath,
    validationPath: fx.valsetPath,
    artifactId: 'tiny.fp32',
    arch: 'tiny',
    useCase: 'classification/tiny',
    grid: { threads: [1, 2], maxBatch: [1, 8], optLevels: ['all'], runs: 10, warmup: 2 },
    workerClasses,
    effort: { budgetMs: 20, loadRepeats: 2 },
    ...over,
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InfaasError, `expected InfaasError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('profiles in a child process and streams progress', async () => {
  const progress: ProfileProgress[] = [];
  let pid = 0;
  const r = await runProfileJob(job({ onSpawn: (p) => (pid = p) }), (p) => progress.push(p));
  assert.ok(pid > 0 && pid !== process.pid);
  assert.equal(r.accuracy, handAccuracy(model, valset));
  assert.deepEqual(r.variants.map((v) => v.name), ['tiny.fp32.t1.b1.all', 'tiny.fp32.t1.b8.all', 'tiny.fp32.t2.b1.all', 'tiny.fp32.t2.b8.all']);
  for (const v of r.variants) for (const l of v.profile.latency) assert.ok(l.p50 > 0 && l.p95 >= l.p50);
  const last = progress[progress.length - 1];
  assert.equal(last.done, last.total);
});

test('corrupt and incompatible models are INVALID_MODEL, a bad valset INVALID_ARGUMENT', async () => {
  const corrupt = join(fx.dir, 'corrupt.onnx');
  writeFileSync(corrupt, Buffer.from([8, 7, 0x12, 0xff, 0xff, 1, 2, 3]));
  const wrong = join(fx.dir, 'wrong.onnx');
  writeFileSync(wrong, buildTinyModel({ inputShape: [1, 8, 8] }).bytes);
  await Promise.all([
    rejectsWith(runProfileJob(job({ path: corrupt })), 'INVALID_MODEL', /failed to load: ./),
    rejectsWith(runProfileJob(job({ path: wrong })), 'INVALID_MODEL', /\[\?,1,8,8\]/),
    rejectsWith(runProfileJob(job({ validationPath: corrupt })), 'INVALID_ARGUMENT', /not a \.valset/),
  ]);
});

test('a model ONNX Runtime refuses is INVALID_MODEL with its reason, never the server path', async () => {
  const cases: Array<[Parameters<typeof buildBrokenModel>[0], RegExp]> = [
    ['matmul-mismatch', /^model failed to load: Node \(MatMul_probs\) Op \(MatMul\) \[ShapeInferenceError\] Incompatible dimensions/],
    ['dangling-input', /^model failed to load: .*Node input 'ghost' is not a graph input/],
    ['fails-on-run', /^model failed to run on input \[1,1,28,28\]: .*Reshape/],
  ];
  await Promise.all(cases.map(async ([kind, pattern]) => {
    const path = join(fx.dir, `${kind}.onnx`);
    writeFileSync(path, buildBrokenModel(kind));
    await assert.rejects(runProfileJob(job({ path })), (e: unknown) => {
      assert.ok(e instanceof InfaasError, String(e));
      assert.equal(e.code, 'INVALID_MODEL', e.message);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes(fx.dir) && !e.message.includes('onnxruntime_src'), e.message);
      return true;
    });
  }));
  const gone = join(fx.dir, 'missing.valset');
  await rejectsWith(runProfileJob(job({ validationPath: gone })), 'INVALID_ARGUMENT', /^cannot read the validation set \(ENOENT\)$/);
});

test('a child that dies is INTERNAL; a timeout kills the child', async () => {
  await rejectsWith(runProfileJob(job({ onSpawn: (pid) => process.kill(pid, 'SIGKILL') })), 'INTERNAL', /died \(signal SIGKILL\)/);
  let pid = 0;
  await rejectsWith(runProfileJob(job({ timeoutMs: 1, onSpawn: (p) => (pid = p) })), 'DEADLINE_EXCEEDED', /1 ms/);
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(), false, 'the timed-out child must be gone');
});

test('an aborted job is UNAVAILABLE', async () => {
  const ac = new AbortController();
  const p = runProfileJob(job({ signal: ac.signal, onSpawn: () => ac.abort() }));
  await rejectsWith(p, 'UNAVAILABLE', /cancelled/);
});
