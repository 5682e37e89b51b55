// LocalProvisioner through the shared provisioner conformance suite: real child processes, crashed with SIGKILL.
import type { WorkerClass } from '../../core/types.ts';
import { TcpWorkerClient } from '../../transport/worker-connection.ts';
import { TestRepo } from '../../worker/test-fixtures.ts';
import { runProvisionerConformance } from '../conformance.ts';
import { LocalProvisioner } from './local-provisioner.ts';

const cpu1: WorkerClass = { name: 'cpu-1', threads: 1, memoryMB: 64, pricePerHour: 0 };

runProvisionerConformance('LocalProvisioner', async () => {
  const repo = new TestRepo();
  const provisioner = new LocalProvisioner({ repository: repo.root });
  return {
    provisioner,
    workerClass: cpu1,
    hello: async (h) => {
      const c = await TcpWorkerClient.connect(h.id, h.address, { timeoutMs: 10_000 });
      c.close();
      return c.hello;
    },
    crash: async (h) => void process.kill(h.pid!, 'SIGKILL'),
    cleanup: async () => {
      await provisioner.shutdown();
      repo.remove();
    },
  };
});
