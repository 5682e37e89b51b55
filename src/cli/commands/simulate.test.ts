// Tests for `infaas simulate` through the real CLI entry: table, --json, the SVG chart, a stored data dir,
// and usage errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '../../metadata/embedded/log-store.ts';
import { keys } from '../../metadata/metadata-store.ts';
import { zooVariants } from '../../sim/variant-source.ts';
import { runCli } from '../main.ts';
import type { CliContext } from '../cli-context.ts';

function ctx(): CliContext & { out: string; err: string } {
  const c = {
    out: '', err: '', stderrIsTTY: false, env: {},
    stdout(t: string) { c.out += t; },
    stderr(t: string) { c.err += t; },
    loadServer: () => Promise.reject(new Error('no server in this test')),
    loadWorker: () => Promise.reject(new Error('no worker in this test')),
  };
  return c;
}

test('prints a policy × trace table and writes a well-formed SVG chart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  try {
    const c = ctx();
    const chart = join(dir, 'out.svg');
    const rc = await runCli(['simulate', '--trace', 'steady-low,bursty', '--policy', 'all', '--duration', '15', '--peak-qps', '300', '--chart', chart], c);
    assert.equal(rc, 0, c.err);
    const lines = c.out.trim().split('\n');
    assert.match(lines[0], /^TRACE\s+POLICY\s+QUERIES\s+VIOL_%/);
    for (const p of ['ours', 'infaas', 'static-peak', 'replica-only']) assert.equal(lines.filter((l) => l.split(/\s+/)[1] === p).length, 2, p);
    const svg = readFileSync(chart, 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<rect [^>]*fill="#/g) ?? []).length, 4 + 2 * 2 * 4, 'legend + violation and cost bars');
    assert.match(svg, /<path d="M/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--json carries every run with its metrics; the same seed reproduces it', async () => {
  const run = async () => {
    const c = ctx();
    assert.equal(await runCli(['simulate', '--trace', 'flux', '--policy', 'ours', '--duration', '10', '--peak-qps', '200', '--seed', '3', '--json'], c), 0, c.err);
    return JSON.parse(c.out) as { runs: Array<Record<string, number | string>> };
  };
  const a = await run();
  assert.equal(a.runs.length, 1);
  assert.equal(a.runs[0].policy, 'ours');
  assert.equal(a.runs[0].trace, 'flux');
  for (const k of ['violationRate', 'cost', 'avgAccuracy', 'utilisation', 'p99Ms', 'queries']) assert.equal(typeof a.runs[0][k], 'number', k);
  const b = await run();
  assert.equal(a.runs[0].queries, b.runs[0].queries);
  assert.equal(a.runs[0].cost, b.runs[0].cost);
});

test('--overhead-ms adds a fixed time to every query; a negative one is refused', async () => {
  const run = async (extra: string[]) => {
    const c = ctx();
    assert.equal(await runCli(['simulate', '--trace', 'steady-low', '--policy', 'static-peak', '--duration', '5', '--peak-qps', '200', '--json', ...extra], c), 0, c.err);
    return (JSON.parse(c.out) as { runs: Array<{ p50Ms: number }> }).runs[0];
  };
  const [none, some] = [await run([]), await run(['--overhead-ms', '3'])];
  assert.ok(Math.abs(some.p50Ms - none.p50Ms - 3) < 0.5, `${none.p50Ms} -> ${some.p50Ms}`);
  const bad = ctx();
  assert.notEqual(await runCli(['simulate', '--overhead-ms', '-1'], bad), 0);
  assert.match(bad.err, /overhead-ms/);
});

test('--data-dir reads the variants registered in its metadata store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-data-'));
  try {
    const store = await EmbeddedStore.open(dir);
    for (const v of zooVariants({ latencyScale: 1 }).filter((x) => x.useCase === 'classification/mnist')) await store.set(keys.variant(v.name), v);
    await store.close();
    const c = ctx();
    assert.equal(await runCli(['simulate', '--trace', 'steady-low', '--policy', 'static-peak', '--duration', '5', '--peak-qps', '500', '--data-dir', dir, '--json'], c), 0, c.err);
    const out = JSON.parse(c.out) as { source: string; runs: Array<{ queries: number }> };
    assert.equal(out.source, dir);
    assert.ok(out.runs[0].queries > 300, String(out.runs[0].queries)); // ~100 qps × 5 s
    const empty = mkdtempSync(join(tmpdir(), 'sim-empty-'));
    const e = ctx();
    assert.notEqual(await runCli(['simulate', '--data-dir', empty, '--duration', '5'], e), 0);
    assert.match(e.err, /no variants are registered/);
    rmSync(empty, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown traces and policies, and bad numbers, are usage errors naming the valid values', async () => {
  const c = ctx();
  assert.equal(await runCli(['simulate', '--trace', 'spiky'], c), 2);
  assert.match(c.err, /unknown trace "spiky"; valid traces: steady-low, steady-high, flux, bursty, diurnal/);
  const d = ctx();
  assert.equal(await runCli(['simulate', '--policy', 'magic', '--duration', '5'], d), 2);
  assert.match(d.err, /valid policies: ours, infaas, static-peak, replica-only/);
  const e = ctx();
  assert.equal(await runCli(['simulate', '--duration', '-3'], e), 2);
  assert.match(e.err, /--duration/);
});
