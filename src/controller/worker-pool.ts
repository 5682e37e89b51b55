// The controller's connected workers: those it starts through a Provisioner, and (distributed mode) those it
// is told about by the cluster's worker directory (`adopt`: workers on other hosts, pods, workers another
// controller started). It connects a WorkerClient to each, keeps a cached WorkerStatus snapshot fresh (polled
// about every second, and right after loads, unloads and cold starts) for the dispatcher's synchronous worker
// choice, and drops a worker the moment its connection closes. A crashed or hung worker that this pool
// started through a provisioner that does not replace workers itself (local child processes) is replaced
// with backoff, and a crash-looping one given up after too many restarts in a window; any other worker is
// only forgotten, until it (or its replacement) shows up in the directory again.

import { performance } from 'node:perf_hooks';
import { unavailable, type InfaasError } from '../core/errors.ts';
import type { WorkerClass, WorkerStatus } from '../core/types.ts';
import type { Provisioner, WorkerExit, WorkerHandle } from '../provisioner/provisioner.ts';
import type { WorkerClient } from '../protocol/worker-protocol.ts';
import { PooledClient } from './pooled-client.ts';

export interface PoolLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface WorkerPoolOptions {
  /** Starts and stops workers; absent when workers are only ever started outside (by hand, `provisioner: none`). */
  provisioner?: Provisioner;
  /** Per-call timeout of every worker call, ms. */
  timeoutMs: number;
  /** Status poll period, ms (default 1000). */
  statusIntervalMs?: number;
  /** Restarts allowed within restartWindowMs before a crash-looping worker is given up (default 5). */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** First restart delay, doubling per recent crash up to 10 s (default 200 ms). */
  restartBackoffMs?: number;
  /** How to connect to a started worker (the composition root passes the transport's client). */
  connect: (handle: WorkerHandle, opts: { timeoutMs: number }) => Promise<WorkerClient>;
  /** Called with the whole snapshot whenever a status changes or a worker comes or goes. */
  onStatus?: (snapshot: WorkerStatus[]) => void;
  log?: PoolLogger;
  /** Monotonic clock for the restart window, ms. */
  now?: () => number;
}

/** One place in the pool: a worker class and the crash history of the workers that held it. */
interface Slot {
  workerClass: WorkerClass;
  crashes: number[];
}

/** A worker the cluster's directory lists: where it is, and when it started (to tell a restart from a ghost). */
export interface KnownWorker {
  id: string;
  address: string;
  workerClass: WorkerClass;
  startedAt: number;
}

interface Entry {
  /** 'started': by this pool through its provisioner; 'adopted': found in the directory. */
  origin: 'started' | 'adopted';
  /** An adopted worker's start time as the directory listed it (its record's startedAt). */
  listedStartedAt?: number;
  handle: WorkerHandle;
  client: WorkerClient;
  pooled: PooledClient;
  slot: Slot;
  status: WorkerStatus;
  polling: boolean;
  refreshQueued: boolean;
  lost: boolean;
}

/** When a worker started, as far as the pool knows: a listing with a later start is a restart. */
const startOf = (e: Entry) => Math.max(e.status.startedAt, e.listedStartedAt ?? -Infinity);

/** How long after a failed attempt to connect to a listed worker the pool tries again. */
const ADOPT_RETRY_MS = 10_000;

const defaultLog: PoolLogger = {
  info: () => undefined,
  warn: (m) => process.stderr.write(`[pool] ${m}\n`),
  error: (m) => process.stderr.write(`[pool] ERROR ${m}\n`),
};

export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #log: PoolLogger;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  /** Adopted workers being connected now, and the start time of each worker lost (not to reconnect to a dead one). */
  readonly #adopting = new Set<string>();
  readonly #lost = new Map<string, number>();
  /** When adopting each unreachable worker last failed (ms since epoch): tried again after ADOPT_RETRY_MS. */
  readonly #unreachable = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #poller?: NodeJS.Timeout;
  #closed = false;
  #restarts = 0;
  #givenUp = 0;

  constructor(opts: WorkerPoolOptions) {
    this.#o = opts;
    this.#log = opts.log ?? defaultLog;
    this.#now = opts.now ?? (() => performance.now());
    opts.provisioner?.onExit((e) => this.#onExit(e));
  }

  /** Starts `count` workers of a class (none without a provisioner) and begins status polling; rejects if any worker fails to start. */
  async start(initial: { workerClass: WorkerClass; count: number }): Promise<void> {
    this.#poller ??= setInterval(() => void this.refresh(), this.#o.statusIntervalMs ?? 1000);
    this.#poller.unref();
    if (!this.#o.provisioner) return;
    const results = await Promise.allSettled(Array.from({ length: initial.count }, () => this.#launch({ workerClass: initial.workerClass, crashes: [] })));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Whether this pool can start and stop workers (it has a provisioner). */
  get canProvision(): boolean {
    return this.#o.provisioner !== undefined;
  }

  /** Starts one more worker (worker-level autoscaling); rejects without a provisioner. */
  async add(workerClass: WorkerClass): Promise<WorkerClient> {
    if (!this.#o.provisioner) throw unavailable('this controller cannot start workers (provisioner none): start them with `infaas worker`');
    return (await this.#launch({ workerClass, crashes: [] })).pooled;
  }

  /**
   * A worker the cluster's directory lists: connects to it unless it is connected (or being connected)
   * already, or it is one this pool lost and it has not restarted since. Resolves when done; never rejects
   * (a worker that cannot be reached is logged and tried again at its next listing).
   */
  async adopt(w: KnownWorker): Promise<void> {
    if (this.#closed || this.#entries.has(w.id) || this.#adopting.has(w.id)) return;
    const lostAt = this.#lost.get(w.id);
    if (lostAt !== undefined && w.startedAt <= lostAt) return;
    if (Date.now() - (this.#unreachable.get(w.id) ?? -Infinity) < ADOPT_RETRY_MS) return;
    this.#adopting.add(w.id);
    try {
      const handle: WorkerHandle = { id: w.id, workerClass: w.workerClass.name, address: w.address };
      const client = await this.#o.connect(handle, { timeoutMs: this.#o.timeoutMs });
      if (this.#closed || this.#entries.has(w.id)) {
        client.close();
        return;
      }
      this.#lost.delete(w.id);
      this.#unreachable.delete(w.id);
      const entry = await this.#enter('adopted', handle, client, { workerClass: w.workerClass, crashes: [] });
      entry.listedStartedAt = w.startedAt;
    } catch (e) {
      this.#log.warn(`cannot use worker ${w.id} at ${w.address}: ${(e as Error).message} (trying again in ${ADOPT_RETRY_MS / 1000} s)`);
      this.#unreachable.set(w.id, Date.now());
    } finally {
      this.#adopting.delete(w.id);
    }
  }

  /** Stops a worker on purpose (it is not restarted); without a provisioner that can stop it, only forgets it. */
  async remove(id: string): Promise<void> {
    const e = this.#entries.get(id);
    if (!e) return;
    e.lost = true;
    this.#entries.delete(id);
    this.#lost.set(id, startOf(e));
    this.#emit();
    await this.#o.provisioner?.stop(id);
    e.client.close();
  }

  /** Connected workers, in start order. */
  clients(): WorkerClient[] {
    return [...this.#entries.values()].map((e) => e.pooled);
  }

  get(id: string): WorkerClient | undefined {
    return this.#entries.get(id)?.pooled;
  }

  /** The latest status of every connected worker (cached; never blocks). */
  snapshot(): WorkerStatus[] {
    return [...this.#entries.values()].map((e) => e.status);
  }

  stats(): { workers: number; restarts: number; givenUp: number } {
    return { workers: this.#entries.size, restarts: this.#restarts, givenUp: this.#givenUp };
  }

  /** Polls every worker's status now (or one worker's); resolves when the snapshot is updated. */
  async refresh(id?: string): Promise<void> {
    const targets = id ? [this.#entries.get(id)].filter((e): e is Entry => !!e) : [...this.#entries.values()];
    const polls = targets
      .filter((e) => !e.polling)
      .map(async (e) => {
        e.polling = true;
        try {
          e.status = await e.client.status();
        } catch (err) {
          // A dead worker is handled by its exit. One that cannot answer a status call within the per-call
          // timeout is hung (its event loop is stuck): replace it.
          if ((err as InfaasError).code === 'DEADLINE_EXCEEDED') this.#lose(e, `did not answer a status call within ${this.#o.timeoutMs} ms; replacing it`);
        } finally {
          e.polling = false;
        }
      });
    if (!polls.length) return;
    await Promise.all(polls);
    this.#emit();
  }

  /** Stops every worker (letting queued requests finish) and closes the connections; nothing restarts after. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#poller) clearInterval(this.#poller);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const entries = [...this.#entries.values()];
    for (const e of entries) e.lost = true;
    await Promise.all(entries.filter((e) => e.origin === 'started').map((e) => this.#o.provisioner?.stop(e.handle.id).catch(() => undefined)));
    for (const e of entries) e.client.close();
    this.#entries.clear();
  }

  /** Schedules one status poll of a worker soon (coalesced). */
  refreshSoon(id: string): void {
    const e = this.#entries.get(id);
    if (!e || e.refreshQueued) return;
    e.refreshQueued = true;
    setImmediate(() => {
      e.refreshQueued = false;
      void this.refresh(id);
    });
  }

  async #launch(slot: Slot): Promise<Entry> {
    const provisioner = this.#o.provisioner!;
    const handle = await provisioner.start(slot.workerClass);
    let client: WorkerClient;
    try {
      if (this.#closed) throw new Error('pool closed');
      client = await this.#o.connect(handle, { timeoutMs: this.#o.timeoutMs });
    } catch (err) {
      await provisioner.stop(handle.id).catch(() => undefined);
      throw err;
    }
    const adopted = this.#entries.get(handle.id);
    if (adopted) {
      // the directory announced it first: it is ours now
      client.close();
      adopted.origin = 'started';
      adopted.slot = slot;
      return adopted;
    }
    return this.#enter('started', handle, client, slot);
  }

  async #enter(origin: Entry['origin'], handle: WorkerHandle, client: WorkerClient, slot: Slot): Promise<Entry> {
    const now = Date.now();
    const status: WorkerStatus = {
      id: handle.id, workerClass: handle.workerClass, address: handle.address, pid: handle.pid, startedAt: now, updatedAt: now,
      memoryBudgetMB: slot.workerClass.memoryMB, memoryUsedMB: 0, replicas: [],
    };
    const entry: Entry = { origin, handle, client, pooled: new PooledClient(client, this), slot, status, polling: false, refreshQueued: false, lost: false };
    this.#entries.set(handle.id, entry);
    void client.closed.then(() => this.#lose(entry, 'connection closed'));
    await this.refresh(handle.id);
    this.#log.info(`worker ${handle.id} (${handle.workerClass}) ready at ${handle.address}${origin === 'adopted' ? ' (from the cluster directory)' : ''}`);
    return entry;
  }

  #onExit(exit: WorkerExit): void {
    const e = this.#entries.get(exit.id);
    if (e) this.#lose(e, `exited (${exit.signal ?? `code ${exit.code}`})`);
  }

  /**
   * A worker died or dropped its connection: forget it at once. One this pool started through a provisioner
   * that does not replace workers itself is stopped for sure and replaced; any other is left to its platform
   * (or operator) and adopted again when it reappears in the directory with a later start time.
   */
  #lose(e: Entry, why: string): void {
    if (e.lost) return;
    e.lost = true;
    if (this.#entries.get(e.handle.id) === e) this.#entries.delete(e.handle.id);
    this.#lost.set(e.handle.id, startOf(e));
    e.client.close();
    this.#emit();
    if (this.#closed) return;
    this.#log.warn(`worker ${e.handle.id} ${why}`);
    const provisioner = this.#o.provisioner;
    if (e.origin !== 'started' || !provisioner || provisioner.replacesCrashed) return;
    void provisioner.stop(e.handle.id).catch(() => undefined);
    this.#crashed(e.slot);
  }

  #crashed(slot: Slot): void {
    const now = this.#now();
    const windowMs = this.#o.restartWindowMs ?? 60_000;
    slot.crashes = slot.crashes.filter((t) => now - t < windowMs);
    slot.crashes.push(now);
    const max = this.#o.maxRestarts ?? 5;
    if (slot.crashes.length > max) {
      this.#givenUp++;
      this.#log.error(`a ${slot.workerClass.name} worker crashed ${slot.crashes.length} times within ${windowMs / 1000} s; not restarting it`);
      return;
    }
    const delay = Math.min((this.#o.restartBackoffMs ?? 200) * 2 ** (slot.crashes.length - 1), 10_000);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closed) return;
      this.#restarts++;
      this.#launch(slot).then(
        (e) => this.#log.info(`restarted a ${slot.workerClass.name} worker as ${e.handle.id}`),
        (err: Error) => {
          if (this.#closed) return;
          this.#log.warn(`restarting a ${slot.workerClass.name} worker failed: ${err.message}`);
          this.#crashed(slot);
        },
      );
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }

  #emit(): void {
    this.#o.onStatus?.(this.snapshot());
  }
}
