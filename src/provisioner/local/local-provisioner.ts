// Provisioner of local workers: each worker is a child process (src/bin/worker-main.ts run through tsx),
// named w1, w2, … in start order (prefixed with the controller's id in distributed mode, so names stay unique
// across controllers). A child exits when this process disconnects or dies, so no worker is ever orphaned;
// shutdown() stops them all. In distributed mode the children also heartbeat into the metadata store, so the
// other controllers use them too.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { unavailable } from '../../core/errors.ts';
import type { WorkerClass } from '../../core/types.ts';
import type { Provisioner, WorkerExit, WorkerHandle } from '../provisioner.ts';
import { workerArgv } from '../worker-options.ts';

export interface LocalProvisionerOptions {
  /** The model repository every worker reads: a directory, `file:///dir` or `s3://bucket/prefix`. */
  repository: string;
  /** Distributed mode: the metadata store URL the workers heartbeat in. */
  metadata?: string;
  /** Prefix of the worker ids (default none: w1, w2, …). */
  idPrefix?: string;
  /** Where workers cache artifacts downloaded from object storage. */
  cacheDir?: string;
  /** Worker entry script (default: src/bin/worker-main.ts). */
  workerEntry?: string;
  /** Extra environment for the children (merged over this process's). */
  env?: NodeJS.ProcessEnv;
  /** How long a child may take to report ready (default 30 s). */
  startTimeoutMs?: number;
  /** How long after SIGTERM before SIGKILL (default 5 s). */
  stopTimeoutMs?: number;
  /** Listen on a Unix socket in this directory instead of TCP. */
  socketDir?: string;
  /** The address TCP workers listen on (default 127.0.0.1; a wildcard advertises this machine's first external IPv4 address). */
  tcpHost?: string;
  /** Receives each line a worker writes to stderr (default: copied to this process's stderr as `[w1] line`). */
  onStderr?: (id: string, line: string) => void;
}

interface Child {
  handle: WorkerHandle;
  proc: ChildProcess;
  exited: Promise<void>;
}

const DEFAULT_ENTRY = fileURLToPath(new URL('../../bin/worker-main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export class LocalProvisioner implements Provisioner {
  readonly kind = 'local';
  readonly replacesCrashed = false;
  readonly #o: LocalProvisionerOptions;
  readonly #children = new Map<string, Child>();
  readonly #listeners: Array<(exit: WorkerExit) => void> = [];
  #seq = 0;
  readonly #killAll = () => {
    for (const c of this.#children.values()) c.proc.kill('SIGKILL');
  };

  constructor(opts: LocalProvisionerOptions) {
    this.#o = opts;
    process.on('exit', this.#killAll);
  }

  start(workerClass: WorkerClass): Promise<WorkerHandle> {
    const id = `${this.#o.idPrefix ?? ''}w${++this.#seq}`;
    const listen = this.#o.socketDir ? { path: `${this.#o.socketDir}/${id}-${process.pid}.sock` } : { host: this.#o.tcpHost ?? '127.0.0.1', port: 0 };
    const args = workerArgv({
      id, workerClass: workerClass.name, threads: workerClass.threads, memoryBudgetMB: workerClass.memoryMB, pricePerHour: workerClass.pricePerHour,
      repository: this.#o.repository, listen,
      ...(this.#o.metadata ? { metadata: this.#o.metadata } : {}), ...(this.#o.cacheDir ? { cacheDir: this.#o.cacheDir } : {}),
    });
    const proc = fork(this.#o.workerEntry ?? DEFAULT_ENTRY, args, {
      execArgv: ['--import', TSX],
      env: { ...process.env, ...this.#o.env },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const onStderr = this.#o.onStderr ?? ((wid: string, line: string) => process.stderr.write(`[${wid}] ${line}\n`));
    const lastLines: string[] = [];
    let partial = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        onStderr(id, line);
        lastLines.push(line);
        if (lastLines.length > 40) lastLines.shift();
      }
    });
    return new Promise<WorkerHandle>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(unavailable(`worker ${id} did not start within ${this.#o.startTimeoutMs ?? 30_000} ms`));
      }, this.#o.startTimeoutMs ?? 30_000);
      const exited = new Promise<void>((done) =>
        proc.once('exit', (code, signal) => {
          clearTimeout(timer);
          done();
          if (!ready) {
            // The reason is the last error line it wrote (read once its stderr is drained).
            proc.once('close', () => {
              const why = lastLines.filter((l) => /error|fail/i.test(l)).at(-1) ?? lastLines.filter((l) => l.trim()).at(-1);
              reject(unavailable(`worker ${id} exited during start (${signal ?? `code ${code}`})${why ? `: ${why.trim()}` : ''}`));
            });
            return;
          }
          this.#children.delete(id);
          for (const l of this.#listeners) l({ id, code, signal });
        }),
      );
      proc.on('message', (m: { type?: string; address?: string }) => {
        if (ready || m?.type !== 'ready' || typeof m.address !== 'string') return;
        ready = true;
        clearTimeout(timer);
        const handle: WorkerHandle = { id, workerClass: workerClass.name, address: m.address, pid: proc.pid };
        this.#children.set(id, { handle, proc, exited });
        resolve(handle);
      });
      proc.once('error', (e) => {
        clearTimeout(timer);
        if (!ready) reject(unavailable(`worker ${id} could not be started: ${e.message}`));
      });
    });
  }

  async stop(id: string): Promise<void> {
    const c = this.#children.get(id);
    if (!c) return;
    c.proc.kill('SIGTERM');
    const force = setTimeout(() => c.proc.kill('SIGKILL'), this.#o.stopTimeoutMs ?? 5000);
    await c.exited;
    clearTimeout(force);
  }

  list(): WorkerHandle[] {
    return [...this.#children.values()].map((c) => c.handle);
  }

  onExit(listener: (exit: WorkerExit) => void): void {
    this.#listeners.push(listener);
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((id) => this.stop(id)));
    process.off('exit', this.#killAll);
  }
}
