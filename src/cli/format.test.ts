// Tests of CLI text formatting: tables, numbers, the variant table, SLO alternatives and the progress bar.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alternativesText, money, ms, table, variantTable } from './format.ts';
import { ProgressReporter, progressBar } from './progress.ts';
import { makeVariant } from './testing/stand-in-server.ts';
import { queryText } from './commands/query.ts';
import { workersText } from './commands/workers.ts';

test('table pads text left and numbers right, and trims trailing spaces', () => {
  const t = table(['NAME', 'N', 'NOTE'], [['a', 1, 'x'], ['long-name', 12.5, '']]);
  assert.equal(t, 'NAME          N  NOTE\na             1  x\nlong-name  12.5\n');
});

test('numbers are formatted to a precision that suits their size', () => {
  assert.deepEqual([0.0421, 1.254, 12.54, 125.4, 0, undefined].map(ms), ['0.042', '1.25', '12.5', '125', '0', '-']);
  assert.deepEqual([0.096, 0.0000026, 3.06, 0].map(money), ['0.10', '0.0000026', '3.06', '0']);
});

test('the variant table shows batch-1 p50/p95 and p95 at max batch for each variant', () => {
  const t = variantTable([makeVariant('fmnist-cnn-m', 1, 8), makeVariant('fmnist-cnn-m', 2, 16)]);
  const [head, r1, r2] = t.trimEnd().split('\n');
  assert.deepEqual(head.split(/\s+/), ['VARIANT', 'THREADS', 'MAX_BATCH', 'OPT', 'ACC_%', 'LOAD_MS', 'P50@1_MS', 'P95@1_MS', 'P95@MAX_MS', 'MEM_MB', 'PEAK/S', 'CLASS', '$/H', '$/1K']);
  assert.deepEqual(r1.split(/\s+/), ['fmnist-cnn-m.fp32.t1.b8.all', '1', '8', 'all', '89.25', '21.5', '0.412', '0.533', '1.56', '12.4', '5120', 'cpu-1', '0.05', '0.0000026']);
  assert.equal(r2.split(/\s+/)[11], 'cpu-2');
  assert.equal(head.indexOf('THREADS') + 'THREADS'.length, r1.indexOf(' 1 ') + 2, 'numeric column right-aligned under its header');
});

test('alternatives of SLO_UNSATISFIABLE become readable lines; no alternatives, no lines', () => {
  const lines = alternativesText({ alternatives: { fastestMeetingAccuracy: { variant: 'v1', p95Ms: 2.345, accuracy: 91.2 } } });
  assert.deepEqual(lines.slice(0, 2), ['alternatives:', '  fastest variant meeting the accuracy:     v1 (p95 2.35 ms, accuracy 91.20%)']);
  assert.deepEqual(alternativesText({}), []);
  assert.deepEqual(alternativesText(undefined), []);
});

test('progress bar: cells filled in proportion; redrawn in place on a TTY, one line per change otherwise', () => {
  assert.equal(progressBar(12, 40, 'profiling t2 all b8'), '[###.......] 12/40 profiling t2 all b8');
  assert.equal(progressBar(0, 0, ''), '[..........] 0/0');
  let tty = '';
  const a = new ProgressReporter((s) => (tty += s), true);
  a.update(1, 2, 'x');
  a.update(1, 2, 'x');
  a.update(2, 2, 'y');
  a.finish();
  assert.equal(tty, '\r\x1b[2K[#####.....] 1/2 x\r\x1b[2K[##########] 2/2 y\n');
  let plain = '';
  const b = new ProgressReporter((s) => (plain += s), false);
  b.update(1, 2, 'x');
  b.update(1, 2, 'x');
  b.finish();
  assert.equal(plain, 'progress [#####.....] 1/2 x\n');
});

test('query text names inputs by file when the batch matches, by sample number otherwise', () => {
  const reply = {
    variant: 'v', arch: 'a', worker: 'w1', coldStart: false, batch: 2,
    outputs: [{ name: 'y', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }],
    timing: { queueMs: 0, loadMs: 0, inferenceMs: 1, totalMs: 1.5 },
  };
  const t = queryText(reply, ['only-one.f32']);
  assert.match(t, /cold start {2}no/);
  assert.match(t, /\[1\] sample 1\n {4}y \[3\]: 1 2 3\n\n\[2\] sample 2\n {4}y \[3\]: 4 5 6\n$/);
});

test('workers text lists workers, then each loaded variant with its state', () => {
  assert.equal(workersText({ workers: [] }), 'no workers running\n');
  assert.equal(workersText({ workers: [], autoscaling: { policy: 'off' } }), 'no workers running\n\nautoscaling: off\n');
  const scaling = workersText({ workers: [], autoscaling: { policy: 'ours', maxWorkers: 2, recent: ['a', 'b', 'c', 'd', 'e', 'addWorker cpu-1'] } });
  assert.match(scaling, /autoscaling: ours, at most 2 workers; last actions: b; c; d; e; addWorker cpu-1\n$/);
  assert.match(workersText({ workers: [], autoscaling: { policy: 'ours', maxWorkers: 1 } }), /at most 1 worker; last actions: none yet/);
  assert.match(workersText({ workers: [], autoscaling: { policy: 'ours', maxWorkers: 4, schedule: { leadS: 15, expectedQps: 800 } } }),
    /at most 4 workers; load schedule: 800\/s expected within 15 s; last actions: none yet/);
  const distributed = workersText({ workers: [], autoscaling: {
    policy: 'ours', maxWorkers: 4, leadership: { controller: 'c2', leader: false, leaderId: 'c1' },
    refusedWorkers: [{ id: 'old', address: 'tcp://h:7070', protocol: 1, reason: 'speaks worker protocol 1 and this controller speaks 2: run controllers and workers of the same release' }],
  } });
  assert.match(distributed, /\ncontroller c2: follows \(the loop runs on c1\)\nnot used: worker old at tcp:\/\/h:7070: it speaks worker protocol 1/);
  const t = workersText({ workers: [{ id: 'w1', workerClass: 'cpu-2', address: 'a', startedAt: 0, updatedAt: 0, memoryBudgetMB: 2048, memoryUsedMB: 100, replicas: [{ variant: 'v', state: 'overloaded', queued: 7, lastUsedAt: 0, memoryMB: 10 }] }] });
  assert.match(t, /w1\s+cpu-2\s+100\.0\s+2048\s+1\s+a/);
  assert.match(t, /w1\s+v\s+overloaded\s+7\s+10\.0\s+-\s+-/);
  const stats = {
    arrivalQps: 456.4, completedQps: 456.4, queueLength: 0, avgBatch: 9.96, avgMs: 5.6, p50Ms: 1.04, p95Ms: 13.86, e2eP95Ms: 18.94, replicas: 1,
    e2eP50Ms: 14.2, arrivalRps: 45.8, completedRps: 45.8, outstanding: 0, runs: 46, rejected: 0, profileP50Ms: 5.61, profileP95Ms: 5.77, windowMs: 1003,
  };
  const withStats = workersText({ workers: [{ id: 'w1', workerClass: 'cpu-2', address: 'a', startedAt: 0, updatedAt: 0, memoryBudgetMB: 2048, memoryUsedMB: 100, replicas: [{ variant: 'v', state: 'active', queued: 0, lastUsedAt: 0, memoryMB: 10, stats }] }] });
  assert.match(withStats, /w1\s+v\s+active\s+0\s+10\.0\s+456\.4\s+10\.0\s+13\.860\s+18\.940/);
});
