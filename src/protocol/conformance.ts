// The one WorkerClient conformance suite: every implementation (the framed socket client against a real worker
// process, the test fake) runs it through a short test file. It checks only the contract in worker-protocol.ts.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import type { Tensor } from '../core/types.ts';
import type { VariantSpec, WorkerClient } from './worker-protocol.ts';

/**
 * What a run needs: a client connected to a fresh worker; `spec`, a variant the worker can run, taking
 * [N, features] and answering one output [N, classes]; `slowSpec`, one whose runs take long enough (≥ 50 ms)
 * that a call is still in flight when `kill` is called; `kill`, which ends the worker abruptly (SIGKILL for a
 * process); `cleanup`, called last.
 */
export interface WorkerClientHarness {
  client: WorkerClient;
  spec: VariantSpec;
  slowSpec: VariantSpec;
  features: number;
  classes: number;
  kill: () => Promise<void>;
  cleanup: () => Promise<void>;
}

const isCode = (code: string, re?: RegExp) => (e: unknown) => e instanceof InfaasError && e.code === code && (!re || re.test(e.message));

function input(n: number, features: number): Tensor {
  return { shape: [n, features], data: Float32Array.from({ length: n * features }, (_, i) => ((i * 7) % 11) / 11) };
}

export function runWorkerClientConformance(name: string, open: () => Promise<WorkerClientHarness>): void {
  async function withWorker(fn: (h: WorkerClientHarness) => Promise<void>): Promise<void> {
    const h = await open();
    try {
      await fn(h);
    } finally {
      h.client.close();
      await h.cleanup();
    }
  }

  describe(`WorkerClient conformance: ${name}`, () => {
    it('infer cold-starts a variant the worker does not hold, then runs it warm, with every output shaped [N, classes]', () => withWorker(async ({ client, spec, features, classes }) => {
      const first = await client.infer(spec, input(3, features));
      assert.equal(first.coldStart, true);
      const outputs = Object.values(first.outputs);
      assert.equal(outputs.length, 1);
      assert.deepEqual(outputs[0].shape, [3, classes]);
      assert.equal(outputs[0].data.length, 3 * classes);
      assert.ok(first.timing.inferenceMs >= 0 && first.timing.queueMs >= 0 && first.timing.loadMs >= 0);
      const second = await client.infer(spec, input(1, features), { budgetMs: 10_000 });
      assert.equal(second.coldStart, false);
      assert.equal(second.timing.loadMs, 0);
      assert.deepEqual(Object.values(second.outputs)[0].shape, [1, classes]);
    }));

    it('load, status and unload agree with each other', () => withWorker(async ({ client, spec }) => {
      const status0 = await client.status();
      assert.equal(status0.id, client.id);
      assert.ok(status0.memoryBudgetMB > 0);
      assert.equal(status0.replicas.some((r) => r.variant === spec.name && r.state !== 'inactive'), false);
      assert.equal((await client.load(spec)).alreadyLoaded, false);
      assert.equal((await client.load(spec)).alreadyLoaded, true);
      const held = (await client.status()).replicas.find((r) => r.variant === spec.name);
      assert.equal(held?.state, 'active');
      assert.equal(await client.unload(spec.name), true);
      assert.equal(await client.unload(spec.name), false);
      assert.equal((await client.status()).replicas.some((r) => r.variant === spec.name && r.state !== 'inactive'), false);
    }));

    it('a bad request is refused with INVALID_ARGUMENT and the client keeps working', () => withWorker(async ({ client, spec, features }) => {
      await assert.rejects(client.infer(spec, { shape: [2, features], data: new Float32Array(features) }), isCode('INVALID_ARGUMENT'));
      await assert.rejects(client.load({ ...spec, threads: 0 }), isCode('INVALID_ARGUMENT'));
      assert.equal((await client.infer(spec, input(2, features))).coldStart !== undefined, true);
    }));

    it('when the worker dies, calls in flight and later calls reject with UNAVAILABLE and closed resolves', () => withWorker(async (h) => {
      const { client, slowSpec, features } = h;
      await client.load(slowSpec);
      const inFlight = Array.from({ length: 3 }, () => client.infer(slowSpec, input(1, features)).then(() => 'answered', (e: unknown) => e));
      await h.kill();
      await client.closed;
      for (const r of await Promise.all(inFlight)) {
        if (r === 'answered') continue; // finished before the kill landed
        assert.ok(isCode('UNAVAILABLE', new RegExp(client.id))(r), `in-flight call: ${String(r)}`);
      }
      assert.ok((await Promise.all(inFlight)).some((r) => r !== 'answered'), 'no call was still in flight at the kill');
      await assert.rejects(client.status(), isCode('UNAVAILABLE'));
      await assert.rejects(client.infer(slowSpec, input(1, features)), isCode('UNAVAILABLE'));
    }));

    it('close() drops the connection: closed resolves and later calls reject with UNAVAILABLE', () => withWorker(async ({ client, spec, features }) => {
      await client.status();
      client.close();
      await client.closed;
      await assert.rejects(client.status(), isCode('UNAVAILABLE'));
      await assert.rejects(client.infer(spec, input(1, features)), isCode('UNAVAILABLE'));
      await assert.rejects(client.load(spec), isCode('UNAVAILABLE'));
      await assert.rejects(client.unload(spec.name), isCode('UNAVAILABLE'));
    }));
  });
}
