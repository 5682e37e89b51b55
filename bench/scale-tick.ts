// Benchmark of the autoscaling tick at scale: a synthetic cluster (src/sim/synthetic-cluster.ts) of 10,000 ready
// workers holding 100,000 replicas of 30,000 distinct variants out of a 100,000-variant catalogue, and the time of
// `policy.tick()` for `ours` and `infaas` as the live server builds them (livePolicy, fed by toClusterSnapshot over
// the workers' statuses as the live loop is) and for `ours` as the simulator builds it (fed by the cluster's own
// snapshot), over consecutive ticks: state carried over, each tick's actions applied to the cluster before the
// next. Also the live loop's own cost of building the snapshot (toClusterSnapshot over 10,000 statuses). One thread.
// Run: npx tsx bench/scale-tick.ts [--workers N] [--variants N] [--replicas N] [--distinct N] [--ticks N] [--seed N]
//   [--policy NAME] (only the policies whose name starts so: ours, ours (sim, infaas)
// Goal: at most 200 ms per tick.

import { performance, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { livePolicy, toClusterSnapshot } from '../src/controller/autoscaler-loop.ts';
import { Catalogue } from '../src/policy/catalogue.ts';
import { oursPolicy } from '../src/policy/policies/ours.ts';
import type { ClusterSnapshot, ScalingAction, ScalingPolicy } from '../src/policy/scaling-policy.ts';
import { scaledVariants, SyntheticCluster, type SyntheticClusterOptions } from '../src/sim/synthetic-cluster.ts';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const GOAL_MS = 200;
const ticks = arg('ticks', 20);
const seed = arg('seed', 1);
const opts: SyntheticClusterOptions = {
  workers: arg('workers', 10_000), variants: arg('variants', 100_000), replicas: arg('replicas', 100_000), distinct: arg('distinct', 30_000), seed,
};
// Room for the policies to add workers: the live default (this machine's cores) would be far below the cluster.
const MAX_WORKERS = 2 * opts.workers;

let t0 = performance.now();
const catalogue = new Catalogue(scaledVariants(opts.variants, seed));
const catalogueMs = performance.now() - t0;
t0 = performance.now();
const fresh = () => new SyntheticCluster({ ...opts, catalogue });
const first = fresh();
const clusterMs = performance.now() - t0;
const f = first.figures();
const archs = new Set(catalogue.entries().map((e) => e.arch)).size;
const artifacts = new Set(catalogue.entries().map((e) => e.artifact)).size;
console.log(`catalogue: ${catalogue.size} variants (${artifacts} artifacts, ${archs} architectures, ${catalogue.useCases().length} use cases; zoo profiles ×0.7–1.4), built in ${catalogueMs.toFixed(0)} ms`);
console.log(`cluster: ${f.ready} ready ${first.workerClass.name} workers, ${f.replicas} replicas of ${f.distinct} distinct variants (${(f.replicas / f.ready).toFixed(1)} per worker), built in ${clusterMs.toFixed(0)} ms`);
console.log(`  families: ${f.families.idle} idle < 30 s, ${f.families.stale} idle past scale-to-zero, ${f.families.light} lightly loaded (1–10% of their replicas' capacity), ${f.families.hot} short of replicas (80–100% plus 1–4 replicas' worth);`);
console.log(`  ${f.slowed} workers slowed 2–4x by a neighbour; ${f.unplaced} unplaced cold starts per window; 1% of families draw new traffic each tick`);

// Garbage-collection pauses on the main thread, to tell a tick's own work from the collections it pays for.
const pauses: Array<{ start: number; ms: number }> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push({ start: e.startTime, ms: e.duration });
}).observe({ entryTypes: ['gc'] });

interface Timed { ms: number[]; cpu: number[]; gc: number[] }
const timed = (): Timed => ({ ms: [], cpu: [], gc: [] });

/** Runs fn, recording its wall and CPU time and the collections that started meanwhile (the observer reports them a turn later). */
async function time<T>(into: Timed, fn: () => T): Promise<T> {
  await sleep(1);
  pauses.length = 0;
  const c0 = process.cpuUsage();
  const a = performance.now();
  const out = fn();
  const b = performance.now();
  const c = process.cpuUsage(c0);
  await sleep(1);
  into.ms.push(b - a);
  into.cpu.push((c.user + c.system) / 1000);
  into.gc.push(pauses.filter((p) => p.start >= a && p.start < b).reduce((x, p) => x + p.ms, 0));
  return out;
}

interface Row { policy: string; tick: Timed; build?: Timed; actions: number[]; kinds: Map<string, number>; end: string }

/** The live loop's snapshot of the cluster: its ready workers' statuses through toClusterSnapshot, plus the starting ones. */
function liveSnapshot(cluster: SyntheticCluster, own: ClusterSnapshot, build: Timed): Promise<ClusterSnapshot> {
  const { statuses, window } = cluster.statuses(own);
  const starting = own.workers.filter((w) => w.phase === 'starting');
  return time(build, () => toClusterSnapshot(statuses, starting, catalogue, [cluster.workerClass], own.now, window));
}

async function run(name: string, policy: ScalingPolicy<unknown>, live: boolean): Promise<Row> {
  const cluster = fresh();
  let state = policy.init({ catalogue, workerClasses: [cluster.workerClass], mix: [], peakQps: 0 }).state;
  const row: Row = { policy: name, tick: timed(), build: live ? timed() : undefined, actions: [], kinds: new Map(), end: '' };
  for (let i = 0; i < ticks; i++) {
    const own = cluster.snapshot();
    const snapshot = live ? await liveSnapshot(cluster, own, row.build!) : own;
    const out = await time(row.tick, () => policy.tick(snapshot, cluster.now, state));
    state = out.state;
    row.actions.push(out.actions.length);
    for (const x of out.actions) row.kinds.set(label(x), (row.kinds.get(label(x)) ?? 0) + 1);
    cluster.apply(out.actions);
    cluster.advance(policy.tickMs);
    process.stderr.write(`  ${name} tick ${i + 1}: ${row.tick.ms.at(-1)!.toFixed(1)} ms, ${out.actions.length} actions\n`);
  }
  const e = cluster.figures();
  row.end = `${e.workers} workers, ${e.replicas} replicas of ${e.distinct} variants`;
  return row;
}

function label(a: ScalingAction): string {
  return a.kind === 'setHealth' ? `setHealth ${a.state}` : a.kind;
}

const policies: Array<[string, () => ScalingPolicy<unknown>, boolean]> = [
  ['ours (live)', () => livePolicy({ policy: 'ours', maxWorkers: MAX_WORKERS }, first.workerClass.name), true],
  // The simulator's `ours` (getPolicy('ours'): oursPolicy's defaults) with its 5,000-worker cap raised.
  ['ours (simulator)', () => oursPolicy({ maxWorkers: MAX_WORKERS }) as unknown as ScalingPolicy<unknown>, false],
  ['infaas (live)', () => livePolicy({ policy: 'infaas', maxWorkers: MAX_WORKERS }, first.workerClass.name), true],
];
const only = process.argv.indexOf('--policy');
const rows: Row[] = [];
for (const [n, make, live] of policies) if (only < 0 || n.startsWith(process.argv[only + 1])) rows.push(await run(n, make(), live));

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const line = (what: string, t: Timed, actions: string) =>
  `| ${what} | ${t.ms.length} | ${q(t.ms, 0.5).toFixed(0)} | ${q(t.ms, 0.95).toFixed(0)} | ${Math.max(...t.ms).toFixed(0)} | ${q(t.cpu, 0.5).toFixed(0)} | ${q(t.gc, 0.5).toFixed(0)} | ${actions} | ${(q(t.ms, 0.5) / GOAL_MS).toFixed(2)} |`;
console.log();
console.log(`| policy | ticks | median ms | p95 ms | max ms | CPU ms (median) | GC pause ms (median) | actions / tick (mean, max) | median / goal (${GOAL_MS} ms) |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const mean = r.actions.reduce((a, b) => a + b, 0) / r.actions.length;
  console.log(line(r.policy, r.tick, `${mean.toFixed(0)}, ${Math.max(...r.actions)}`));
}
for (const r of rows) if (r.build) console.log(line(`toClusterSnapshot for ${r.policy}`, r.build, '-'));
console.log('\nCPU ms: the process\'s CPU time during the tick (with the collector\'s and compiler\'s helper threads); GC pause: main-thread');
console.log('collections that started during the tick (scavenges copy the snapshot just built, as the live loop\'s is).');
console.log();
for (const r of rows) {
  const kinds = [...r.kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`${r.policy}: per-tick ms ${r.tick.ms.map((t) => t.toFixed(0)).join(' ')}; actions over ${r.tick.ms.length} ticks: ${kinds || 'none'}; after: ${r.end}`);
}
