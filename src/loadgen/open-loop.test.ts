// Tests of the open-loop load generator: against a slow stand-in HTTP server (open loop: sends never wait for
// replies; errors and timeouts accounted), and against a real INFaaS server with real workers and ONNX Runtime.

import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getTrace } from '../sim/traces.ts';
import { plannedArrivals, runLoad } from './open-loop.ts';
import { zooSamples } from './query-mix.ts';
import { buildReport } from './report.ts';
import { startServer, type RunningServer } from '../bin/server.ts';
import { ZOO_DIR, readZooManifest } from '../zoo/manifest.ts';

const samples = zooSamples('fashion-mnist', 16);

test('open loop: requests go out on schedule while earlier ones are unanswered; errors and timeouts are counted', async () => {
  const received: Array<{ at: number; n: number }> = [];
  let inflight = 0;
  let maxInflight = 0;
  let n = 0;
  const srv = http.createServer((req, res) => {
    if (req.method !== 'POST') return void res.writeHead(404).end('{}'); // the cost look-up afterwards
    const i = n++;
    received.push({ at: performance.now(), n: i });
    req.resume();
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    if (i === 3) return; // never answered: the generator must time it out
    setTimeout(() => {
      inflight--;
      if (i % 5 === 4) {
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'busy', code: 'UNAVAILABLE' }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ variant: 'v1', worker: 'w1' }));
      }
    }, 300);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  try {
    const trace = getTrace('steady-high', { durationS: 1, peakQps: 30 });
    const { report, records } = await runLoad({
      server: `http://127.0.0.1:${port}`, trace, samples, seed: 7, requestTimeoutMs: 1500,
      selection: { level: 'variant', variant: 'v1', latencyMs: 1000 },
    });
    const planned = plannedArrivals(trace, 7, 1e6);
    assert.ok(planned.length >= 15, `planned ${planned.length}`);
    assert.equal(report.requests, planned.length);
    assert.equal(received.length, planned.length);
    assert.deepEqual(records.map((r) => r.scheduledS), planned);
    // Open loop: with replies taking 300 ms, a closed-loop client would have one request outstanding.
    assert.ok(maxInflight >= 4, `at most ${maxInflight} requests were outstanding`);
    // The server saw the requests spaced as planned (tolerance for timers on a shared machine).
    received.sort((a, b) => a.at - b.at);
    for (let i = 0; i < received.length; i++) {
      const gotMs = received[i].at - received[0].at;
      const plannedMs = (planned[i] - planned[0]) * 1000;
      assert.ok(Math.abs(gotMs - plannedMs) < 250, `request ${i}: arrived ${gotMs.toFixed(0)} ms in, planned ${plannedMs.toFixed(0)}`);
    }
    const unavailable = received.filter((r) => r.n % 5 === 4 && r.n !== 3).length;
    assert.equal(report.errors['0 TIMEOUT'], 1);
    assert.equal(report.errors['503 UNAVAILABLE'], unavailable);
    assert.equal(report.ok + unavailable + 1, report.requests);
    assert.equal(report.variants.v1, report.ok);
    assert.equal(report.withinSlo, records.filter((r) => r.status === 200 && r.latencyMs! <= 1000).length);
    assert.equal(report.sloAttainment, report.withinSlo / report.requests);
    assert.ok(report.latency.p50 >= 300, `p50 ${report.latency.p50} below the server's 300 ms`);
    // Timed from its write too: the server's 300 ms at least, and no longer than from its planned send (a send may
    // go up to 0.5 ms early).
    for (const r of records.filter((x) => x.status === 200)) assert.ok(r.sinceWriteMs! >= 299 && r.sinceWriteMs! <= r.latencyMs! + 0.5, JSON.stringify(r));
  } finally {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }
});

test('report: attainment counts errors as misses; cost sums costPer1k × queries over variants', () => {
  const rec = (latencyMs: number | undefined, status: number, variant?: string, code?: string) => ({ scheduledS: 0, sendLagMs: 0, latencyMs, sinceWriteMs: latencyMs && latencyMs - 4, status, variant, code });
  const r = buildReport({
    trace: 't', durationS: 2, sloMs: 10, elapsedS: 2,
    records: [rec(5, 200, 'a'), rec(9, 200, 'a'), rec(20, 200, 'b'), rec(3, 422, undefined, 'SLO_UNSATISFIABLE'), rec(undefined, 0, undefined, 'TIMEOUT')],
    costs: new Map([['a', { costPer1k: 0.01 }], ['b', { costPer1k: 0.1 }]]),
  });
  assert.equal(r.requests, 5);
  assert.equal(r.ok, 3);
  assert.equal(r.withinSlo, 2);
  assert.equal(r.sloAttainment, 2 / 5);
  assert.deepEqual(r.errors, { '422 SLO_UNSATISFIABLE': 1, '0 TIMEOUT': 1 });
  assert.equal(r.latency.p50, 9);
  assert.equal(r.latency.p99, 20);
  // From the write, 4 ms less each: 1, 5 and 16 ms, one of three late.
  assert.deepEqual(r.sinceWrite, { late: 1, lateShare: 1 / 3, p50: 5, p99: 16, max: 16 });
  const timed = buildReport({ trace: 't', durationS: 1, sloMs: 10, elapsedS: 1, records: [{ ...rec(5, 200, 'a'), serverMs: 11 }, { ...rec(5, 200, 'a'), serverMs: 3 }, rec(5, 200, 'a')] });
  assert.deepEqual(timed.serverLate, { late: 1, lateShare: 1 / 3 });
  assert.equal(r.offeredQps, 2.5);
  assert.equal(r.achievedQps, 1.5);
  assert.ok(Math.abs(r.queryCost! - (0.01 * 2 + 0.1) / 1000) < 1e-15);
  assert.ok(Math.abs(r.costPer1k! - (0.12 / 3)) < 1e-12);
  const empty = buildReport({ trace: 't', durationS: 1, sloMs: 10, elapsedS: 0, records: [] });
  assert.equal(empty.sloAttainment, 1);
  assert.equal(empty.queryCost, undefined);
  assert.equal(empty.sinceWrite.lateShare, 0);
});

describe('against a real server', () => {
  let dataDir: string;
  let server: RunningServer;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'infaas-loadgen-'));
    server = await startServer({ dataDir, demo: false, config: { port: 0, profiling: { threads: [1], maxBatch: [1, 8], optLevels: ['all'], runs: 5, warmup: 1 } } });
    const uc = readZooManifest().useCases.find((u) => u.dataset === 'fashion-mnist')!;
    const art = uc.architectures.find((a) => a.name === 'fmnist-linear')!.artifacts[0];
    const f = new FormData();
    for (const [k, v] of Object.entries({ task: 'classification', dataset: 'fashion-mnist', arch: 'fmnist-linear' })) f.append(k, v);
    f.append('model', new Blob([readFileSync(join(ZOO_DIR, art.file))]), 'model.onnx');
    f.append('validation', new Blob([readFileSync(join(ZOO_DIR, uc.validation))]), 'val.valset');
    let reg = ((await (await fetch(`${server.url}/v1/models`, { method: 'POST', body: f })).json()) as any).registration;
    while (reg.state === 'PROFILING') {
      await new Promise((r) => setTimeout(r, 50));
      reg = ((await (await fetch(`${server.url}/v1/registrations/${reg.id}`)).json()) as any).registration;
    }
    assert.equal(reg.state, 'SUCCEEDED', reg.error);
  });
  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('replays a short steady trace: every request accounted for, served by the registered model, costed', async () => {
    const trace = getTrace('steady-low', { durationS: 2, peakQps: 60 });
    const { report, records } = await runLoad({
      server: server.url, trace, samples, seed: 3, classPrices: new Map([['cpu-2', 0.096]]),
      selection: { level: 'usecase', task: 'classification', dataset: 'fashion-mnist', minAccuracy: 50, latencyMs: 1000 },
    });
    assert.equal(report.requests, plannedArrivals(trace, 3, 1e6).length);
    assert.ok(report.requests >= 10);
    assert.equal(records.length, report.requests);
    assert.deepEqual(report.errors, {}, JSON.stringify(report.errors));
    assert.equal(report.ok, report.requests);
    for (const v of Object.keys(report.variants)) assert.match(v, /^fmnist-linear\.fp32\.t1\.b(1|8)\.all$/);
    assert.equal(report.withinSlo, records.filter((r) => r.latencyMs! <= 1000).length);
    assert.equal(report.sloAttainment, report.withinSlo / report.requests);
    assert.ok(report.queryCost! > 0 && report.workerCost! > 0);
    assert.ok(records.every((r) => r.serverMs! > 0 && r.serverMs! <= r.sinceWriteMs!), 'each reply says its server-side time');
    assert.ok(report.generatorLag!.max >= report.generatorLag!.p99 && report.generatorLag!.p99 >= 0);
    assert.equal(report.maxWorkers, 1);
    // One cpu-2 worker watched for the run (≥ 2 s): its price × the watched time, within the run's bounds.
    assert.ok(report.workerCost! >= (0.096 * 1.5) / 3600 && report.workerCost! <= (0.096 * 10) / 3600, String(report.workerCost));
    const unsat = await runLoad({
      server: server.url, trace: getTrace('steady-low', { durationS: 0.5, peakQps: 40 }), samples, seed: 4,
      selection: { level: 'usecase', task: 'classification', dataset: 'fashion-mnist', minAccuracy: 99.9, latencyMs: 1000 },
    });
    assert.equal(unsat.report.ok, 0);
    assert.equal(unsat.report.errors['422 SLO_UNSATISFIABLE'], unsat.report.requests);
    assert.equal(unsat.report.sloAttainment, unsat.report.requests ? 0 : 1);
  });
});
