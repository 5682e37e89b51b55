// Tests of `infaas loadgen` flags (through runCli, in-process): usage errors exit 2 before any traffic, an
// unreachable server exits 3, and a short run against a stand-in server prints the report table.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { runCliCaptured } from '../testing/run-cli.ts';

const run = (argv: string[]) => runCliCaptured(argv);

test('loadgen usage errors exit 2 with a clear message', async () => {
  const cases: [string[], RegExp][] = [
    [['loadgen'], /missing --trace NAME \(one of steady-low, steady-high, flux, bursty, diurnal\)/],
    [['loadgen', '--trace', 'spiky'], /unknown trace "spiky"; valid traces: steady-low/],
    [['loadgen', '--trace', 'flux', '--duration', '0'], /--duration must be greater than 0/],
    [['loadgen', '--trace', 'flux', '--duration', '7200'], /--duration must be at most 3600/],
    [['loadgen', '--trace', 'flux', '--peak-qps', 'lots'], /--peak-qps must be a number, got "lots"/],
    [['loadgen', '--trace', 'flux', '--min-accuracy', '101'], /--min-accuracy must be at most 100/],
    [['loadgen', '--trace', 'flux', '--latency-ms=-1'], /--latency-ms must be greater than 0/],
    [['loadgen', '--trace', 'flux', '--arch', 'a', '--variant', 'v'], /give one selection level/],
    [['loadgen', '--trace', 'flux', '--arch', 'a', '--task', 'classification'], /give one selection level/],
    [['loadgen', '--trace', 'flux', '--seed', '1.5'], /--seed must be a whole number/],
    [['loadgen', '--trace', 'flux', '--dataset', 'cifar'], /the zoo has no validation set for dataset "cifar"/],
    [['loadgen', '--trace', 'flux', '--valset', '/nonexistent.valset'], /cannot read validation set \/nonexistent\.valset: ENOENT/],
    [['loadgen', '--trace', 'flux', '--server', 'ftp://x'], /--server must be an http\(s\) URL/],
  ];
  for (const [argv, re] of cases) {
    const r = await run(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, argv.join(' '));
  }
});

test('loadgen: an unreachable server exits 3; a short run prints the report table', async () => {
  const down = await run(['loadgen', '--trace', 'steady-low', '--server', 'http://127.0.0.1:9']);
  assert.equal(down.code, 3);
  assert.match(down.stderr, /cannot reach the server at http:\/\/127\.0\.0\.1:9/);

  const srv = http.createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/v1/infer')) res.writeHead(200).end(JSON.stringify({ variant: 'm.fp32.t1.b8.all', worker: 'w1' }));
    else if (req.url?.startsWith('/v1/variants/')) res.writeHead(200).end(JSON.stringify({ variant: { profile: { costPer1k: 0.002, workerClass: 'cpu-1' } } }));
    else if (req.url === '/v1/workers') res.writeHead(200).end(JSON.stringify({ workers: [{ workerClass: 'cpu-2' }] }));
    else res.writeHead(200).end('{}');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    const r = await run(['loadgen', '--trace', 'steady-high', '--duration', '0.5', '--peak-qps', '20', '--server', url, '-l', '20']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^METRIC +VALUE/);
    assert.match(r.stdout, /SLO attainment +\d+\.\d% \(\d+ of \d+ answered within 20 ms\)/);
    assert.match(r.stdout, /cost \(per query\) +\$[\d.e-]+ \(Σ variant costPer1k/);
    assert.match(r.stdout, /m\.fp32\.t1\.b8\.all +\d+/);
    const j = await run(['loadgen', '--trace', 'steady-high', '--duration', '0.3', '--peak-qps', '20', '--server', url, '--json']);
    assert.equal(j.code, 0, j.stderr);
    const rep = JSON.parse(j.stdout);
    assert.equal(rep.ok, rep.requests);
    assert.equal(rep.sloMs, 50);
    assert.ok(rep.workerCost > 0);
  } finally {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }
});
