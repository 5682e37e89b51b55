// Tests of worker option parsing (argv with environment fallbacks) and its inverse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InfaasError } from '../core/errors.ts';
import { parseWorkerOptions, workerArgv } from './worker-options.ts';

const codeOf = (e: unknown) => (e as InfaasError).code;

test('argv wins over the environment; defaults fill the rest', () => {
  const o = parseWorkerOptions(['--id=w3', '--memory-mb=512', '--threads=2'], { INFAAS_WORKER_ID: 'w9', INFAAS_WORKER_REPOSITORY: '/models' });
  assert.deepEqual(o, { id: 'w3', workerClass: 'cpu-2', threads: 2, memoryBudgetMB: 512, repositoryRoot: '/models', listen: { host: '127.0.0.1', port: 0 } });
  assert.deepEqual(parseWorkerOptions(workerArgv(o)), o);
  const u = parseWorkerOptions(['--id=w1', '--memory-mb=64', '--repository=/r', '--socket=/tmp/w1.sock']);
  assert.deepEqual(u.listen, { path: '/tmp/w1.sock' });
  assert.deepEqual(parseWorkerOptions(workerArgv(u)), u);
  const b = parseWorkerOptions(['--id=w1', '--memory-mb=64', '--repository=/r'], { INFAAS_WORKER_BATCH_WAIT_MS: '3.5' });
  assert.equal(b.maxBatchWaitMs, 3.5);
  assert.deepEqual(parseWorkerOptions(workerArgv(b)), b);
  assert.throws(() => parseWorkerOptions(['--id=w1', '--memory-mb=64', '--repository=/r', '--batch-wait-ms=-1']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});

test('missing or bad options are INVALID_ARGUMENT', () => {
  assert.throws(() => parseWorkerOptions(['--memory-mb=1', '--repository=/r']), (e) => codeOf(e) === 'INVALID_ARGUMENT' && /--id/.test((e as Error).message));
  assert.throws(() => parseWorkerOptions(['--id=w1', '--repository=/r']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => parseWorkerOptions(['--id=w1', '--memory-mb=abc', '--repository=/r']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => parseWorkerOptions(['--id=w1', '--memory-mb=64', '--repository=/r', '--threads=1.5']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => parseWorkerOptions(['--bogus=1']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});
