// Tests of worker option parsing (argv with environment fallbacks) and its inverse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InfaasError } from '../core/errors.ts';
import { parseWorkerOptions, workerArgv } from './worker-options.ts';

const codeOf = (e: unknown) => (e as InfaasError).code;

test('argv wins over the environment; defaults fill the rest', () => {
  const o = parseWorkerOptions(['--id=w3', '--memory-mb=512', '--threads=2'], { INFAAS_WORKER_ID: 'w9', INFAAS_WORKER_REPOSITORY: '/models' });
  assert.deepEqual(o, { id: 'w3', workerClass: 'cpu-2', threads: 2, memoryBudgetMB: 512, repository: '/models', listen: { host: '127.0.0.1', port: 0 } });
  assert.deepEqual(parseWorkerOptions(workerArgv(o)), o);
  const u = parseWorkerOptions(['--id=w1', '--memory-mb=64', '--repository=/r', '--socket=/tmp/w1.sock']);
  assert.deepEqual(u.listen, { path: '/tmp/w1.sock' });
  assert.deepEqual(parseWorkerOptions(workerArgv(u)), u);
  const b = parseWorkerOptions(['--id=w1', '--memory-mb=64', '--repository=/r'], { INFAAS_WORKER_BATCH_WAIT_MS: '3.5' });
  assert.equal(b.maxBatchWaitMs, 3.5);
  assert.deepEqual(parseWorkerOptions(workerArgv(b)), b);
  assert.throws(() => parseWorkerOptions(['--id=w1', '--memory-mb=64', '--repository=/r', '--batch-wait-ms=-1']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});

test('a worker given a metadata store may leave its class, memory and repository to the cluster', () => {
  const o = parseWorkerOptions(['--id=h1-7', '--worker-class=cpu-2', '--host=0.0.0.0', '--port=7070', '--advertise=10.0.0.5:7070'], { INFAAS_METADATA_URL: 'redis://r:6379/0' });
  assert.deepEqual(o, { id: 'h1-7', workerClass: 'cpu-2', listen: { host: '0.0.0.0', port: 7070 }, advertise: '10.0.0.5:7070', metadata: 'redis://r:6379/0' });
  assert.deepEqual(parseWorkerOptions(workerArgv(o)), o);
  const full = parseWorkerOptions(['--id=w1', '--threads=1', '--memory-mb=64', '--price-per-hour=0.05', '--repository=s3://b/p', '--cache-dir=/c', '--metadata=redis://r:1/2']);
  assert.deepEqual(parseWorkerOptions(workerArgv(full)), full);
  assert.throws(() => parseWorkerOptions(['--id=w1', '--metadata=redis://r:1/0']), (e) => codeOf(e) === 'INVALID_ARGUMENT' && /--worker-class/.test((e as Error).message));
  assert.throws(() => parseWorkerOptions(['--id=w1', '--worker-class=x', '--metadata=redis://r:1/0', '--advertise=nohost']), (e) => codeOf(e) === 'INVALID_ARGUMENT' && /HOST:PORT/.test((e as Error).message));
});

test('missing or bad options are INVALID_ARGUMENT', () => {
  assert.throws(() => parseWorkerOptions(['--memory-mb=1', '--repository=/r']), (e) => codeOf(e) === 'INVALID_ARGUMENT' && /--id/.test((e as Error).message));
  assert.throws(() => parseWorkerOptions(['--id=w1', '--repository=/r']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => parseWorkerOptions(['--id=w1', '--memory-mb=abc', '--repository=/r']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => parseWorkerOptions(['--id=w1', '--memory-mb=64', '--repository=/r', '--threads=1.5']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => parseWorkerOptions(['--bogus=1']), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});
