// The controller's one control loop: each manager (worker status polling, leader election, autoscaling,
// orphaned-registration pickup, dispatch-window publishing) registers a task with a period, and the loop calls
// each task's update() when it is due, inside its own try/catch, never two runs of one task at once. A task
// that throws is counted, logged (once per kind of failure, so an outage does not flood the log) and runs again
// at its next period: a dead control loop is the worst failure a server can have.

import type { PoolLogger } from './worker-pool.ts';

export interface ControlTask {
  name: string;
  /** Period, ms. */
  everyMs: number;
  update(): Promise<void> | void;
}

interface Scheduled {
  task: ControlTask;
  dueAt: number;
  running?: Promise<void>;
  errors: number;
  /** The message of the failure in progress, if the last run failed (logged once until the task recovers). */
  failing?: string;
}

export class ControlLoop {
  readonly #tasks: Scheduled[] = [];
  readonly #log: PoolLogger;
  readonly #now: () => number;
  #timer?: NodeJS.Timeout;
  #closed = false;

  constructor(opts: { log: PoolLogger; now?: () => number }) {
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
  }

  /** Adds a task; its first run is one period from now. */
  add(task: ControlTask): void {
    this.#tasks.push({ task, dueAt: this.#now() + task.everyMs, errors: 0 });
    if (this.#timer) this.#arm();
  }

  start(): void {
    if (!this.#closed) this.#arm();
  }

  /** Errors per task so far. */
  errors(): Record<string, number> {
    return Object.fromEntries(this.#tasks.map((s) => [s.task.name, s.errors]));
  }

  /** Stops scheduling; resolves when the runs in progress have ended. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#tasks.map((s) => s.running));
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#closed || !this.#tasks.length) return;
    const next = Math.min(...this.#tasks.map((s) => s.dueAt));
    if (next === Infinity) return; // every task is running: the first to end re-arms
    this.#timer = setTimeout(() => this.#runDue(), Math.max(0, next - this.#now()));
    this.#timer.unref();
  }

  #runDue(): void {
    const now = this.#now();
    for (const s of this.#tasks) {
      if (s.dueAt > now || s.running) continue;
      s.running = (async () => {
        try {
          await s.task.update();
          if (s.failing !== undefined) this.#log.warn(`${s.task.name}: working again`);
          s.failing = undefined;
        } catch (e) {
          s.errors++;
          const message = (e as Error).message ?? String(e);
          if (message !== s.failing) this.#log.error(`${s.task.name}: ${(e as Error).stack ?? e}${s.failing === undefined ? '' : ' (still failing; logged again only when the error changes)'}`);
          s.failing = message;
        }
      })().finally(() => {
        s.running = undefined;
        s.dueAt = this.#now() + s.task.everyMs;
        this.#arm();
      });
      s.dueAt = Infinity; // rescheduled when this run ends
    }
    this.#arm();
  }
}
