// Tests of the worker pool: real worker processes for serving, crash and restart; a scripted provisioner
// for the crash-loop give-up rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import type { WorkerClass, WorkerStatus } from '../core/types.ts';
import type { Provisioner, WorkerExit, WorkerHandle } from '../provisioner/provisioner.ts';
import { LocalProvisioner } from '../provisioner/local/local-provisioner.ts';
import { TestRepo, alive, assertClose, busy, buildTestModel, expectedOutput, sampleInput, testSpec } from '../worker/test-fixtures.ts';
import type { WorkerClient } from '../protocol/worker-protocol.ts';
import { TcpWorkerClient } from '../transport/worker-connection.ts';
import { WorkerPool } from './worker-pool.ts';

const cpu1: WorkerClass = { name: 'cpu-1', threads: 1, memoryMB: 256, pricePerHour: 0.048 };
const codeOf = (e: unknown) => (e as InfaasError).code;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('serves on real workers, refreshes the snapshot, survives a SIGKILL mid-request, and leaves no process behind', async () => {
  const repo = new TestRepo();
  const m1 = repo.write('m1.onnx', buildTestModel({ seed: 1 }));
  repo.write('slow.onnx', buildTestModel({ seed: 5, hidden: { width: 512, layers: 8 } }));
  const provisioner = new LocalProvisioner({ repository: repo.root });
  let snapshots = 0;
  const pool = new WorkerPool({ provisioner, timeoutMs: 60_000, restartBackoffMs: 10, log: quiet, onStatus: () => snapshots++, connect: (h, o) => TcpWorkerClient.connect(h.id, h.address, o) });
  try {
    await pool.start({ workerClass: cpu1, count: 2 });
    assert.deepEqual(pool.clients().map((c) => c.id).sort(), ['w1', 'w2']);
    assert.deepEqual(pool.snapshot().map((s: WorkerStatus) => [s.id, s.replicas.length]).sort(), [['w1', 0], ['w2', 0]]);
    assert.ok(snapshots > 0);
    const pidOf = (id: string) => pool.snapshot().find((s) => s.id === id)!.pid!;
    const pids = [pidOf('w1'), pidOf('w2')];

    const spec = testSpec('m1.v', 'm1.onnx');
    const x = sampleInput(2);
    const r = await pool.get('w1')!.infer(spec, { shape: [2, 4], data: x });
    assert.equal(r.coldStart, true);
    assertClose(r.outputs.y.data, expectedOutput(m1, x));
    // the cold start triggers a status refresh: the snapshot shows the replica without waiting for a poll
    await waitFor(() => pool.snapshot().find((s) => s.id === 'w1')!.replicas.some((rep) => rep.variant === 'm1.v' && rep.state === 'active'));

    // SIGKILL w2 while it runs a long batch
    const w2 = pool.get('w2')!;
    const slow = testSpec('slow.v', 'slow.onnx', { memoryMB: 20 });
    await w2.load(slow);
    const call = w2.infer(slow, { shape: [16384, 4], data: sampleInput(16384) });
    call.catch(() => undefined);
    await waitFor(() => busy(w2));
    process.kill(pids[1], 'SIGKILL');
    await assert.rejects(call, (e) => codeOf(e) === 'UNAVAILABLE' && /w2 exited while running slow\.v/.test((e as Error).message));
    // the dead worker leaves the pool at once and a replacement comes up
    await waitFor(() => !pool.get('w2'));
    await waitFor(() => pool.clients().length === 2);
    assert.deepEqual(pool.clients().map((c: WorkerClient) => c.id).sort(), ['w1', 'w3']);
    assert.equal(pool.stats().restarts, 1);
    const again = await pool.get('w3')!.infer(spec, { shape: [2, 4], data: x });
    assert.equal(again.coldStart, true);
    assertClose(again.outputs.y.data, expectedOutput(m1, x));
    pids.push(pidOf('w3'));
    await pool.close();
    assert.deepEqual(pool.clients(), []);
    assert.deepEqual(provisioner.list(), []);
    await waitFor(() => pids.every((p) => !alive(p)), 5000);
  } finally {
    await pool.close();
    await provisioner.shutdown();
    repo.remove();
  }
});

/** A provisioner whose workers exist only in memory; `crash(id)` makes one exit. */
class ScriptedProvisioner implements Provisioner {
  readonly kind = 'scripted';
  readonly replacesCrashed = false;
  #seq = 0;
  #listeners: Array<(e: WorkerExit) => void> = [];
  readonly live = new Map<string, WorkerHandle>();
  async start(wc: WorkerClass): Promise<WorkerHandle> {
    const h = { id: `w${++this.#seq}`, workerClass: wc.name, address: 'tcp://127.0.0.1:1' };
    this.live.set(h.id, h);
    return h;
  }
  async stop(id: string): Promise<void> {
    this.crash(id, 0);
  }
  crash(id: string, code = 1): void {
    if (!this.live.delete(id)) return;
    for (const l of this.#listeners) l({ id, code, signal: null });
  }
  list(): WorkerHandle[] {
    return [...this.live.values()];
  }
  onExit(l: (e: WorkerExit) => void): void {
    this.#listeners.push(l);
  }
  async shutdown(): Promise<void> {
    for (const id of [...this.live.keys()]) this.crash(id, 0);
  }
}

const hung = new Set<string>();

function fakeClient(h: WorkerHandle): WorkerClient {
  let close = () => {};
  const closed = new Promise<void>((r) => (close = r));
  return {
    id: h.id,
    address: h.address,
    closed,
    close,
    infer: () => Promise.reject(new Error('unused')),
    load: () => Promise.reject(new Error('unused')),
    unload: async () => false,
    status: async () => {
      if (hung.has(h.id)) throw new InfaasError('DEADLINE_EXCEEDED', `worker ${h.id} did not answer status`);
      return status();
    },
  };
  function status(): WorkerStatus {
    return { id: h.id, workerClass: h.workerClass, address: h.address, startedAt: 0, updatedAt: 0, memoryBudgetMB: 1, memoryUsedMB: 0, replicas: [] };
  }
}

test('a crash-looping worker is restarted with backoff, then given up with a logged error', async () => {
  const prov = new ScriptedProvisioner();
  const errors: string[] = [];
  let clock = 0;
  const pool = new WorkerPool({
    provisioner: prov, timeoutMs: 1000, maxRestarts: 2, restartWindowMs: 60_000, restartBackoffMs: 1,
    connect: async (h) => fakeClient(h), log: { ...quiet, error: (m) => errors.push(m) }, now: () => clock,
  });
  await pool.start({ workerClass: cpu1, count: 1 });
  prov.crash('w1');
  assert.equal(pool.clients().length, 0, 'a crashed worker leaves the pool at once');
  await waitFor(() => !!pool.get('w2'));
  clock += 1000;
  prov.crash('w2');
  await waitFor(() => !!pool.get('w3'));
  clock += 1000;
  prov.crash('w3');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(pool.clients().length, 0);
  assert.deepEqual(pool.stats(), { workers: 0, restarts: 2, givenUp: 1 });
  assert.match(errors[0], /crashed 3 times within 60 s/);
  // crashes spread beyond the window do not count
  await pool.start({ workerClass: cpu1, count: 1 });
  for (let i = 0; i < 4; i++) {
    const id = pool.clients()[0].id;
    clock += 61_000;
    prov.crash(id);
    await waitFor(() => pool.clients().length === 1);
  }
  assert.equal(pool.stats().givenUp, 1);
  await pool.close();
  assert.deepEqual(prov.list(), []);
});

test('a worker that stops answering status calls is replaced', async () => {
  const prov = new ScriptedProvisioner();
  const warnings: string[] = [];
  const pool = new WorkerPool({ provisioner: prov, timeoutMs: 1000, restartBackoffMs: 1, connect: async (h) => fakeClient(h), log: { ...quiet, warn: (m) => warnings.push(m) } });
  await pool.start({ workerClass: cpu1, count: 1 });
  hung.add('w1');
  await pool.refresh();
  assert.equal(pool.get('w1'), undefined);
  assert.equal(prov.live.has('w1'), false, 'the hung worker is stopped');
  await waitFor(() => !!pool.get('w2'));
  assert.match(warnings[0], /w1 did not answer a status call/);
  await pool.close();
});

test('adopted workers: connected once, forgotten when they die, adopted again only after a restart; never replaced by the pool', async () => {
  const { FakeWorkerClient } = await import('../testing/fake-worker.ts');
  const clients = new Map<string, InstanceType<typeof FakeWorkerClient>>();
  let connects = 0;
  const pool = new WorkerPool({
    timeoutMs: 1000, log: quiet,
    connect: async (h) => {
      connects++;
      const c = new FakeWorkerClient(h.id, { address: h.address });
      clients.set(h.id, c);
      return c;
    },
  });
  await pool.start({ workerClass: cpu1, count: 1 });
  assert.equal(pool.canProvision, false);
  assert.deepEqual(pool.clients(), [], 'no provisioner: nothing started');
  await assert.rejects(pool.add(cpu1), (e) => codeOf(e) === 'UNAVAILABLE' && /infaas worker/.test((e as Error).message));
  const known = { id: 'h1', address: 'tcp://10.0.0.2:7070', workerClass: cpu1, startedAt: 100 };
  await Promise.all([pool.adopt(known), pool.adopt(known)]);
  await pool.adopt(known);
  assert.equal(connects, 1, 'one connection per worker however often it is listed');
  assert.deepEqual(pool.clients().map((c) => c.id), ['h1']);
  clients.get('h1')!.kill();
  await clients.get('h1')!.closed;
  await waitFor(() => pool.clients().length === 0);
  await pool.adopt(known); // its stale record is still listed
  assert.equal(connects, 1, 'a dead worker is not adopted again');
  await pool.adopt({ ...known, startedAt: 200 }); // restarted
  assert.deepEqual(pool.clients().map((c) => c.id), ['h1']);
  assert.equal(pool.stats().restarts, 0, 'the pool replaces only workers it started');
  await pool.close();
});
