// Loads a model in ONNX Runtime and runs it once on zeros, in a separate long-lived child process, before a
// registration that is not profiled (a precomputed profile) commits it: a model ORT cannot load or run is refused
// at once instead of failing every later query, and a model that crashes ORT takes down only that child.
//
// One check at a time (a crash is then always the model's being checked); the child starts on the first check,
// is started again after it dies, and leaves after `idleMs` without work. It never keeps the parent alive.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InfaasError, invalidModel, isCode, unavailable, type ErrorCode } from '../core/errors.ts';
import type { OptLevel } from '../core/types.ts';

export interface ModelCheckJob {
  /** The ONNX file's bytes (loaded from memory: no path reaches ORT or its messages). */
  model: Uint8Array;
  /** Per-sample input shape, without the batch dimension. */
  inputShape: readonly number[];
  /** Optimisation levels to load it with, e.g. those of a profile's variants (default ['all']). */
  optLevels?: readonly OptLevel[];
  /** Batch sizes to run on zeros (default [1, 2]: a dynamic batch dimension must really be dynamic). */
  batches?: readonly number[];
  /** Rejects with UNAVAILABLE when aborted (the child is stopped if it was checking this model). */
  signal?: AbortSignal;
}

/** What the parent sends the child. */
export interface CheckRequest {
  id: number;
  model: Uint8Array;
  inputShape: number[];
  optLevels: OptLevel[];
  batches: number[];
}

/** What the child answers: nothing on success, else a typed error. */
export interface CheckReply {
  id: number;
  error?: { code: ErrorCode; error: string };
}

export interface ModelCheckerOptions {
  /** A check that takes longer is abandoned (its child killed) with DEADLINE_EXCEEDED; default 60 s. */
  timeoutMs?: number;
  /** The child leaves after this long without a check; default 30 s. */
  idleMs?: number;
  /** Called with each child's pid once it is started (tests). */
  onSpawn?: (pid: number) => void;
}

const CHILD = fileURLToPath(new URL('./model-check-child.ts', import.meta.url));
/** Signals by which ORT itself dies on a bad model (not the OOM killer's SIGKILL, not a shutdown's SIGTERM). */
const CRASHES = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT']);

export class ModelChecker {
  readonly #timeoutMs: number;
  readonly #idleMs: number;
  readonly #onSpawn?: (pid: number) => void;
  #child?: ChildProcess;
  /** The check in flight: settles it when the child answers or dies. */
  #inFlight?: { id: number; settle: (err?: InfaasError) => void };
  #queue: Promise<void> = Promise.resolve();
  #nextId = 1;
  #idleTimer?: NodeJS.Timeout;
  #closed = false;

  constructor(opts: ModelCheckerOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    this.#idleMs = opts.idleMs ?? 30_000;
    this.#onSpawn = opts.onSpawn;
  }

  /** The child's pid while it runs (tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Resolves when the model loads at every optimisation level and runs on zeros of [batch, ...inputShape] for each
   * batch, its first output float32 with the batch as first dimension. Rejects with INVALID_MODEL and ORT's reason
   * (short, no path) otherwise, or when ORT crashes on it; DEADLINE_EXCEEDED after the timeout; UNAVAILABLE when
   * aborted or closed; INTERNAL when the child dies otherwise.
   */
  check(job: ModelCheckJob): Promise<void> {
    const run = this.#queue.then(() => this.#run(job));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the child; checks queued or in flight reject with UNAVAILABLE. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#inFlight?.settle(unavailable('the model check was cancelled: the server is shutting down'));
    this.#stop();
    await this.#queue;
  }

  #run(job: ModelCheckJob): Promise<void> {
    if (this.#closed) return Promise.reject(unavailable('the model check was cancelled: the server is shutting down'));
    if (job.signal?.aborted) return Promise.reject(unavailable('the model check was cancelled'));
    clearTimeout(this.#idleTimer);
    const child = this.#ensureChild();
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        settle(unavailable('the model check was cancelled'));
        this.#stop();
      };
      const timer = setTimeout(() => {
        settle(new InfaasError('DEADLINE_EXCEEDED', `ONNX Runtime did not load and run the model within ${this.#timeoutMs} ms`));
        this.#stop();
      }, this.#timeoutMs);
      const settle = (err?: InfaasError) => {
        if (this.#inFlight?.id !== id) return;
        this.#inFlight = undefined;
        clearTimeout(timer);
        job.signal?.removeEventListener('abort', onAbort);
        this.#child?.unref();
        this.#child?.channel?.unref();
        if (this.#child && !this.#closed) this.#idleTimer = setTimeout(() => this.#stop(), this.#idleMs).unref();
        if (err) reject(err);
        else resolve();
      };
      this.#inFlight = { id, settle };
      job.signal?.addEventListener('abort', onAbort, { once: true });
      child.ref();
      child.channel?.ref();
      const request: CheckRequest = {
        id, model: job.model, inputShape: [...job.inputShape], optLevels: [...(job.optLevels ?? ['all'])], batches: [...(job.batches ?? [1, 2])],
      };
      // A failed send (EPIPE) means the child is gone or going: its exit, handled once, says why (a crash is the
      // model's fault, anything else is not); a child still running with a broken channel is stopped so that it exits.
      child.send(request, (e) => {
        if (e && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
    });
  }

  #ensureChild(): ChildProcess {
    if (this.#child) return this.#child;
    const child = fork(CHILD, [], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      serialization: 'advanced', // the model's bytes travel as a buffer, not as JSON
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    this.#child = child;
    if (child.pid !== undefined) this.#onSpawn?.(child.pid);
    child.on('message', (raw) => {
      const reply = raw as CheckReply;
      if (reply.id !== this.#inFlight?.id) return;
      const e = reply.error;
      this.#inFlight.settle(e ? new InfaasError(isCode(e.code) ? e.code : 'INTERNAL', e.error) : undefined);
    });
    child.on('error', (e) => this.#childGone(child, new InfaasError('INTERNAL', `the model check process failed: ${e.message}`)));
    child.on('exit', (code, signal) => {
      const err = signal && CRASHES.has(signal)
        ? invalidModel(`ONNX Runtime crashed (${signal}) while loading or running the model`)
        : new InfaasError('INTERNAL', `the model check process stopped (${signal ? `signal ${signal}` : `exit code ${code}`})`);
      this.#childGone(child, err);
    });
    return child;
  }

  #childGone(child: ChildProcess, err: InfaasError): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    clearTimeout(this.#idleTimer);
    this.#inFlight?.settle(err);
  }

  /** Stops the child now (a fresh one starts for the next check). */
  #stop(): void {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    clearTimeout(this.#idleTimer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
