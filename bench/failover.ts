// Failures in a distributed cluster of real processes (Redis beside the bench, controllers and workers each on a
// host of their own: network namespaces where the bench may create them, else loopback addresses):
// 1. a worker's SIGKILL while 6 clients query a variant all workers hold: requests lost and retried, and the time
//    from the kill to the last request routed to the dead worker (goal: 0 lost where another replica exists);
// 2. the autoscaling lease: time from the leader controller's SIGKILL until the other controller leads.
// Each is repeated; the killed process is started again between repetitions.
// Usage: npx tsx bench/failover.ts [--kills 5] [--lease-ms 2000,5000]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZOO_DIR } from '../src/zoo/manifest.ts';
import { startRedis } from '../src/testing/redis-server.ts';
import { makeHosts } from '../src/testing/test-hosts.ts';
import { queryLoad, startController, startWorker, type ClusterProcess } from '../src/testing/cluster.ts';
import { percentile, printTable } from './lib/server-process.ts';

const arg = (name: string, dflt: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const KILLS = Number(arg('--kills', '5'));
const LEASES = arg('--lease-ms', '2000,5000').split(',').map(Number);
const VARIANT = 'lin.fp32.t1.b8.all';
const input = new Float32Array(784).fill(0.5);
const EXAMPLES = new URL('../examples/fashion-mnist/', import.meta.url).pathname;

type Controller = ClusterProcess & { url: string };

async function until(check: () => Promise<boolean>, ms = 60_000): Promise<number> {
  const start = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

const json = async (url: string) => (await fetch(url)).json() as Promise<any>;
const workerIds = async (c: Controller) => (await json(`${c.url}/v1/workers`)).workers.map((w: { id: string }) => w.id).sort().join();
const holders = async (c: Controller) => (await json(`${c.url}/v1/workers`)).workers.filter((w: any) => w.replicas.some((r: any) => r.variant === VARIANT && r.state === 'active')).length;
const leads = async (c: Controller) => (await json(`${c.url}/v1/workers`)).autoscaling.leadership.leader === true;

const hosts = makeHosts(5);
const redis = await startRedis({ host: hosts.rootIp });
const metadata = `${redis.url}/0`;
const repository = `${process.env.TMPDIR ?? '/tmp'}/infaas-bench-failover-${process.pid}`;
console.log(`hosts: ${hosts.mode}; Redis at ${redis.url}`);
const live: ClusterProcess[] = [];
try {
  // --- worker SIGKILL -------------------------------------------------------------------------------------------
  const c1 = await startController(hosts.hosts[0], { id: 'c1', metadata, repository, port: 18080 });
  live.push(c1);
  const workers: ClusterProcess[] = [];
  for (let i = 0; i < 3; i++) workers.push(await startWorker(hosts.hosts[2 + i], { id: `w${i + 1}`, metadata, port: 7070 }));
  live.push(...workers);
  await until(async () => (await workerIds(c1)) === 'w1,w2,w3');
  const f = new FormData();
  for (const [k, v] of Object.entries({ task: 'classification', dataset: 'fashion-mnist', arch: 'lin' })) f.append(k, v);
  f.append('model', new Blob([readFileSync(join(ZOO_DIR, 'fashion-mnist/fmnist-linear.fp32.onnx'))]), 'model.onnx');
  f.append('profile', new Blob([readFileSync(join(EXAMPLES, 'linear-profile.json'))]), 'profile.json');
  if ((await fetch(`${c1.url}/v1/models`, { method: 'POST', body: f })).status !== 201) throw new Error('registration failed');
  const killRows = [];
  for (let k = 0; k < KILLS; k++) {
    for (const w of ['w1', 'w2', 'w3']) await fetch(`${c1.url}/v1/variants/${VARIANT}/load?worker=${w}`, { method: 'POST' });
    await until(async () => (await holders(c1)) === 3);
    const victim = k % 3;
    const id = `w${victim + 1}`;
    const load = queryLoad(() => [c1.url], VARIANT, input, 6);
    await until(async () => load.tally.succeeded > 300);
    const killedAt = Date.now();
    await workers[victim].kill();
    await until(async () => load.tally.log.filter((l) => l.at > killedAt).length > 1000);
    const t = await load.stop();
    const routed = t.log.filter((l) => l.worker === id || l.retriedFrom === id).map((l) => l.at);
    killRows.push({
      kill: k + 1, worker: id, sent: t.sent, succeeded: t.succeeded, retried: t.retried, lost: t.failed,
      last_routed_ms_after_kill: Math.max(...routed) - killedAt,
    });
    workers[victim] = await startWorker(hosts.hosts[2 + victim], { id, metadata, port: 7070 });
    live.push(workers[victim]);
    await until(async () => (await workerIds(c1)) === 'w1,w2,w3');
  }
  console.log(`\nWorker SIGKILL under load (6 closed-loop clients, exact variant ${VARIANT} held by all 3 workers, 1 controller)\n`);
  printTable(killRows);

  // --- leader SIGKILL -------------------------------------------------------------------------------------------
  await c1.stop();
  const leaseRows = [];
  for (const leaseMs of LEASES) {
    const common = { metadata, repository, port: 18080 + leaseMs / 1000, config: { leaseMs } };
    const cs: Controller[] = [await startController(hosts.hosts[0], { id: `a${leaseMs}`, ...common }), await startController(hosts.hosts[1], { id: `b${leaseMs}`, ...common })];
    live.push(...cs);
    const takeovers: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      await until(async () => (await leads(cs[0])) || (await leads(cs[1])));
      const li = (await leads(cs[0])) ? 0 : 1;
      const killedAt = Date.now();
      await cs[li].kill();
      await until(() => leads(cs[1 - li]), leaseMs * 4);
      takeovers.push(Date.now() - killedAt);
      cs[li] = await startController(hosts.hosts[li], { id: `${li ? 'b' : 'a'}${leaseMs}-${k}`, ...common });
      live.push(cs[li]);
    }
    leaseRows.push({ lease_ms: leaseMs, kills: KILLS, takeover_p50_ms: percentile(takeovers, 50), takeover_max_ms: Math.max(...takeovers), bound_ms: `≤ ${leaseMs} + ${Math.floor(leaseMs / 3)} (one poll)` });
    await Promise.all(cs.map((c) => c.stop()));
  }
  console.log('\nAutoscaling lease failover after the leader controller\'s SIGKILL (2 controllers)\n');
  printTable(leaseRows);
} finally {
  await Promise.all(live.map((p) => p.kill()));
  await redis.stop();
  hosts.cleanup();
}
