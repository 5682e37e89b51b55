// Runs the profiler in a separate child process, so that measurements are not disturbed by the controller's event
// loop and a model that crashes ONNX Runtime cannot take the controller down. Progress streams back over IPC.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InfaasError, isCode, type ErrorCode } from '../core/errors.ts';
import { ortReason } from '../onnx/ort-message.ts';
import type { WorkerClass } from '../core/types.ts';
import type { ProfilingGrid } from '../config/config.ts';
import type { ProfileEffort, ProfileProgress, ProfileResult } from './profiler.ts';

export interface ProfileJobOptions {
  /** Local path of the ONNX file. */
  path: string;
  artifactId: string;
  arch: string;
  /** Use case id, `${task}/${dataset}`. */
  useCase: string;
  /** Local path of the `.valset` file; the child reads it (big buffers never cross IPC). */
  validationPath: string;
  grid: ProfilingGrid;
  workerClasses: WorkerClass[];
  effort?: ProfileEffort;
  /** Kill the child and reject with DEADLINE_EXCEEDED after this long (default: no limit). */
  timeoutMs?: number;
  /** Kill the child and reject with UNAVAILABLE when aborted (e.g. controller shutdown). */
  signal?: AbortSignal;
  /** Called once with the child's pid after it is started (logging, tests). */
  onSpawn?: (pid: number) => void;
}

/** What the parent passes to the child (argv[2], JSON). */
export type ChildJob = Omit<ProfileJobOptions, 'timeoutMs' | 'signal' | 'onSpawn'>;

/** Messages from the child to the parent. */
export type ChildMessage =
  | { type: 'progress'; progress: ProfileProgress }
  | { type: 'result'; result: ProfileResult }
  | { type: 'error'; error: { code: ErrorCode; error: string; details?: Record<string, unknown> } };

const CHILD = fileURLToPath(new URL('./profile-child.ts', import.meta.url));
const STDERR_TAIL = 4000;

/**
 * Profiles an artifact in a fresh child process (`node --import tsx --expose-gc profile-child.ts`).
 * Resolves with the profile; rejects with the child's typed error (INVALID_MODEL with ONNX Runtime's message when
 * the model does not load or run on the use case's input shape, INVALID_ARGUMENT for a bad grid or validation set),
 * INTERNAL when the child dies without answering (its exit code/signal and stderr tail in the message),
 * DEADLINE_EXCEEDED on timeout, UNAVAILABLE when aborted.
 */
export function runProfileJob(opts: ProfileJobOptions, onProgress: (p: ProfileProgress) => void = () => {}): Promise<ProfileResult> {
  const job: ChildJob = {
    path: opts.path,
    artifactId: opts.artifactId,
    arch: opts.arch,
    useCase: opts.useCase,
    validationPath: opts.validationPath,
    grid: opts.grid,
    workerClasses: opts.workerClasses,
    ...(opts.effort ? { effort: opts.effort } : {}),
  };
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new InfaasError('UNAVAILABLE', 'profiling cancelled'));
    const child = fork(CHILD, [JSON.stringify(job)], {
      execArgv: ['--import', import.meta.resolve('tsx'), '--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let settled = false;
    const finish = (err: InfaasError | undefined, result?: ProfileResult) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(err);
      } else resolve(result!);
    };
    const onAbort = () => finish(new InfaasError('UNAVAILABLE', 'profiling cancelled'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => finish(new InfaasError('DEADLINE_EXCEEDED', `profiling did not finish within ${opts.timeoutMs} ms`)), opts.timeoutMs);

    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL);
    });
    child.on('message', (raw) => {
      const msg = raw as ChildMessage;
      if (settled) return;
      if (msg.type === 'progress') onProgress(msg.progress);
      else if (msg.type === 'result') finish(undefined, msg.result);
      else if (msg.type === 'error') {
        const code: ErrorCode = isCode(msg.error.code) ? msg.error.code : 'INTERNAL';
        finish(new InfaasError(code, msg.error.error, msg.error.details));
      }
    });
    child.on('error', (e) => finish(new InfaasError('INTERNAL', `profiling process failed to start: ${ortReason(e)}`)));
    child.on('close', (code, signal) => {
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      // The tail (a stack trace, ORT's last words) without the server's paths.
      const tail = stderr.trim() ? `: ${ortReason(stderr.trim().split('\n').slice(-5).join(' | '), [opts.path, opts.validationPath])}` : '';
      finish(new InfaasError('INTERNAL', `profiling process died (${how})${tail}`));
    });
  });
}
