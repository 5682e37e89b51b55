// The distributed mode end to end, with real processes that talk only over TCP: Redis and an S3-compatible server
// (s3rver) beside the test, 2 controllers and 3 workers, each on its own host (a network namespace where the test
// may create them, else its own loopback address). Registrations on one controller serve on the other; faults
// are made by killing real processes, and every scenario reports how many requests were sent, succeeded,
// retried and failed.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZOO_DIR } from '../zoo/manifest.ts';
import { RedisStore } from '../metadata/redis/redis-store.ts';
import { startRedis, type RedisServer } from '../testing/redis-server.ts';
import { startS3, type S3TestServer } from '../testing/s3-server.ts';
import { makeHosts, type TestHosts } from '../testing/test-hosts.ts';
import { queryLoad, queryOnce, emptyTally, startController, startWorker, type ClusterProcess, type QueryTally } from '../testing/cluster.ts';

const EXAMPLES = new URL('../../examples/fashion-mnist/', import.meta.url).pathname;
const LEASE_MS = 2000;
const VARIANT = 'lin.fp32.t1.b8.all';
const input = new Float32Array(784).fill(0.5);

type Controller = ClusterProcess & { url: string; dataDir: string };

function report(what: string, t: QueryTally): void {
  process.stdout.write(`# ${what}: sent ${t.sent}, succeeded ${t.succeeded}, retried ${t.retried}, failed ${t.failed}${t.failed ? ` ${JSON.stringify(t.errors)}` : ''}\n`);
}

async function register(url: string, arch: string): Promise<{ status: number; body: any }> {
  const f = new FormData();
  for (const [k, v] of Object.entries({ task: 'classification', dataset: 'fashion-mnist', arch })) f.append(k, v);
  f.append('model', new Blob([readFileSync(join(ZOO_DIR, 'fashion-mnist/fmnist-linear.fp32.onnx'))]), 'model.onnx');
  f.append('profile', new Blob([readFileSync(join(EXAMPLES, 'linear-profile.json'))]), 'profile.json');
  const r = await fetch(`${url}/v1/models`, { method: 'POST', body: f });
  return { status: r.status, body: await r.json() };
}

async function json(url: string): Promise<any> {
  return (await fetch(url)).json();
}

/** Polls `check` every 50 ms until it holds; the time it took, ms. */
async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<number> {
  const start = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() - start > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

const workersOf = async (c: Controller) => ((await json(`${c.url}/v1/workers`)).workers as Array<{ id: string; replicas: Array<{ variant: string; state: string }> }>);
const holders = async (c: Controller, variant: string) => (await workersOf(c)).filter((w) => w.replicas.some((r) => r.variant === variant && r.state !== 'inactive')).map((w) => w.id).sort();
const leadership = async (c: Controller) => (await json(`${c.url}/v1/workers`)).autoscaling.leadership as { leader: boolean; leaderId?: string };

describe('distributed cluster: 2 controllers, 3 workers, Redis and S3, separate processes over TCP', () => {
  let hosts: TestHosts;
  let redis: RedisServer;
  let s3: S3TestServer;
  let metadata: string;
  let c1: Controller;
  let c2: Controller;
  const workers: ClusterProcess[] = [];
  let env: NodeJS.ProcessEnv;
  let common: Omit<Parameters<typeof startController>[1], 'id'>;

  before(async () => {
    hosts = makeHosts(5);
    process.stdout.write(`# hosts: ${hosts.mode} (${hosts.hosts.map((h) => h.ip).join(', ')}; test at ${hosts.rootIp})\n`);
    redis = await startRedis({ host: hosts.rootIp });
    s3 = await startS3({ host: hosts.rootIp });
    const bucket = await s3.createBucket();
    metadata = `${redis.url}/0`;
    env = { AWS_ENDPOINT_URL: s3.endpoint, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    common = { metadata, repository: `s3://${bucket}/models`, port: 18080, env, config: { leaseMs: LEASE_MS, profiling: { threads: [1], maxBatch: [1, 8], optLevels: ['all'], runs: 5, warmup: 1 } } };
    c1 = await startController(hosts.hosts[0], { id: 'c1', ...common });
    c2 = await startController(hosts.hosts[1], { id: 'c2', ...common });
    for (const [i, host] of hosts.hosts.slice(2).entries()) workers.push(await startWorker(host, { id: `w${i + 1}`, metadata, port: 7070, env }));
    for (const c of [c1, c2]) await until(`${c.name} sees 3 workers`, async () => (await workersOf(c)).length === 3);
  });

  after(async () => {
    await Promise.all([c1, c2, ...workers].filter(Boolean).map((p) => p.stop()));
    await redis?.stop();
    await s3?.stop();
    hosts?.cleanup();
  });

  it('serves a model registered on one controller from the other; of two registrations of one name exactly one is accepted', async () => {
    const first = await register(c1.url, 'lin');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await until('c2 knows the new variants', async () => (await fetch(`${c2.url}/v1/variants/${VARIANT}`)).ok);
    const tally = emptyTally();
    for (const c of [c1, c2, c1, c2]) await queryOnce(c.url, VARIANT, input, tally);
    report('queries through both controllers', tally);
    assert.equal(tally.succeeded, 4, JSON.stringify(tally.errors));

    const race = await Promise.all([register(c1.url, 'raced'), register(c2.url, 'raced')]);
    assert.deepEqual(race.map((r) => r.status).sort(), [201, 409], JSON.stringify(race.map((r) => r.body)));
    assert.match(race.find((r) => r.status === 409)!.body.error, /architecture 'raced' is being registered \(registration raced\.fp32-[0-9a-f]{8}|architecture 'raced' \(fp32\) is already registered/);
    const lead = await Promise.all([leadership(c1), leadership(c2)]);
    assert.equal(lead.filter((l) => l.leader).length, 1, 'exactly one controller leads the autoscaling loop');
  });

  it('SIGKILL of a worker mid-traffic: its requests are retried on another replica, none fail, and once dropped it gets no request', async () => {
    for (const w of ['w1', 'w2', 'w3']) {
      const r = await fetch(`${c1.url}/v1/variants/${VARIANT}/load?worker=${w}`, { method: 'POST' });
      assert.equal(r.status, 200, await r.text());
    }
    for (const c of [c1, c2]) await until(`${c.name} sees 3 replicas`, async () => (await holders(c, VARIANT)).length === 3);
    const load = queryLoad(() => [c1.url, c2.url], VARIANT, input, 6);
    await until('traffic on w2', async () => load.tally.log.some((l) => l.worker === 'w2'));
    const killedAt = Date.now();
    await workers[1].kill();
    for (const c of [c1, c2]) await until(`${c.name} drops w2`, async () => !(await workersOf(c)).some((w) => w.id === 'w2'));
    const droppedAt = Date.now();
    await until('500 more requests', async () => load.tally.log.filter((l) => l.at > droppedAt).length > 500, 60_000);
    const t = await load.stop();
    report('worker SIGKILL', t);
    const routedToIt = t.log.filter((l) => l.worker === 'w2' || l.retriedFrom === 'w2').map((l) => l.at);
    process.stdout.write(`# last request routed to the killed worker: ${Math.max(...routedToIt) - killedAt} ms after the kill (bench/failover.ts measures it)\n`);
    assert.equal(t.failed, 0, JSON.stringify(t.errors));
    assert.deepEqual(t.log.filter((l) => l.at > droppedAt && (l.worker === 'w2' || l.retriedFrom === 'w2')), [], 'requests reached the worker after both controllers dropped it');
  });

  it('a pinned variant whose only worker dies is loaded again elsewhere', async () => {
    const r = await fetch(`${c1.url}/v1/variants/lin.fp32.t1.b1.all/load?worker=w3`, { method: 'POST' });
    assert.equal(r.status, 200, await r.text());
    await until('c1 sees it on w3', async () => (await holders(c1, 'lin.fp32.t1.b1.all')).join() === 'w3');
    await workers[2].kill();
    const ms = await until('it is loaded on w1 again', async () => (await holders(c1, 'lin.fp32.t1.b1.all')).join() === 'w1');
    process.stdout.write(`# pinned variant placed again ${ms} ms after its worker's SIGKILL\n`);
    workers[2] = await startWorker(hosts.hosts[4], { id: 'w3', metadata, port: 7070, env });
    for (const c of [c1, c2]) await until(`${c.name} takes the restarted w3 back`, async () => (await workersOf(c)).some((w) => w.id === 'w3'));
  });

  it('Redis down for 10 s: loaded variants keep serving from the controllers\' cached state, writes fail with 503, and everything recovers by itself', async () => {
    const load = queryLoad(() => [c1.url, c2.url], VARIANT, input, 4);
    await until('traffic', async () => load.tally.succeeded > 20);
    await redis.kill();
    const downAt = Date.now();
    await until('traffic during the outage', async () => load.tally.log.filter((l) => l.at > downAt + 1000).length > 200);
    const write = await register(c2.url, 'during-outage');
    assert.equal(write.status, 503, JSON.stringify(write.body));
    assert.match(write.body.error, /metadata store .* is unreachable|not connected/i);
    assert.equal((await fetch(`${c1.url}/v1/health`)).status, 200);
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - downAt))));
    await redis.restart();
    const upAt = Date.now();
    const t = await load.stop();
    const during = t.log.filter((l) => l.at >= downAt && l.at < upAt);
    const duringFailed = during.filter((l) => l.status !== 200).length;
    process.stdout.write(`# during the outage: sent ${during.length}, failed ${duringFailed}\n`);
    report('Redis outage (whole run)', t);
    assert.equal(t.failed, 0, JSON.stringify(t.errors));
    assert.ok(during.length > 200);

    const recoverMs = await until('a registration succeeds again', async () => (await register(c2.url, 'after-outage')).status === 201, 30_000);
    await until('c1 sees it', async () => (await fetch(`${c1.url}/v1/variants/after-outage.fp32.t1.b8.all`)).ok);
    await until('one leader again', async () => (await Promise.all([leadership(c1), leadership(c2)])).filter((l) => l.leader).length === 1);
    const store = await RedisStore.connect(metadata);
    await until('the live workers heartbeat into Redis again', async () => (await store.list('worker/')).map((e) => e.key).join() === 'worker/w1,worker/w3');
    await store.close();
    process.stdout.write(`# writes work again ${recoverMs} ms after Redis came back\n`);
  });

  it('SIGKILL of the leading controller: the other keeps serving and takes over autoscaling', async () => {
    const [l1] = await Promise.all([leadership(c1), leadership(c2)]);
    const [leader, other] = l1.leader ? [c1, c2] : [c2, c1];
    const load = queryLoad(() => [other.url], VARIANT, input, 4);
    await until('traffic', async () => load.tally.succeeded > 20);
    const killedAt = Date.now();
    await leader.kill();
    const takeoverMs = await until('the other controller leads', async () => (await leadership(other)).leader, 60_000);
    await until('more traffic', async () => load.tally.log.filter((l) => l.at > killedAt + takeoverMs).length > 100);
    const t = await load.stop();
    report(`leader ${leader.name} SIGKILL, traffic to ${other.name}`, t);
    process.stdout.write(`# ${other.name} took over autoscaling ${takeoverMs} ms after the leader's SIGKILL (lease ${LEASE_MS} ms; bench/failover.ts measures it)\n`);
    assert.equal(t.failed, 0, JSON.stringify(t.errors));
    assert.equal((await leadership(other)).leaderId, other.name);
    const restarted = await startController(leader.host, { id: leader.name, ...common });
    if (leader === c1) c1 = restarted;
    else c2 = restarted;
  });

  it('a registration whose controller dies while profiling it is profiled to the end by the other, once', async () => {
    const f = new FormData();
    for (const [k, v] of Object.entries({ task: 'classification', dataset: 'fashion-mnist', arch: 'profiled' })) f.append(k, v);
    f.append('model', new Blob([readFileSync(join(ZOO_DIR, 'fashion-mnist/fmnist-mlp-s.fp32.onnx'))]), 'model.onnx');
    f.append('validation', new Blob([readFileSync(join(ZOO_DIR, 'fashion-mnist/validation.valset'))]), 'v.valset');
    const r = await fetch(`${c1.url}/v1/models`, { method: 'POST', body: f });
    const accepted = ((await r.json()) as any).registration;
    assert.equal(r.status, 202);
    assert.equal(accepted.controller, 'c1');
    const killedAt = Date.now();
    await c1.kill();
    let reg: any;
    await until('c2 profiles it to the end', async () => {
      reg = ((await json(`${c2.url}/v1/registrations/${accepted.id}`)) as any).registration;
      return reg.state !== 'PROFILING';
    }, 60_000);
    process.stdout.write(`# registration profiled to the end by ${reg.controller} ${Date.now() - killedAt} ms after its controller's SIGKILL\n`);
    assert.equal(reg.state, 'SUCCEEDED', reg.error);
    assert.equal(reg.controller, 'c2');
    assert.ok(reg.variants.length > 0);
    const v = await fetch(`${c2.url}/v1/variants/${reg.variants[0].name}`);
    assert.equal(v.status, 200, `${JSON.stringify(reg)} ${await v.text()}`);
  });
});
