// The one Provisioner conformance suite: every implementation runs it through a short test file. It tests only
// the contract in provisioner.ts, with real workers: the local provisioner's child processes, and the Kubernetes
// provisioner's pods (worker processes behind the stand-in API server of src/testing/kube-api-server.ts).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkerClass } from '../core/types.ts';
import type { WorkerHello } from '../protocol/worker-protocol.ts';
import type { Provisioner, WorkerExit, WorkerHandle } from './provisioner.ts';

/**
 * What a conformance run needs from an implementation. `open` gives a fresh provisioner with no workers.
 * `hello` connects to a worker at `handle.address`, shakes hands and closes (the test passes the transport's
 * client: this layer cannot import it). `crash` ends a worker abruptly (SIGKILL of the process; for Kubernetes,
 * the container is killed and the platform restarts it). `cleanup` shuts the provisioner down if the suite has
 * not, and releases everything else; it may assert (e.g. that a stand-in saw no bad request).
 */
export interface ProvisionerHarness {
  provisioner: Provisioner;
  workerClass: WorkerClass;
  hello: (handle: WorkerHandle) => Promise<WorkerHello>;
  crash: (handle: WorkerHandle) => Promise<void>;
  cleanup: () => Promise<void>;
}

/** Polls `check` until it holds (a worker coming back has no event to await here), failing after `ms`. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`${what}: still not true after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const answers = (h: ProvisionerHarness, w: WorkerHandle) => h.hello(w).then((hello) => hello.id === w.id, () => false);

export function runProvisionerConformance(name: string, open: () => Promise<ProvisionerHarness>): void {
  async function withProvisioner(fn: (h: ProvisionerHarness) => Promise<void>): Promise<void> {
    const h = await open();
    try {
      await fn(h);
    } finally {
      await h.cleanup();
    }
  }

  describe(`${name} (provisioner conformance)`, () => {
    it('start gives a worker of the class asked for, answering hello with its id at its address', () =>
      withProvisioner(async (h) => {
        const w = await h.provisioner.start(h.workerClass);
        assert.equal(w.workerClass, h.workerClass.name);
        const hello = await h.hello(w);
        assert.equal(hello.id, w.id);
        assert.equal(hello.workerClass, h.workerClass.name);
        assert.deepEqual(h.provisioner.list(), [w]);
      }));

    it('two starts give two workers; stop removes one from list and its address stops answering', () =>
      withProvisioner(async (h) => {
        const exits: WorkerExit[] = [];
        h.provisioner.onExit((e) => exits.push(e));
        const [a, b] = await Promise.all([h.provisioner.start(h.workerClass), h.provisioner.start(h.workerClass)]);
        assert.notEqual(a.id, b.id);
        assert.notEqual(a.address, b.address);
        assert.deepEqual(h.provisioner.list().map((w) => w.id).sort(), [a.id, b.id].sort());
        await h.provisioner.stop(a.id);
        assert.deepEqual(h.provisioner.list().map((w) => w.id), [b.id]);
        await assert.rejects(h.hello(a), `worker ${a.id} still answers at ${a.address} after stop`);
        assert.equal((await h.hello(b)).id, b.id);
        assert.deepEqual(exits.map((e) => e.id), [a.id], 'a stopped worker fires onExit once');
        await h.provisioner.stop(a.id); // stopped already: resolves, nothing more happens
        assert.equal(exits.length, 1);
      }));

    it('stop of an unknown id resolves', () =>
      withProvisioner(async (h) => {
        await h.provisioner.stop('no-such-worker');
        assert.deepEqual(h.provisioner.list(), []);
      }));

    it('a crash fires onExit once for that worker; replacesCrashed says who brings it back', () =>
      withProvisioner(async (h) => {
        const exits: WorkerExit[] = [];
        h.provisioner.onExit((e) => exits.push(e));
        const w = await h.provisioner.start(h.workerClass);
        await h.crash(w);
        await eventually(`onExit for ${w.id}`, () => exits.some((e) => e.id === w.id));
        const exit = exits.find((e) => e.id === w.id)!;
        assert.ok(exit.code !== 0 || exit.signal !== null, `a crash is not a clean exit: ${JSON.stringify(exit)}`);
        if (h.provisioner.replacesCrashed) {
          // The platform brings a worker back by itself (the same id restarted, or a new one), with no start().
          await eventually('a worker answering again', async () => {
            for (const x of h.provisioner.list()) if (await answers(h, x)) return true;
            return false;
          });
        } else {
          assert.ok(!h.provisioner.list().some((x) => x.id === w.id), 'a crashed local worker leaves list()');
          assert.deepEqual(h.provisioner.list(), []);
        }
        assert.equal(exits.filter((e) => e.id === w.id).length, 1, `one onExit per crash: ${JSON.stringify(exits)}`);
      }));

    it('shutdown resolves with a worker running, and a second shutdown too', () =>
      withProvisioner(async (h) => {
        await h.provisioner.start(h.workerClass);
        await h.provisioner.shutdown();
        await h.provisioner.shutdown();
      }));
  });
}
