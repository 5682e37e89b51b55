// How workers come and go. Implementations: `local/` (child processes on this machine, the default); later
// Kubernetes and a static list. The controller's worker pool is the only consumer.
//
// Contract: `start` resolves once the worker accepts connections at `address`; `stop` ends it (gracefully,
// then forcefully) and resolves when it is gone. `onExit` fires once per worker that ends for any reason,
// including a crash, with the exit code or signal; the pool decides whether to start a replacement.

import type { WorkerClass } from '../core/types.ts';

export interface WorkerHandle {
  id: string;
  workerClass: string;
  /** Transport address, e.g. `tcp://127.0.0.1:41234`. */
  address: string;
  pid?: number;
}

export interface WorkerExit {
  id: string;
  code: number | null;
  signal: string | null;
}

export interface Provisioner {
  start(workerClass: WorkerClass): Promise<WorkerHandle>;
  stop(id: string): Promise<void>;
  list(): WorkerHandle[];
  onExit(listener: (exit: WorkerExit) => void): void;
  /** Stops every worker. */
  shutdown(): Promise<void>;
}
