// Tests of `infaas plan` (through runCli, in-process): the table and JSON on the example files, JSON and CSV
// model files, and usage errors (exit 2) for bad flags and bad files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliCaptured } from '../testing/run-cli.ts';

const run = (argv: string[]) => runCliCaptured(argv);

test('plan on the 78-model example reproduces the study: 23 accelerator instances at the lower bound', async () => {
  const r = await run(['plan', '--models', 'examples/plan/78-models.json', '--classes', 'examples/plan/study-classes.json', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.items, 78);
  assert.equal(j.computeCap, 0.83);
  const accel = j.perClass.find((c: any) => c.workerClass.name === 'accel-2xlarge');
  assert.equal(accel.bestFitDecreasing.workers, 23);
  assert.equal(accel.bestFitDecreasing.gap, 0);
  assert.ok(accel.firstFitDecreasing.workers >= accel.bestFitDecreasing.workers);
  assert.equal(accel.bestFitDecreasing.bins.reduce((s: number, b: any) => s + b.models, 0), 78);
  const text = await run(['plan', '--models', 'examples/plan/3000-models.json']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^3000 models: /);
  assert.match(text.stdout, /^cpu-2 +best-fit\+prune +\d+ +\d+ +\d+ /m);
  assert.match(text.stdout, /\ncheapest: \d+ × cpu-\d at \$[\d.]+\/hour/);
});

test('plan reads CSV and JSON model files; compute from qps × latency', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-plan-'));
  try {
    const csv = join(dir, 'm.csv');
    writeFileSync(csv, 'name,memoryMB,qps,latencyMs\na,600,100,5\nb,600,100,5\nc,600,0,0\n');
    const r = await run(['plan', '--models', csv, '--json', '--compute-cap', '1']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.totals.compute, 1); // 2 × 100 qps × 5 ms
    const cpu1 = j.perClass.find((c: any) => c.workerClass.name === 'cpu-1').bestFitDecreasing;
    assert.equal(cpu1.workers, 3); // memory: 600 + 600 > 1024
    assert.equal(cpu1.lowerBound, 2);
    const json = join(dir, 'm.json');
    writeFileSync(json, JSON.stringify({ models: [{ name: 'x', memoryMB: 10, compute: 0.5 }] }));
    assert.equal((await run(['plan', '--models', json])).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plan usage errors exit 2 with a clear message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-plan-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  try {
    const cases: [string[], RegExp][] = [
      [['plan'], /missing --models FILE/],
      [['plan', '--models', '/nonexistent.json'], /cannot read models file \/nonexistent\.json: ENOENT/],
      [['plan', '--models', file('a.json', '[{"name":"a"}]')], /model 1 \(a\): memoryMB is missing/],
      [['plan', '--models', file('b.json', '[{"name":"a","memoryMB":1,"qps":3}]')], /give compute, or both qps and latencyMs/],
      [['plan', '--models', file('c.json', '{oops')], /is not valid JSON/],
      [['plan', '--models', file('d.csv', 'model,size\na,1\n')], /CSV header must name the columns/],
      [['plan', '--models', file('e.json', '[{"name":"big","memoryMB":99999,"compute":0}]')], /model big fits no worker class: on the largest, cpu-4, it needs 99999 MiB/],
      [['plan', '--models', file('f.json', '[]')], /lists no models/],
      [['plan', '--models', file('g.json', '[{"name":"a","memoryMB":1}]'), '--compute-cap', '1.5'], /--compute-cap must be at most 1/],
      [['plan', '--models', file('h.json', '[{"name":"a","memoryMB":1}]'), '--classes', file('k.json', '[{"name":"x"}]')], /class 1 must be \{name, memoryMB > 0/],
      [['plan', '--models', 'x', 'extra'], /unexpected argument "extra"/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, argv.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
