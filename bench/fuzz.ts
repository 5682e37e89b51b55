// Fuzzing bench: many generated cases through every client-reachable parser — most in process (fast), a good share
// through the REST API of a real server — printing cases, failures and speed per parser, the server's and its
// workers' RSS at start and end, the slowest case, each distinct failure with its smallest example, and whether
// anything was written outside the data dir.
// Usage: npx tsx bench/fuzz.ts [--seed 1] [--inprocess 10000] [--http 20000] [--only NAME] [--no-heavy-images]

import { configTarget, cliTarget, imageTarget, onnxTarget, profileTarget, queryInputTarget, querySpecTarget, valsetTarget } from '../src/testing/fuzz/parser-targets.ts';
import { startFuzzServer } from '../src/testing/fuzz/fuzz-server.ts';
import { httpTarget } from '../src/testing/fuzz/http-target.ts';
import { FuzzStats, runOne, sample, type Target } from '../src/testing/fuzz/runner.ts';

const arg = (name: string, dflt: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : dflt);
const SEED = arg('seed', 1);
const IN_PROCESS = arg('inprocess', 10_000);
const HTTP = arg('http', 20_000);
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const CHUNK = 500;
/** Leave out bombs and images declaring millions of pixels (to tell their memory from the rest). */
const HEAVY = !process.argv.includes('--no-heavy-images');

async function runTarget<C>(t: Target<C>, n: number, stats: FuzzStats, progress = false, afterChunk?: () => Promise<void>): Promise<void> {
  for (let done = 0, chunk = 0; done < n; chunk++) {
    const cases = sample(t, SEED * 1_000_003 + chunk, Math.min(CHUNK, n - done));
    for (const c of cases) await runOne(t, c, stats);
    done += cases.length;
    await afterChunk?.();
    if (progress) process.stderr.write(`  ${t.name}: ${done}/${n}\r`);
  }
  if (progress) process.stderr.write('\n');
}

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  const stats = new FuzzStats();
  const config = configTarget();
  // Images decode for real, so they get a tenth of the cases; bombs only through HTTP (where health is probed).
  const inProcess: Array<[Target<any>, number]> = [
    [querySpecTarget, IN_PROCESS], [queryInputTarget, IN_PROCESS], [imageTarget(), Math.ceil(IN_PROCESS / 10)], [valsetTarget, IN_PROCESS],
    [profileTarget, IN_PROCESS], [onnxTarget, IN_PROCESS], [config, IN_PROCESS], [cliTarget, IN_PROCESS],
  ];
  for (const [t, n] of inProcess) {
    if (ONLY && !t.name.includes(ONLY)) continue;
    await runTarget(t, n, stats, true);
  }
  config.dispose();

  let rss: { start: string; end: string; serverTrace: number[] } | undefined;
  let left: { homeLeft: string[]; tmpLeft: string[] } | undefined;
  if (HTTP > 0 && (!ONLY || 'http'.includes(ONLY))) {
    const server = await startFuzzServer();
    const mb = async () => {
      const r = await server.rss();
      return `server ${fmt(r.serverMB)} MiB, workers ${r.workersMB.map((x) => fmt(x)).join(' + ')} MiB`;
    };
    const start = await mb();
    const serverTrace = [(await server.rss()).serverMB];
    try {
      await runTarget(httpTarget(server, { images: HEAVY ? { bombWeight: 1 } : { heavy: false } }), HTTP, stats, true, async () => void serverTrace.push((await server.rss()).serverMB));
      rss = { start, end: await mb(), serverTrace };
    } finally {
      left = await server.stop();
    }
  }

  const rows = [...stats.rows.values()];
  const failuresOf = (row: string) => [...stats.findings.values()].filter((f) => f.row === row);
  console.log(`\nseed ${SEED}; ${fmt(rows.reduce((a, r) => a + r.cases, 0))} cases\n`);
  console.log('| parser | cases | failing cases | distinct failures (known) | cases/s | slowest case |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const fs = failuresOf(r.row);
    const failing = fs.reduce((a, f) => a + f.count, 0);
    console.log(`| ${r.row} | ${fmt(r.cases)} | ${fmt(failing)} | ${fs.length} (${fs.filter((f) => f.known).length}) | ${fmt(r.cases / (r.ms / 1000))} | ${fmt(r.slowest.ms, 1)} ms: ${r.slowest.label.slice(0, 90).replace(/\|/g, '/')} |`);
  }
  if (rss) console.log(`\nRSS at start: ${rss.start}\nRSS at end:   ${rss.end}\nserver RSS every ${CHUNK} HTTP cases, MiB: ${rss.serverTrace.map((x) => fmt(x)).join(' ')}`);
  if (left) console.log(`left outside the data dir: $HOME ${left.homeLeft.length ? left.homeLeft.join(', ') : 'empty'}; TMPDIR ${left.tmpLeft.length ? left.tmpLeft.join(', ') : 'empty'}`);
  console.log('\nfailures (smallest example of each):');
  for (const f of [...stats.findings.values()].sort((a, b) => a.row.localeCompare(b.row))) {
    console.log(`- [${f.known ? f.known.id : 'NEW'}] ${f.row}: ${f.kind} (${f.count}x)\n    input: ${f.example.slice(0, 300)}\n    detail: ${f.detail.slice(0, 300).replace(/\n/g, ' ')}`);
  }
}

await main();
