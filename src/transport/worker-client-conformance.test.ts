// Runs the WorkerClient conformance suite against TcpWorkerClient connected to a real worker process (a child
// started by the local provisioner, real ONNX Runtime), killed with SIGKILL.
import { after } from 'node:test';
import { runWorkerClientConformance } from '../protocol/conformance.ts';
import { LocalProvisioner } from '../provisioner/local/local-provisioner.ts';
import { TestRepo, buildTestModel, testSpec } from '../worker/test-fixtures.ts';
import { TcpWorkerClient } from './worker-connection.ts';

const repo = new TestRepo();
after(() => repo.remove());
repo.write('m.onnx', buildTestModel({ features: 4, classes: 3 }));
repo.write('slow.onnx', buildTestModel({ features: 4, classes: 3, hidden: { width: 512, layers: 24 } }));

runWorkerClientConformance('TcpWorkerClient (worker process)', async () => {
  const provisioner = new LocalProvisioner({ repository: repo.root, onStderr: () => undefined });
  const handle = await provisioner.start({ name: 'cpu-1', threads: 1, memoryMB: 512, pricePerHour: 0.048 });
  const client = await TcpWorkerClient.connect(handle.id, handle.address, { timeoutMs: 30_000 });
  return {
    client, features: 4, classes: 3,
    spec: testSpec('m.v', 'm.onnx'),
    slowSpec: testSpec('slow.v', 'slow.onnx', { maxBatch: 1 }),
    kill: async () => void process.kill(handle.pid!, 'SIGKILL'),
    cleanup: () => provisioner.shutdown(),
  };
});
