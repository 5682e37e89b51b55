// Composition root of one worker process, whoever starts it: a controller forking a local worker, or an operator
// running `infaas worker` on any host. Opens the model repository (and, in distributed mode, the metadata
// store, where it reads the cluster's settings and heartbeats its record), starts ONNX Runtime, and serves its
// replica manager over the framed transport.

import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalid, unavailable } from '../core/errors.ts';
import type { WorkerClass } from '../core/types.ts';
import { OrtNativeBackend } from '../backend/ort-native/ort-backend.ts';
import { keys } from '../metadata/metadata-store.ts';
import type { WorkerOptions } from '../provisioner/worker-options.ts';
import { PROTOCOL_VERSION } from '../protocol/worker-protocol.ts';
import type { ClusterSettings, WorkerRecord } from '../protocol/worker-record.ts';
import { serveWorker } from '../transport/worker-server.ts';
import { WorkerHeartbeat } from '../worker/heartbeat.ts';
import { ReplicaManager } from '../worker/replica-manager.ts';
import { openMetadataStore, openRepository } from './implementations.ts';
import { disableOrtTelemetry } from './ort-telemetry.ts';

export interface RunningWorker {
  id: string;
  /** Where controllers reach it, `tcp://host:port` or `unix:/path`. */
  address: string;
  workerClass: WorkerClass;
  /** Stops taking work, lets queued requests finish (up to `graceMs`), leaves the cluster directory and releases everything. */
  stop(): Promise<void>;
}

export async function runWorker(opts: WorkerOptions, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<RunningWorker> {
  disableOrtTelemetry();
  const store = opts.metadata ? (await openMetadataStore(opts.metadata, '')).store : undefined;
  try {
    const settings = store ? await store.get<ClusterSettings>(keys.cluster) : undefined;
    const workerClass = resolveClass(opts, settings, opts.metadata);
    const repository = opts.repository ?? settings?.repository;
    if (!repository) throw unavailable(`no controller has published the cluster's model repository in ${opts.metadata} yet: start a controller first, or give the worker --repository`);
    const { repo, close: closeRepo } = openRepository(repository, opts.cacheDir ?? join(tmpdir(), 'infaas-artifacts'), env);
    const backend = new OrtNativeBackend();
    await backend.warmUp();
    const manager = new ReplicaManager({
      id: opts.id,
      workerClass: workerClass.name,
      classThreads: workerClass.threads,
      memoryBudgetMB: workerClass.memoryMB,
      backend,
      resolvePath: (key, sha256) => repo.localPath(key, sha256 ? { sha256 } : undefined),
      ...(opts.maxBatchWaitMs !== undefined ? { maxBatchWaitMs: opts.maxBatchWaitMs } : {}),
    });
    const server = await serveWorker(manager, opts.listen);
    manager.address = advertisedAddress(opts, server.address);
    const heartbeat = store
      ? new WorkerHeartbeat({
        store,
        record: (): WorkerRecord => ({ ...manager.status(), protocol: PROTOCOL_VERSION, threads: workerClass.threads, pricePerHour: workerClass.pricePerHour, host: hostname() }),
        log,
      })
      : undefined;
    await heartbeat?.start();
    let stopping: Promise<void> | undefined;
    return {
      id: opts.id,
      address: manager.address,
      workerClass,
      stop: () =>
        (stopping ??= (async () => {
          await heartbeat?.stop();
          await manager.close().catch(() => undefined);
          await server.close();
          closeRepo();
          await store?.close();
        })()),
    };
  } catch (e) {
    await store?.close();
    throw e;
  }
}

/** The worker's class: its flags, filled in from the cluster's class of that name. */
function resolveClass(o: WorkerOptions, settings: ClusterSettings | undefined, metadata: string | undefined): WorkerClass {
  const known = settings?.workerClasses.find((c) => c.name === o.workerClass);
  if (!known && (o.threads === undefined || o.memoryBudgetMB === undefined)) {
    if (!settings) throw unavailable(`no controller has published the cluster's worker classes in ${metadata} yet: start a controller first, or give the worker --threads and --memory-mb`);
    throw invalid(`worker class '${o.workerClass}' is not one of the cluster's (${settings.workerClasses.map((c) => c.name).join(', ')}): pick one, or give --threads and --memory-mb`);
  }
  return {
    name: o.workerClass,
    threads: o.threads ?? known!.threads,
    memoryMB: o.memoryBudgetMB ?? known!.memoryMB,
    pricePerHour: o.pricePerHour ?? known?.pricePerHour ?? 0,
  };
}

/** `--advertise`, or the listening address; a wildcard host becomes this machine's first external IPv4 address. */
function advertisedAddress(o: WorkerOptions, listening: string): string {
  if (o.advertise) return `tcp://${o.advertise}`;
  if ('path' in o.listen || !['0.0.0.0', '::', ''].includes(o.listen.host)) return listening;
  const ip = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
  return listening.replace(/^tcp:\/\/[^:]+:|^tcp:\/\/\[[^\]]+\]:/, `tcp://${ip}:`);
}

/** `infaas worker`: runs until SIGINT/SIGTERM, then stops gracefully. */
export async function runWorkerUntilSignal(opts: WorkerOptions): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const worker = await runWorker(opts, process.env, log);
  log(`worker ${worker.id} (${worker.workerClass.name}: ${worker.workerClass.threads} threads, ${worker.workerClass.memoryMB} MiB) serving at ${worker.address}, registered in ${opts.metadata}`);
  await new Promise<void>((done) => {
    const stop = () => {
      log('worker stopping...');
      worker.stop().then(done, done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
