// Entry point of a forked worker process: parses its argv (src/provisioner/worker-options.ts), runs the worker
// (worker-process.ts) and tells its parent where it listens. Run with `node --import tsx`.
//
// Parent protocol (IPC, when forked): sends `{type:'ready', id, address, pid}` once listening. The worker
// exits when the parent disconnects (so it never outlives the controller), on SIGTERM/SIGINT (gracefully:
// stops accepting, lets queued requests finish for up to 2 s, releases sessions), or when start-up fails
// (exit code 1, message on stderr). Without IPC it prints the ready message as one JSON line on stdout.

import { parseWorkerOptions } from '../provisioner/worker-options.ts';
import { runWorker } from './worker-process.ts';

const GRACE_MS = 2000;

async function main(): Promise<void> {
  const opts = parseWorkerOptions(process.argv.slice(2), process.env);
  const worker = await runWorker(opts, process.env, (line) => process.stderr.write(`${line}\n`));
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(code), GRACE_MS);
    force.unref();
    void worker.stop().then(() => process.exit(code));
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.on('disconnect', () => stop(0));

  const ready = { type: 'ready', id: opts.id, address: worker.address, pid: process.pid };
  if (process.send) process.send(ready);
  else process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`worker failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
