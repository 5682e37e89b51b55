// Composition root of the `infaas` command: wires the CLI to the process (streams, env, exit code) and the server.

import { runCli } from '../cli/main.ts';
import { disableOrtTelemetry } from './ort-telemetry.ts';

// Before any command may load ONNX Runtime (the server, a worker, a profiling child inherit it).
disableOrtTelemetry();

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
  env: process.env,
  // Loaded only by `serve` / `demo`, so client commands never load server code.
  loadServer: async () => (await import('./server.ts')).runServer,
  loadWorker: async () => (await import('./worker-process.ts')).runWorkerUntilSignal,
});
process.exitCode = code;
