// The fuzzing harness as a test: with a fixed seed, a few hundred generated cases through each pure parser in
// process and through the REST API of one real server on loopback; every case must pass the oracle or fail in a way
// known-failures.ts lists. Then the regression case of every failure found so far (todo while it is listed), and
// the server's memory and the files it left outside its data dir. bench/fuzz.ts runs the same with 100,000+ cases.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliTarget, configTarget, imageTarget, onnxTarget, profileTarget, queryInputTarget, querySpecTarget, valsetTarget } from './parser-targets.ts';
import { startFuzzServer, type FuzzServer } from './fuzz-server.ts';
import { httpTarget } from './http-target.ts';
import { assertFuzz, FuzzStats, type Target } from './runner.ts';
import { KNOWN_FAILURES, knownFailure } from './known-failures.ts';
import { HTTP_REGRESSIONS, LOCAL_REGRESSIONS } from './regressions.ts';

const SEED = 20261211;
const HTTP_RUNS = 250;
/** Growth of resident memory across the run above which the server (or a worker) is said to leak, MiB. */
const RSS_GROWTH_LIMIT_MB = 256;

/** Runs a regression as a todo while its defect is listed in known-failures.ts. */
function todo(id: string | undefined): { todo?: string } {
  const k = id ? KNOWN_FAILURES.find((x) => x.id === id) : undefined;
  return k ? { todo: `known failure ${k.id}: ${k.issue}` } : {};
}

function summary(stats: FuzzStats): string {
  const known = [...stats.findings.values()].filter((f) => f.known);
  const rows = [...stats.rows.values()].map((r) => `${r.row}: ${r.cases} cases`).join('; ');
  return `${rows}\nknown failures seen: ${known.length ? known.map((f) => `${f.known!.id} (${f.row}: ${f.kind}, ${f.count}x)`).join('; ') : 'none'}`;
}

describe('fuzzing the pure parsers in process', () => {
  const stats = new FuzzStats();
  const config = configTarget();
  const targets: Array<[Target<any>, number]> = [
    [querySpecTarget, 500], [queryInputTarget, 300], [imageTarget(), 150], [valsetTarget, 400],
    [profileTarget, 400], [onnxTarget, 200], [config, 200], [cliTarget, 400],
  ];
  after(() => {
    config.dispose();
    console.log(summary(stats));
  });

  for (const [t, n] of targets) {
    it(`${t.name}: ${n} cases`, async () => {
      await assertFuzz(t, stats, SEED, n);
    });
  }

  describe('regressions', () => {
    for (const r of LOCAL_REGRESSIONS) {
      it(r.name, todo(r.known), async (t) => {
        const v = await r.run();
        if (!v && todo(r.known).todo) t.diagnostic(`passes now: delete ${r.known} from known-failures.ts once its fix is committed`);
        assert.equal(v, undefined, v && `${v.kind}: ${v.detail.slice(0, 300)}`);
      });
    }
  });
});

describe('fuzzing the REST API of a real server', () => {
  let server: FuzzServer;
  let startRss: { serverMB: number; workersMB: number[] };
  let left: { homeLeft: string[]; tmpLeft: string[] } | undefined;
  const stats = new FuzzStats();

  before(async () => {
    server = await startFuzzServer();
    startRss = await server.rss();
  });
  after(async () => {
    if (!left) await server?.stop();
    console.log(summary(stats));
  });

  it(`${HTTP_RUNS} generated requests: each 2xx or a clear 4xx within 10 s, and GET /v1/health answers after each`, async () => {
    await assertFuzz(httpTarget(server, { images: { heavy: false } }), stats, SEED, HTTP_RUNS);
  });

  describe('regressions', () => {
    for (const r of HTTP_REGRESSIONS) {
      it(r.name, todo(r.known), async (t) => {
        const { verdict } = await httpTarget(server).run(r.request(server.world));
        if (!verdict && todo(r.known).todo) t.diagnostic(`passes now: delete ${r.known} from known-failures.ts once its fix is committed`);
        assert.equal(verdict, undefined, verdict && `${verdict.kind}: ${verdict.detail.slice(0, 300)}`);
      });
    }
  });

  it(`the resident memory of the server and its workers grows by less than ${RSS_GROWTH_LIMIT_MB} MiB across the run`, async () => {
    const now = await server.rss();
    assert.ok(now.serverMB - startRss.serverMB < RSS_GROWTH_LIMIT_MB, `server ${startRss.serverMB.toFixed(0)} -> ${now.serverMB.toFixed(0)} MiB`);
    now.workersMB.forEach((mb, i) => assert.ok(!(mb - (startRss.workersMB[i] ?? mb) >= RSS_GROWTH_LIMIT_MB), `worker ${i}: ${startRss.workersMB[i]} -> ${mb} MiB`));
  });

  it('writes nothing under $HOME', async () => {
    left = await server.stop();
    assert.deepEqual(left.homeLeft, []);
  });

  const tmpKnown = knownFailure('files outside the data dir', 'TMPDIR not empty');
  it('leaves its TMPDIR empty once stopped', todo(tmpKnown?.id), () => {
    assert.ok(left, 'the server was stopped');
    assert.deepEqual(left.tmpLeft.slice(0, 5), [], `TMPDIR not empty: ${left.tmpLeft.length} entries, e.g. ${left.tmpLeft.slice(0, 3).join(', ')}`);
  });
});
