// `infaas worker`: runs a worker on this host for a distributed cluster. It registers itself in the cluster's
// metadata store (Redis) with its address, class, memory budget and price, heartbeats, and is used by every
// controller; the model repository and the class's size come from the cluster's settings unless given.

import { hostname } from 'node:os';
import { usageError } from '../cli-error.ts';
import { numberFlag, str, type ParsedArgs } from '../args.ts';
import type { CliContext } from '../cli-context.ts';
import type { Command } from '../command.ts';
import type { WorkerOptions } from '../../provisioner/worker-options.ts';

const HOST_PORT = /^(\[[^\]]+\]|[^:/\s]+):(\d{1,5})$/;

/** The worker's options from the command's flags (and INFAAS_METADATA_URL). */
export function workerOptions(args: ParsedArgs, env: Record<string, string | undefined>): WorkerOptions {
  const cmd = 'worker';
  const metadata = str(args, 'metadata') ?? env.INFAAS_METADATA_URL;
  if (!metadata) throw usageError('--metadata redis://HOST:PORT/DB is required (or INFAAS_METADATA_URL): it is how controllers find this worker', cmd);
  const listen = str(args, 'listen') ?? '0.0.0.0:7070';
  const m = HOST_PORT.exec(listen);
  if (!m || Number(m[2]) > 65535) throw usageError(`--listen must be HOST:PORT, got "${listen}"`, cmd);
  const advertise = str(args, 'advertise');
  if (advertise !== undefined && !HOST_PORT.test(advertise)) throw usageError(`--advertise must be HOST:PORT, got "${advertise}"`, cmd);
  const threads = numberFlag('threads', str(args, 'threads'), { integer: true, min: 1 }, cmd);
  const memoryBudgetMB = numberFlag('memory-mb', str(args, 'memory-mb'), { exclusiveMin: 0 }, cmd);
  const pricePerHour = numberFlag('price-per-hour', str(args, 'price-per-hour'), { min: 0 }, cmd);
  const optional = { threads, memoryBudgetMB, pricePerHour, advertise, repository: str(args, 'repository'), cacheDir: str(args, 'cache-dir') };
  return {
    id: str(args, 'id') ?? `${hostname()}-${process.pid}`,
    workerClass: str(args, 'class') ?? (threads ? `cpu-${threads}` : 'cpu-2'),
    listen: { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) },
    metadata,
    ...(Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as Partial<WorkerOptions>),
  };
}

export const workerCommand: Command = {
  spec: {
    name: 'worker',
    summary: 'Run a worker on this host for a cluster that shares a Redis metadata store (distributed mode).',
    usage: 'worker --metadata URL [--listen HOST:PORT] [--advertise HOST:PORT] [--class NAME] [--id NAME]',
    notes: [
      'The worker registers itself in the metadata store and heartbeats every second; every controller of the cluster',
      'connects to it. Its model repository and the size of its class come from the settings the controllers publish',
      'there, unless given. It stops gracefully on SIGINT/SIGTERM (queued requests finish, then it leaves the cluster).',
    ],
    examples: [
      'infaas worker --metadata redis://10.0.0.2:6379/0 --class cpu-2',
      'infaas worker --metadata redis://redis:6379/0 --listen 0.0.0.0:7070 --advertise 10.0.0.7:7070 --id gpu-box-1',
    ],
    options: {
      metadata: { type: 'string', valueName: 'URL', description: 'the cluster\'s metadata store, redis://HOST:PORT/DB (default $INFAAS_METADATA_URL)' },
      listen: { type: 'string', valueName: 'HOST:PORT', description: 'where to accept controllers\' connections (default 0.0.0.0:7070)' },
      advertise: { type: 'string', valueName: 'HOST:PORT', description: 'the address controllers reach it at (default: this host\'s first external IPv4 address and the listen port)' },
      class: { type: 'string', valueName: 'NAME', description: 'its worker class, one of the cluster\'s (default cpu-2)' },
      id: { type: 'string', valueName: 'NAME', description: 'its name in the cluster (default HOSTNAME-PID)' },
      threads: { type: 'string', valueName: 'N', description: 'threads of its class (default: the cluster\'s class)' },
      'memory-mb': { type: 'string', valueName: 'N', description: 'memory budget for replicas, MiB (default: the cluster\'s class)' },
      'price-per-hour': { type: 'string', valueName: 'X', description: 'price per hour (default: the cluster\'s class)' },
      repository: { type: 'string', valueName: 'URL', description: 'model repository, s3://BUCKET/PREFIX or a directory (default: the cluster\'s)' },
      'cache-dir': { type: 'string', valueName: 'DIR', description: 'where downloaded models are cached (default: the system temp dir)' },
    },
    positionals: { min: 0, max: 0 },
    client: false,
  },
  run: async (args, ctx: CliContext) => {
    const runWorker = await ctx.loadWorker();
    await runWorker(workerOptions(args, ctx.env));
  },
};
