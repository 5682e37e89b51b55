// The live autoscaling loop: action application against a fake pool (skips, limits, failures, no overlap),
// and end to end with a real server, real worker processes and the real 'ours' policy (scale to zero).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Architecture, ReplicaStatus, WorkerClass, WorkerStatus } from '../core/types.ts';
import { makeVariant } from '../policy/fixtures.ts';
import type { ScalingAction, ScalingPolicy } from '../policy/scaling-policy.ts';
import { AutoscalerLoop, livePolicy, toClusterSnapshot, type ScalablePool } from './autoscaler-loop.ts';
import { ModelIndex } from './model-index.ts';
import type { VariantSpec, WorkerClient } from '../protocol/worker-protocol.ts';
import { startServer } from '../bin/server.ts';
import { ZOO_DIR, readZooManifest } from '../zoo/manifest.ts';
import { loadConfig } from '../config/config.ts';
import { parseCommand } from '../cli/args.ts';
import { serveCommand, serverOptions } from '../cli/commands/serve.ts';

const CLS: WorkerClass = { name: 'cpu-2', threads: 2, memoryMB: 2048, pricePerHour: 0.096 };
const V = makeVariant({ name: 'a.t1.b8.all', arch: 'a', memoryMB: 10 });
const ARCH = { name: 'a', useCase: V.useCase, artifacts: [{ id: 'a.fp32', arch: 'a', key: 'a/a.fp32.onnx' }], registeredAt: '' } as unknown as Architecture;
const INDEX = ModelIndex.empty().with({
  useCase: { id: V.useCase, task: 'classification', dataset: 'fashion-mnist', inputShape: [1, 28, 28] }, architecture: ARCH, variants: [V], removed: [],
});

function replica(variant: string, s: Partial<ReplicaStatus> = {}): ReplicaStatus {
  return { variant, state: 'active', queued: 0, lastUsedAt: 0, memoryMB: 10, ...s };
}

class FakePool implements ScalablePool {
  readonly canProvision = true;
  statuses: WorkerStatus[] = [];
  calls: string[] = [];
  loadGate?: Promise<void>;
  failLoad = false;
  #n = 0;

  worker(replicas: ReplicaStatus[] = [], memoryUsedMB = 0): WorkerStatus {
    const s: WorkerStatus = { id: `w${++this.#n}`, workerClass: CLS.name, address: '', startedAt: 0, updatedAt: 0, memoryBudgetMB: CLS.memoryMB, memoryUsedMB, replicas };
    this.statuses.push(s);
    return s;
  }

  snapshot(): WorkerStatus[] {
    return this.statuses;
  }

  get(id: string): WorkerClient | undefined {
    if (!this.statuses.some((s) => s.id === id)) return undefined;
    const calls = this.calls;
    return {
      id, address: '', closed: new Promise(() => undefined), close: () => undefined,
      infer: () => Promise.reject(new Error('not used')),
      status: () => Promise.reject(new Error('not used')),
      load: async (spec: VariantSpec) => {
        calls.push(`load ${id} ${spec.name} ${spec.artifactKey}`);
        await this.loadGate;
        if (this.failLoad) throw new Error('boom');
        return { loadMs: 1, alreadyLoaded: false };
      },
      unload: async (variant: string) => {
        calls.push(`unload ${id} ${variant}`);
        return true;
      },
    };
  }

  async add(c: WorkerClass): Promise<unknown> {
    this.calls.push(`add ${c.name}`);
    return this.worker();
  }

  async remove(id: string): Promise<void> {
    this.calls.push(`remove ${id}`);
    this.statuses = this.statuses.filter((s) => s.id !== id);
  }
}

/** A policy that returns the scripted actions, one list per tick (or throws for an Error entry). */
function scripted(script: Array<ScalingAction[] | Error>): ScalingPolicy<unknown> & { ticks: number } {
  const p = {
    name: 'scripted', description: '', tickMs: 10, ticks: 0,
    init: () => ({ state: 0, workers: [] }),
    tick: (_s: unknown, _now: number, state: unknown) => {
      const next = script[p.ticks++] ?? [];
      if (next instanceof Error) throw next;
      return { actions: next, state: (state as number) + 1 };
    },
    route: () => { throw new Error('not used'); },
  };
  return p;
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function loopOf(pool: FakePool, policy: ScalingPolicy<unknown>, limits = { minWorkers: 1, maxWorkers: 2 }): AutoscalerLoop {
  return new AutoscalerLoop({ policy, pool, index: () => INDEX, workerClasses: [CLS], ...limits, log: quiet, now: () => 1000 });
}

describe('AutoscalerLoop action application (fake pool)', () => {
  it('applies loads, unloads and worker changes; skips what no longer makes sense', async () => {
    const pool = new FakePool();
    pool.worker([replica(V.name)]);
    const w2 = pool.worker([], 2040);
    const loop = loopOf(pool, scripted([[
      { kind: 'load', worker: 'w1', variant: V.name }, // already held: skipped
      { kind: 'load', worker: 'w9', variant: V.name }, // unknown worker: skipped
      { kind: 'load', worker: 'w2', variant: 'nope' }, // unknown variant: skipped
      { kind: 'addReplica', worker: 'w2', variant: V.name }, // no memory left on w2: skipped
      { kind: 'setHealth', worker: 'w1', variant: V.name, state: 'overloaded' }, // not applied live
      { kind: 'unload', worker: 'w2', variant: V.name }, // not held: skipped
      { kind: 'removeReplica', worker: 'w1', variant: V.name }, // = unload of its one replica
      { kind: 'addWorker', workerClass: 'cpu-2' }, // 2 workers = max: skipped
      { kind: 'addWorker', workerClass: 'gpu' }, // unknown class: skipped
    ]]));
    await loop.tickOnce();
    assert.deepEqual(pool.calls, [`unload w1 ${V.name}`]);
    assert.equal(loop.stats().applied, 1);
    assert.equal(loop.stats().skipped, 8);

    w2.memoryUsedMB = 0;
    const loop2 = loopOf(pool, scripted([[
      { kind: 'load', worker: 'w2', variant: V.name },
      { kind: 'removeWorker', worker: 'w1' },
      { kind: 'removeWorker', worker: 'w2' }, // would leave no worker: skipped
      { kind: 'addWorker', workerClass: 'cpu-2' },
    ]]));
    await loop2.tickOnce();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(pool.calls.slice(1), [`load w2 ${V.name} a/a.fp32.onnx`, 'remove w1', 'add cpu-2']);
    assert.deepEqual(pool.statuses.map((s) => s.id), ['w2', 'w3']);
    assert.deepEqual(loop2.stats().recent, [`load w2 ${V.name}`, 'removeWorker w1', 'addWorker cpu-2']);
  });

  it('survives a throwing policy and failing actions, and never runs two ticks at once', async () => {
    const pool = new FakePool();
    pool.worker();
    const policy = scripted([
      new Error('policy bug'),
      [{ kind: 'load', worker: 'w1', variant: V.name }, { kind: 'unload', worker: 'w1', variant: V.name }],
      [{ kind: 'load', worker: 'w1', variant: V.name }],
    ]);
    const loop = loopOf(pool, policy);
    await loop.tickOnce();
    assert.equal(loop.stats().errors, 1);

    pool.failLoad = true;
    await loop.tickOnce(); // the load fails; the unload is skipped (not held) but still considered
    assert.equal(loop.stats().failed, 1);
    assert.equal(loop.stats().skipped, 1);

    pool.failLoad = false;
    let open!: () => void;
    pool.loadGate = new Promise((r) => (open = r));
    const a = loop.tickOnce();
    const b = loop.tickOnce();
    assert.equal(a, b, 'a second tick while one runs joins it');
    open();
    await a;
    assert.equal(policy.ticks, 3);
    assert.equal(loop.stats().applied, 1);
    await loop.close();
  });

  it('gives a hot variant as many workers as its replicas (a live worker runs one batch at a time) and keeps them', async () => {
    // 8,000/s of V, ~2,000/s per replica: 4 replicas; a live worker runs one batch at a time, so 4 workers, even
    // though 4 one-thread replicas would fit the threads of two cpu-2 workers
    const pool = new FakePool();
    pool.worker([replica(V.name)]);
    const t = { now: 0 };
    const stats = (qps: number) => ({
      arrivalQps: qps, completedQps: qps, queueLength: 0, avgBatch: 2, avgMs: 1, p50Ms: 1, p95Ms: 1.2, e2eP95Ms: 2, replicas: 1,
      e2eP50Ms: 1, arrivalRps: qps, completedRps: qps, outstanding: 0, runs: 200, rejected: 0, profileP50Ms: 1, profileP95Ms: 1.2, windowMs: 1000,
    });
    // the pool carries loads out, and the load spreads evenly over the workers holding V
    const inner = pool.get.bind(pool);
    pool.get = (id: string) => {
      const c = inner(id);
      return c && { ...c, load: async (spec: VariantSpec) => { const r = await c.load(spec); pool.statuses.find((s) => s.id === id)!.replicas.push(replica(V.name)); return r; } };
    };
    const holding = () => pool.statuses.filter((s) => s.replicas.length > 0);
    const loop = new AutoscalerLoop({
      policy: livePolicy({ policy: 'ours', maxWorkers: 8 }, CLS.name), pool, index: () => INDEX, workerClasses: [CLS], minWorkers: 1, maxWorkers: 8, log: quiet, now: () => t.now,
    });
    for (t.now = 1000; t.now <= 40_000; t.now += 1000) {
      for (const s of holding()) for (const r of s.replicas) Object.assign(r, { lastUsedAt: t.now, stats: stats(8000 / holding().length) });
      await loop.tickOnce();
      await new Promise((r) => setImmediate(r));
    }
    await loop.close();
    assert.equal(holding().length, 4, pool.calls.join(', '));
    assert.deepEqual(pool.calls.filter((c) => c.startsWith('remove')), [], 'no worker removed again');
  });

  it("plans a scheduled window's workers ahead of it with 'ours' (config autoscaling.schedule), and only within the lead", async () => {
    const start = Date.parse('2026-11-23T09:00:00Z');
    const cfg = { policy: 'ours' as const, maxWorkers: 4, schedule: { leadS: 15, windows: [{ start: '2026-11-23T09:00:00Z', durationS: 60, qps: 8000 }] } };
    // one worker serving 400/s of V (≈ 2,000/s a replica at batch 8): enough for now, not for 8,000/s
    const serving = (pool: FakePool, now: number) => pool.worker([replica(V.name, {
      lastUsedAt: now,
      stats: { arrivalQps: 400, completedQps: 400, queueLength: 0, avgBatch: 2, avgMs: 1, p50Ms: 1, p95Ms: 1.2, e2eP95Ms: 2, replicas: 1, e2eP50Ms: 1, arrivalRps: 400, completedRps: 400, outstanding: 0, runs: 200, rejected: 0, profileP50Ms: 1, profileP95Ms: 1.2, windowMs: 1000 },
    })]);
    const adds = async (now: number, schedule: boolean) => {
      const pool = new FakePool();
      serving(pool, now);
      const t = { now: now - 3000 };
      const loop = new AutoscalerLoop({
        policy: livePolicy(schedule ? cfg : { policy: 'ours', maxWorkers: 4 }, CLS.name), pool, index: () => INDEX, workerClasses: [CLS],
        minWorkers: 1, maxWorkers: 4, log: quiet, now: () => t.now,
      });
      for (; t.now <= now; t.now += 1000) await loop.tickOnce();
      await new Promise((r) => setImmediate(r));
      await loop.close();
      return pool.calls.filter((c) => c.startsWith("add")).length;
    };
    assert.ok((await adds(start - 10_000, true)) >= 1, '10 s ahead: a worker for 8,000/s is asked for');
    assert.equal(await adds(start - 60_000, true), 0, 'a minute ahead: beyond the 15 s lead, nothing yet');
    assert.equal(await adds(start - 10_000, false), 0, 'without the schedule: nothing');
  });

  it('builds the snapshot from statuses: replicas, loading, stats and utilisation', () => {
    const stats = { arrivalQps: 100, completedQps: 100, queueLength: 2, avgBatch: 4, avgMs: 10, p50Ms: 9, p95Ms: 12, e2eP95Ms: 20, replicas: 1, slowdownP50: 1.2, slowdownP95: 1.1 };
    const s: WorkerStatus = {
      id: 'w1', workerClass: 'cpu-2', address: '', startedAt: 5, updatedAt: 0, memoryBudgetMB: 2048, memoryUsedMB: 20,
      replicas: [
        replica(V.name, { lastUsedAt: 7, stats: { ...stats, e2eP50Ms: 0, arrivalRps: 0, completedRps: 0, outstanding: 0, runs: 0, rejected: 0, profileP50Ms: 0, profileP95Ms: 0, windowMs: 1000 } }),
        replica('b', { state: 'loading' }),
        replica('c', { state: 'inactive' }),
      ],
    };
    const snap = toClusterSnapshot([s], [], INDEX.catalogue, [CLS], 42);
    const w = snap.workers[0];
    assert.equal(w.phase, 'ready');
    assert.equal(w.threads, 2);
    assert.equal(w.utilisation, 25 * 0.01); // 25 batches/s × 10 ms: the process is busy a quarter of the time
    assert.deepEqual(w.variants.map((v) => [v.variant, v.replicas, v.loading, v.state]), [[V.name, 1, 0, 'active'], ['b', 0, 1, 'loading']]);
    assert.deepEqual(w.variants[0].stats, stats);
    assert.equal(w.variants[0].lastUsedAt, 7);
    assert.equal(w.variants[0].pinned, undefined);
    // a variant loaded explicitly is marked pinned
    const pinned = toClusterSnapshot([s], [], INDEX.catalogue, [CLS], 42, { unplaced: [], slo: new Map(), pinned: new Set(['b']) });
    assert.deepEqual(pinned.workers[0].variants.map((v) => v.pinned === true), [false, true]);
  });
});

describe('autoscaling config and --autoscale', () => {
  it('defaults to ours with as many cpu-2 workers as the cores hold, merges partial settings and validates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'infaas-cfg-'));
    const byCores = Math.max(1, Math.floor(availableParallelism() / 2));
    try {
      assert.deepEqual(loadConfig(dir).autoscaling, { policy: 'ours', maxWorkers: byCores });
      assert.deepEqual(loadConfig(dir, { autoscaling: { policy: 'infaas' } as never }).autoscaling, { policy: 'infaas', maxWorkers: byCores });
      assert.deepEqual(loadConfig(dir, { autoscaling: { policy: 'off', maxWorkers: 3 } }).autoscaling, { policy: 'off', maxWorkers: 3 });
      const oneThread = { initialWorkers: { workerClass: 'cpu-1', count: 1 } };
      assert.equal(loadConfig(dir, oneThread).autoscaling.maxWorkers, availableParallelism(), 'cpu-1 workers: one per core');
      assert.throws(() => loadConfig(dir, { autoscaling: { policy: 'magic', maxWorkers: 4 } as never }), /autoscaling.policy must be one of off, ours, infaas/);
      assert.throws(() => loadConfig(dir, { autoscaling: { policy: 'ours', maxWorkers: 0 } }), /maxWorkers must be an integer >= initialWorkers.count/);
      assert.throws(() => loadConfig(dir, { autoscaling: { policy: 'ours', maxWorkers: 2, idleUnloadMs: -1 } }), /idleUnloadMs must be > 0/);
      assert.throws(() => loadConfig(dir, { initialWorkers: { workerClass: 'cpu-2', count: 0 } }), /initialWorkers.count must be an integer >= 1/);
      const schedule = { windows: [{ start: '09:00', durationS: 600, qps: 500 }] };
      writeFileSync(join(dir, 'infaas.json'), JSON.stringify({ autoscaling: { schedule } }));
      assert.deepEqual(loadConfig(dir).autoscaling, { policy: 'ours', maxWorkers: byCores, schedule }, 'from the file, merged');
      assert.throws(() => loadConfig(dir, { autoscaling: { policy: 'infaas' } as never }), /autoscaling.schedule is used by the "ours" policy only/);
      writeFileSync(join(dir, 'infaas.json'), JSON.stringify({ autoscaling: { schedule: { windows: [{ start: '9am', durationS: 600, qps: 500 }] } } }));
      assert.throws(() => loadConfig(dir), /config: autoscaling.schedule.windows\[0\].start must be "HH:MM"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serve --autoscale passes the policy on and refuses unknown ones', () => {
    const opts = serverOptions(parseCommand(serveCommand.spec, ['--autoscale', 'infaas', '--data-dir', '/tmp/x']), false, 'serve');
    assert.deepEqual(opts, { demo: false, dataDir: '/tmp/x', autoscale: 'infaas' });
    assert.throws(() => serverOptions(parseCommand(serveCommand.spec, ['--autoscale', 'magic']), false, 'serve'), /--autoscale must be one of off, ours, infaas, got "magic"/);
  });
});

const SMALL_GRID = { threads: [1], maxBatch: [1, 8], optLevels: ['all' as const], runs: 3, warmup: 1 };

/** Registers a bundled zoo architecture (fp32) over REST and waits for its profiling; returns its variant names. */
async function registerZooArch(url: string, archName: string): Promise<string[]> {
  const uc = readZooManifest().useCases.find((u) => u.dataset === 'fashion-mnist')!;
  const file = (rel: string) => new Blob([new Uint8Array(readFileSync(join(ZOO_DIR, rel)))]);
  const f = new FormData();
  for (const [k, v] of Object.entries({ task: 'classification', dataset: 'fashion-mnist', arch: archName })) f.append(k, v);
  f.append('model', file(uc.architectures.find((a) => a.name === archName)!.artifacts.find((x) => x.precision === 'fp32')!.file), 'model');
  f.append('validation', file(uc.validation), 'validation');
  let reg: any = ((await (await fetch(`${url}/v1/models`, { method: 'POST', body: f })).json()) as any).registration;
  while (reg.state === 'PROFILING') {
    await new Promise((r) => setTimeout(r, 50));
    reg = ((await (await fetch(`${url}/v1/registrations/${reg.id}`)).json()) as any).registration;
  }
  assert.equal(reg.state, 'SUCCEEDED', reg.error);
  return reg.variants.map((v: { name: string }) => v.name);
}

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

describe('AutoscalerLoop live (real server, worker processes and the ours policy)', () => {
  it('unloads a variant that stays idle (scale to zero), but keeps one loaded explicitly until it is unloaded', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'infaas-autoscale-'));
    const server = await startServer({
      dataDir, demo: false, autoscale: 'ours',
      config: {
        port: 0, profiling: SMALL_GRID,
        // a load schedule two hours ahead: shown in the status, nothing planned for it yet
        autoscaling: { policy: 'off', maxWorkers: 2, idleUnloadMs: 1500, schedule: { leadS: 60, windows: [{ start: new Date(Date.now() + 7.2e6).toISOString(), durationS: 60, qps: 900 }] } },
      },
    });
    try {
      assert.ok(server.autoscaler, 'the loop runs with --autoscale ours');
      const status: any = await (await fetch(`${server.url}/v1/workers`)).json();
      assert.deepEqual(status.autoscaling.schedule, { leadS: 60, expectedQps: 0 });
      const [explicit, queried] = await registerZooArch(server.url, 'fmnist-linear');
      const held = async (variant: string) => {
        const ws: any = await (await fetch(`${server.url}/v1/workers`)).json();
        return ws.workers.some((w: WorkerStatus) => w.replicas.some((r) => r.variant === variant && r.state !== 'inactive' && r.state !== 'unloading'));
      };
      // one variant loaded ahead of traffic by an operator, one cold-started by a query
      const loaded: any = await (await fetch(`${server.url}/v1/variants/${explicit}/load`, { method: 'POST' })).json();
      assert.equal(loaded.variant, explicit, JSON.stringify(loaded));
      assert.equal(loaded.alreadyLoaded, false, 'the variant was loaded by the request above');
      const sample = Array.from({ length: 784 }, () => 0.5);
      const r = await fetch(`${server.url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variant: queried, inputs: [sample] }) });
      assert.equal(r.status, 200, await r.text());
      // both go idle: the queried one is unloaded (scale to zero) ...
      assert.ok(await until(() => server.autoscaler!.stats().recent.some((l) => l.startsWith('unload') && l.endsWith(` ${queried}`)), 60_000), JSON.stringify(server.autoscaler!.stats()));
      assert.ok(await until(async () => !(await held(queried)), 30_000), 'the idle variant is no longer held by any worker');
      // ... the pinned one, idle just as long, stays
      assert.ok(await held(explicit), 'the explicitly loaded variant is still loaded');
      assert.ok(!server.autoscaler!.stats().recent.some((l) => l.endsWith(` ${explicit}`)), JSON.stringify(server.autoscaler!.stats()));
      // unloading it by name unpins it
      const un: any = await (await fetch(`${server.url}/v1/variants/${explicit}/unload`, { method: 'POST' })).json();
      assert.ok(un.workers.length >= 1, JSON.stringify(un));
      assert.ok(await until(async () => !(await held(explicit)), 30_000));
      assert.equal(server.autoscaler!.stats().errors, 0);
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is on by default, and adds a worker while the only one is saturated', { timeout: 180_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'infaas-autoscale-'));
    const server = await startServer({
      dataDir, demo: false,
      config: { port: 0, profiling: SMALL_GRID, initialWorkers: { workerClass: 'cpu-1', count: 1 }, autoscaling: { maxWorkers: 2 } as never },
    });
    let stop = false;
    const clients: Array<Promise<void>> = [];
    try {
      assert.ok(server.autoscaler, 'autoscaling runs without being asked for');
      const variant = (await registerZooArch(server.url, 'fmnist-cnn-l')).find((n) => n.includes('.t1.b8.'))!;
      const workers = async () => ((await (await fetch(`${server.url}/v1/workers`)).json()) as { workers: WorkerStatus[] }).workers;
      assert.equal((await workers()).length, 1);
      // Eight closed-loop clients, each sending full batches (8 samples), keep the one single-thread worker busy
      // running full batches of the largest CNN: saturated (no batching headroom), so ours asks for a worker.
      const sample = Array.from({ length: 784 }, (_, i) => (i % 7) / 7);
      const body = JSON.stringify({ variant, inputs: Array.from({ length: 8 }, () => sample) });
      let served = 0;
      let failed = '';
      for (let c = 0; c < 8; c++) {
        clients.push((async () => {
          while (!stop) {
            const r = await fetch(`${server.url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
            if (r.ok) served++;
            else failed = await r.text();
          }
        })());
      }
      const added = await until(async () => (await workers()).length >= 2, 90_000);
      assert.ok(added, `no worker added under load: ${JSON.stringify(server.autoscaler!.stats())}`);
      // GET /v1/workers tells what the loop did.
      const scaling = ((await (await fetch(`${server.url}/v1/workers`)).json()) as any).autoscaling;
      assert.equal(scaling.policy, 'ours');
      assert.equal(scaling.maxWorkers, 2);
      assert.ok(scaling.recent.includes('addWorker cpu-1'), JSON.stringify(scaling));
      assert.ok(served > 0 && failed === '', `served ${served}, failure: ${failed}`);
      stop = true;
      await Promise.all(clients);
      assert.equal(server.autoscaler!.stats().errors, 0);
    } finally {
      stop = true;
      await Promise.all(clients);
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
