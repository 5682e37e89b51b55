// How workers come and go. Implementations: `local/` (child processes on this machine, the default) and
// `kubernetes/` (scales a worker Deployment through the Kubernetes API). The controller's worker pool and the
// autoscaling loop are the only consumers. Every implementation passes `conformance.ts`.
//
// Contract:
// - `start` resolves once the new worker accepts connections at `address` and answers the worker protocol's
//   hello with `id` (so a controller can tell it is the worker it asked for); it rejects with UNAVAILABLE and
//   a message saying why when the worker does not come up in time.
// - `stop` ends that worker (gracefully, then forcefully) and resolves once it is gone; an unknown id resolves.
// - `onExit` fires once per worker that ends for any reason, a crash included, with the exit code or signal
//   when known; the pool decides what to do about it.
// - `replacesCrashed` says who replaces a worker that crashed: false (local) — the pool starts a new one;
//   true (Kubernetes) — the platform restarts it by itself, and the pool only waits for it to reappear.
// - `shutdown` releases what this controller process holds: local child processes are stopped (they cannot
//   outlive it), while Kubernetes workers belong to the cluster and keep running for the other controllers.

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
  /** 'local', 'kubernetes', … (for logs and status). */
  readonly kind: string;
  /** Whether the platform replaces crashed workers by itself (see above). */
  readonly replacesCrashed: boolean;
  start(workerClass: WorkerClass): Promise<WorkerHandle>;
  stop(id: string): Promise<void>;
  /** The workers this provisioner started and that are still running. */
  list(): WorkerHandle[];
  onExit(listener: (exit: WorkerExit) => void): void;
  /** Releases what this process holds (see above). */
  shutdown(): Promise<void>;
}
