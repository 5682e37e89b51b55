// Runs the WorkerClient conformance suite against the test fake, so controller tests that use it rely on the contract.
import { runWorkerClientConformance } from '../protocol/conformance.ts';
import { FakeWorkerClient } from './fake-worker.ts';

const spec = { name: 'fake.v', artifactKey: 'fake.onnx', threads: 1, optLevel: 'all' as const, maxBatch: 8, memoryMB: 10 };

runWorkerClientConformance('FakeWorkerClient', async () => {
  const client = new FakeWorkerClient('fw1', { classes: 3, runMs: (s) => (s.name === 'slow.v' ? 200 : 0) });
  return { client, spec, slowSpec: { ...spec, name: 'slow.v' }, features: 4, classes: 3, kill: async () => client.kill(), cleanup: async () => undefined };
});
