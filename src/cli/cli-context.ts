// What a CLI command may touch besides its arguments: output streams, environment, and the server and worker
// entry points.

import type { WorkerOptions } from '../provisioner/worker-options.ts';

/** Options of the embedded server, as `infaas serve` / `infaas demo` pass them to runServer. */
export interface ServerOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  demo: boolean;
  /** Live autoscaling policy (`--autoscale`); absent: the config's (default ours). */
  autoscale?: 'off' | 'ours' | 'infaas';
  /** Distributed mode: `--metadata`, `--repository`, `--provisioner`, `--id`. */
  metadata?: string;
  repository?: string;
  provisioner?: 'local' | 'kubernetes' | 'none';
  controllerId?: string;
  /** `--allowed-hosts`, `--allowed-origins`: who may call the REST API from a browser (docs/security.md). */
  allowedHosts?: string[];
  allowedOrigins?: string[];
}

export interface CliContext {
  /** Writes to standard output (text is written as given; callers add newlines). */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /** Whether standard error is a terminal (progress bars redraw in place only then). */
  stderrIsTTY: boolean;
  env: Record<string, string | undefined>;
  /** Loads the server's entry point lazily, so client commands never load server code. */
  loadServer(): Promise<(opts: ServerOptions) => Promise<void>>;
  /** Loads the worker's entry point lazily (`infaas worker`); it runs until SIGINT/SIGTERM. */
  loadWorker(): Promise<(opts: WorkerOptions) => Promise<void>>;
  /** Milliseconds between polls of a registration (tests shorten it). */
  pollMs?: number;
}
