// The model check process: real ONNX Runtime in a real child process, on models ORT loads and on ones it refuses.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import { ModelChecker } from './model-check.ts';
import { buildBrokenModel, buildTinyModel } from './test-fixtures.ts';

const SHAPE = [1, 28, 28];
const checker = new ModelChecker();
after(() => checker.close());

async function refused(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InfaasError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(e.message.length < 400 && !e.message.includes('onnxruntime_src'), e.message);
    return true;
  });
}

test('a model ORT loads and runs passes; one child serves every check', async () => {
  await checker.check({ model: buildTinyModel().bytes, inputShape: SHAPE, optLevels: ['basic', 'all'] });
  const pid = checker.pid;
  assert.ok(pid && pid !== process.pid);
  await checker.check({ model: buildTinyModel({ inputShape: [4], classes: 3 }).bytes, inputShape: [4] });
  assert.equal(checker.pid, pid);
});

test('models ORT refuses are INVALID_MODEL with its reason, and the child keeps serving', async () => {
  const pid = checker.pid;
  await Promise.all([
    refused(checker.check({ model: buildBrokenModel('matmul-mismatch'), inputShape: SHAPE }), 'INVALID_MODEL', /^ONNX Runtime cannot load the model: Node \(MatMul_probs\) Op \(MatMul\) \[ShapeInferenceError\] Incompatible dimensions for matrix multiplication$/),
    refused(checker.check({ model: buildBrokenModel('dangling-input'), inputShape: SHAPE }), 'INVALID_MODEL', /^ONNX Runtime cannot load the model: .*Node input 'ghost' is not a graph input/),
    refused(checker.check({ model: buildBrokenModel('fails-on-run'), inputShape: SHAPE }), 'INVALID_MODEL', /^the model failed to run on a zero input of shape \[1,1,28,28\]: .*Reshape/),
    refused(checker.check({ model: buildBrokenModel('runs-at-batch-1-only'), inputShape: SHAPE }), 'INVALID_MODEL', /^the model failed to run on a zero input of shape \[2,1,28,28\]/),
  ]);
  await checker.check({ model: buildBrokenModel('runs-at-batch-1-only'), inputShape: SHAPE, batches: [1] });
  assert.equal(checker.pid, pid);
});

test('a crash of ORT is the model\'s fault; a timeout or an abort is not, and the next check gets a fresh child', async () => {
  const crashing = new ModelChecker({ onSpawn: (pid) => process.kill(pid, 'SIGSEGV') });
  await refused(crashing.check({ model: buildTinyModel().bytes, inputShape: SHAPE }), 'INVALID_MODEL', /^ONNX Runtime crashed \(SIGSEGV\) while loading or running the model$/);
  await crashing.close();

  const slow = new ModelChecker({ timeoutMs: 1 });
  await refused(slow.check({ model: buildTinyModel().bytes, inputShape: SHAPE }), 'DEADLINE_EXCEEDED', /within 1 ms/);
  assert.equal(slow.pid, undefined, 'the timed-out child is stopped');
  await slow.close();

  const ac = new AbortController();
  const aborted = checker.check({ model: buildTinyModel().bytes, inputShape: SHAPE, signal: ac.signal });
  ac.abort();
  await refused(aborted, 'UNAVAILABLE', /cancelled/);
  await checker.check({ model: buildTinyModel().bytes, inputShape: SHAPE });
});

test('after close, checks are refused as UNAVAILABLE', async () => {
  const c = new ModelChecker();
  await c.close();
  await refused(c.check({ model: buildTinyModel().bytes, inputShape: SHAPE }), 'UNAVAILABLE', /shutting down/);
});
