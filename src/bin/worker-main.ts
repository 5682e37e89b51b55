// Entry point of a worker process: parses its options, opens the model repository, serves its replica
// manager over the framed transport, and tells its parent where it listens. Run with `node --import tsx`.
//
// Parent protocol (IPC, when forked): sends `{type:'ready', id, address, pid}` once listening. The worker
// exits when the parent disconnects (so it never outlives the controller), on SIGTERM/SIGINT (gracefully:
// stops accepting, lets queued requests finish for up to 2 s, releases sessions), or when start-up fails
// (exit code 1, message on stderr). Without IPC it prints the ready message as one JSON line on stdout.

import { OrtNativeBackend } from '../backend/ort-native/ort-backend.ts';
import { LocalRepository } from '../repository/local/local-repository.ts';
import { serveWorker, type WorkerServer } from '../transport/worker-server.ts';
import { ReplicaManager } from '../worker/replica-manager.ts';
import { parseWorkerOptions } from '../provisioner/worker-options.ts';

const GRACE_MS = 2000;

async function main(): Promise<void> {
  const opts = parseWorkerOptions(process.argv.slice(2), process.env);
  const repository = new LocalRepository(opts.repositoryRoot);
  const backend = new OrtNativeBackend();
  await backend.warmUp();
  const manager = new ReplicaManager({
    id: opts.id,
    workerClass: opts.workerClass,
    classThreads: opts.threads,
    memoryBudgetMB: opts.memoryBudgetMB,
    backend,
    resolvePath: (key) => repository.localPath(key),
    ...(opts.maxBatchWaitMs !== undefined ? { maxBatchWaitMs: opts.maxBatchWaitMs } : {}),
  });
  const server: WorkerServer = await serveWorker(manager, opts.listen);
  manager.address = server.address;

  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(code), GRACE_MS);
    force.unref();
    void manager
      .close()
      .catch(() => undefined)
      .then(() => server.close())
      .then(() => process.exit(code));
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.on('disconnect', () => stop(0));

  const ready = { type: 'ready', id: opts.id, address: server.address, pid: process.pid };
  if (process.send) process.send(ready);
  else process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`worker failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
