// The options of one worker process, parsed once at start-up from argv (`--id=w1 …`) with environment
// fallbacks (INFAAS_WORKER_ID …), validated, and passed down typed. Also builds the argv for a parent to fork.

import { invalid } from '../core/errors.ts';

export interface WorkerOptions {
  id: string;
  workerClass: string;
  /** Threads of the worker class (caps each session's intra-op threads). */
  threads: number;
  memoryBudgetMB: number;
  /** Root directory of the local model repository. */
  repositoryRoot: string;
  /** 'tcp' listens on 127.0.0.1 (port 0 unless `port`); a path listens on that Unix socket. */
  listen: { host: string; port: number } | { path: string };
  /** Longest a request with a deadline is held back for others to join its batch, ms (absent: the batcher's default). */
  maxBatchWaitMs?: number;
}

const FLAGS = {
  id: 'INFAAS_WORKER_ID',
  'worker-class': 'INFAAS_WORKER_CLASS',
  threads: 'INFAAS_WORKER_THREADS',
  'memory-mb': 'INFAAS_WORKER_MEMORY_MB',
  repository: 'INFAAS_WORKER_REPOSITORY',
  host: 'INFAAS_WORKER_HOST',
  port: 'INFAAS_WORKER_PORT',
  socket: 'INFAAS_WORKER_SOCKET',
  'batch-wait-ms': 'INFAAS_WORKER_BATCH_WAIT_MS',
} as const;
type Flag = keyof typeof FLAGS;

export function parseWorkerOptions(argv: readonly string[], env: NodeJS.ProcessEnv = {}): WorkerOptions {
  const given = new Map<string, string>();
  for (const a of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (!m || !(m[1] in FLAGS)) throw invalid(`worker: unknown argument "${a}" (expected --${Object.keys(FLAGS).join('=, --')}=)`);
    given.set(m[1], m[2]);
  }
  const get = (f: Flag) => given.get(f) ?? env[FLAGS[f]];
  const num = (f: Flag, dflt?: number) => {
    const v = get(f);
    if (v === undefined || v === '') {
      if (dflt === undefined) throw invalid(`worker: --${f} is required`);
      return dflt;
    }
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw invalid(`worker: --${f} must be a number >= 0, got "${v}"`);
    return n;
  };
  const id = get('id');
  if (!id) throw invalid('worker: --id is required');
  const repositoryRoot = get('repository');
  if (!repositoryRoot) throw invalid('worker: --repository is required');
  const threads = num('threads', 1);
  if (!Number.isInteger(threads) || threads < 1) throw invalid('worker: --threads must be a positive integer');
  const memoryBudgetMB = num('memory-mb');
  if (!(memoryBudgetMB > 0)) throw invalid('worker: --memory-mb must be positive');
  const socket = get('socket');
  const port = num('port', 0);
  if (!Number.isInteger(port) || port > 65535) throw invalid('worker: --port must be 0..65535');
  const wait = get('batch-wait-ms');
  return {
    id,
    workerClass: get('worker-class') || `cpu-${threads}`,
    threads,
    memoryBudgetMB,
    repositoryRoot,
    listen: socket ? { path: socket } : { host: get('host') || '127.0.0.1', port },
    ...(wait !== undefined && wait !== '' ? { maxBatchWaitMs: num('batch-wait-ms') } : {}),
  };
}

/** The argv that makes parseWorkerOptions return `o`. */
export function workerArgv(o: WorkerOptions): string[] {
  const args = [`--id=${o.id}`, `--worker-class=${o.workerClass}`, `--threads=${o.threads}`, `--memory-mb=${o.memoryBudgetMB}`, `--repository=${o.repositoryRoot}`];
  if ('path' in o.listen) args.push(`--socket=${o.listen.path}`);
  else args.push(`--host=${o.listen.host}`, `--port=${o.listen.port}`);
  if (o.maxBatchWaitMs !== undefined) args.push(`--batch-wait-ms=${o.maxBatchWaitMs}`);
  return args;
}
