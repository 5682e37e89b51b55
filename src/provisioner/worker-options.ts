// The options of one worker process, parsed once at start-up from argv (`--id=w1 …`) with environment fallbacks
// (INFAAS_WORKER_ID …), validated, and passed down typed. Also builds the argv for a parent to fork. The same
// options serve a worker forked by a local controller and one started by hand on any host (`infaas worker`).

import { invalid } from '../core/errors.ts';

export interface WorkerOptions {
  id: string;
  /** Name of its worker class. */
  workerClass: string;
  /**
   * Threads of the worker class (caps each session's intra-op threads), its memory budget and price; absent
   * for a worker given `metadata`: then taken from the cluster's worker class of that name.
   */
  threads?: number;
  memoryBudgetMB?: number;
  pricePerHour?: number;
  /** The model repository: a directory, `file:///dir` or `s3://bucket/prefix`; absent with `metadata`: the cluster's. */
  repository?: string;
  /** 'tcp' listens on host:port (port 0 picks one); a path listens on that Unix socket. */
  listen: { host: string; port: number } | { path: string };
  /** The address controllers reach it at, `host:port` (default: the address it listens on). */
  advertise?: string;
  /** Distributed mode: the metadata store (`redis://…`) it registers and heartbeats in. */
  metadata?: string;
  /** Where artifacts downloaded from object storage are cached. */
  cacheDir?: string;
  /** Longest a request with a deadline is held back for others to join its batch, ms (absent: the batcher's default). */
  maxBatchWaitMs?: number;
}

const FLAGS = {
  id: 'INFAAS_WORKER_ID',
  'worker-class': 'INFAAS_WORKER_CLASS',
  threads: 'INFAAS_WORKER_THREADS',
  'memory-mb': 'INFAAS_WORKER_MEMORY_MB',
  'price-per-hour': 'INFAAS_WORKER_PRICE_PER_HOUR',
  repository: 'INFAAS_WORKER_REPOSITORY',
  host: 'INFAAS_WORKER_HOST',
  port: 'INFAAS_WORKER_PORT',
  socket: 'INFAAS_WORKER_SOCKET',
  advertise: 'INFAAS_WORKER_ADVERTISE',
  metadata: 'INFAAS_METADATA_URL',
  'cache-dir': 'INFAAS_WORKER_CACHE_DIR',
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
  const get = (f: Flag) => {
    const v = given.get(f) ?? env[FLAGS[f]];
    return v === '' ? undefined : v;
  };
  const num = (f: Flag) => {
    const v = get(f);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw invalid(`worker: --${f} must be a number >= 0, got "${v}"`);
    return n;
  };
  const id = get('id');
  if (!id) throw invalid('worker: --id is required');
  const metadata = get('metadata');
  const repository = get('repository');
  if (!repository && !metadata) throw invalid('worker: --repository is required (or --metadata, to use the cluster\'s)');
  const threads = num('threads') ?? (metadata ? undefined : 1);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw invalid('worker: --threads must be a positive integer');
  const memoryBudgetMB = num('memory-mb');
  if (memoryBudgetMB === undefined && !metadata) throw invalid('worker: --memory-mb is required');
  if (memoryBudgetMB !== undefined && !(memoryBudgetMB > 0)) throw invalid('worker: --memory-mb must be positive');
  const socket = get('socket');
  const port = num('port') ?? 0;
  if (!Number.isInteger(port) || port > 65535) throw invalid('worker: --port must be 0..65535');
  const advertise = get('advertise');
  if (advertise !== undefined && !/^(\[[^\]]+\]|[^:/\s]+):\d{1,5}$/.test(advertise)) throw invalid(`worker: --advertise must be HOST:PORT, got "${advertise}"`);
  const workerClass = get('worker-class') || (threads !== undefined ? `cpu-${threads}` : undefined);
  if (!workerClass) throw invalid('worker: --worker-class is required (or --threads)');
  const optional = {
    threads, memoryBudgetMB, pricePerHour: num('price-per-hour'), repository, advertise, metadata, cacheDir: get('cache-dir'), maxBatchWaitMs: num('batch-wait-ms'),
  };
  return {
    id,
    workerClass,
    listen: socket ? { path: socket } : { host: get('host') || '127.0.0.1', port },
    ...(Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as Partial<WorkerOptions>),
  };
}

/** The argv that makes parseWorkerOptions return `o`. */
export function workerArgv(o: WorkerOptions): string[] {
  const args = [`--id=${o.id}`, `--worker-class=${o.workerClass}`];
  const optional: Array<[Flag, unknown]> = [
    ['threads', o.threads], ['memory-mb', o.memoryBudgetMB], ['price-per-hour', o.pricePerHour], ['repository', o.repository],
    ['advertise', o.advertise], ['metadata', o.metadata], ['cache-dir', o.cacheDir], ['batch-wait-ms', o.maxBatchWaitMs],
  ];
  for (const [flag, v] of optional) if (v !== undefined) args.push(`--${flag}=${v}`);
  if ('path' in o.listen) args.push(`--socket=${o.listen.path}`);
  else args.push(`--host=${o.listen.host}`, `--port=${o.listen.port}`);
  return args;
}
