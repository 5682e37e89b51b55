// Composition root of `infaas serve` / `infaas demo`: chooses the implementations (embedded store, local
// repository, local child-process workers, ORT native backend), wires the controller and starts REST.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, type AutoscalePolicyName, type InfaasConfig } from '../config/config.ts';
import { EmbeddedStore } from '../metadata/embedded/log-store.ts';
import { LocalRepository } from '../repository/local/local-repository.ts';
import { LocalProvisioner } from '../provisioner/local/local-provisioner.ts';
import { WorkerPool } from '../controller/worker-pool.ts';
import { TcpWorkerClient } from '../transport/worker-connection.ts';
import { ModelIndex } from '../controller/model-index.ts';
import { Registry, type ProfilerRunner } from '../controller/registry.ts';
import { Dispatcher, type UseCaseRouter } from '../controller/dispatcher.ts';
import { LiveClusterView } from '../controller/live-cluster-view.ts';
import { AutoscalerLoop, livePolicy } from '../controller/autoscaler-loop.ts';
import { forecastPeak, pastWindows, scheduleForecast } from '../policy/load-schedule.ts';
import { WorkerStateRecorder } from '../controller/worker-state-recorder.ts';
import { InfaasApi } from '../api/facade.ts';
import { buildRestServer } from '../frontends/rest/rest-server.ts';
import { runProfileJob } from '../profiler/profile-job.ts';
import { variantsFromProfileFile } from '../profiler/precomputed.ts';
import { registerZoo } from './register-zoo.ts';

export interface ServerOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  demo: boolean;
  /** Overrides for tests (e.g. a smaller profiling grid). */
  config?: Partial<InfaasConfig>;
  /** Print progress and example queries (the CLI); tests pass false. */
  verbose?: boolean;
  /** `--autoscale POLICY`: overrides config autoscaling.policy. */
  autoscale?: AutoscalePolicyName;
}

export interface RunningServer {
  url: string;
  api: InfaasApi;
  registry: Registry;
  config: InfaasConfig;
  /** The live autoscaling loop, when autoscaling.policy is not 'off'. */
  autoscaler?: AutoscalerLoop;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const dataDir = resolve(opts.dataDir ?? '.infaas');
  mkdirSync(dataDir, { recursive: true });
  const autoscaling = opts.autoscale ? { ...opts.config?.autoscaling, policy: opts.autoscale } : opts.config?.autoscaling;
  const config = loadConfig(dataDir, {
    ...opts.config, port: opts.port ?? opts.config?.port, host: opts.host ?? opts.config?.host, ...(autoscaling ? { autoscaling: autoscaling as InfaasConfig['autoscaling'] } : {}),
  });
  const log = opts.verbose ? (s: string) => process.stderr.write(`${s}\n`) : () => undefined;

  const store = await EmbeddedStore.open(dataDir);
  const repoRoot = resolve(dataDir, 'models');
  const repo = new LocalRepository(repoRoot);
  let index = await ModelIndex.load(store);
  const workerClass = config.workerClasses.find((c) => c.name === config.initialWorkers.workerClass)!;
  // Every worker (at boot and added by the autoscaler) is of this class: no variant needing more threads is cold-started.
  const view = new LiveClusterView({ maxThreads: workerClass.threads });

  // Local workers listen on Unix sockets: measurably faster than loopback TCP (bench/transport.ts).
  const socketDir = mkdtempSync(join(tmpdir(), 'infaas-'));
  const provisioner = new LocalProvisioner({ repositoryRoot: repoRoot, socketDir });
  const recorder = new WorkerStateRecorder(store);
  const pool = new WorkerPool({
    provisioner,
    timeoutMs: config.workerTimeoutMs,
    connect: (h, o) => TcpWorkerClient.connect(h.id, h.address, o),
    onStatus: (s) => {
      view.sync(s, index.variants);
      recorder.record(s);
    },
  });
  await pool.start({ workerClass, count: config.initialWorkers.count });
  const profiler: ProfilerRunner = {
    profile: (job, onProgress) =>
      runProfileJob(
        { path: job.modelPath, validationPath: job.validationPath, artifactId: job.artifactId, arch: job.arch, useCase: job.useCase, grid: config.profiling, workerClasses: config.workerClasses, timeoutMs: 10 * 60_000, signal: job.signal },
        onProgress,
      ),
  };
  const registry = new Registry({
    store,
    repo,
    profiler,
    precomputed: (json, ctx) => variantsFromProfileFile(json, { ...ctx, workerClasses: config.workerClasses }),
    onChange: (change) => {
      index = index.with(change);
    },
  });
  // While the autoscaling loop runs, use-case queries are routed by its policy (as in the simulator).
  let autoscaler: AutoscalerLoop | undefined;
  const viaPolicy: UseCaseRouter = (q, v, catalogue, now) => autoscaler!.route(q, v, catalogue, now);
  const dispatcher = new Dispatcher({ index: () => index, workers: pool, view, route: () => (autoscaler ? viaPolicy : undefined) });
  const schedule = config.autoscaling.policy === 'ours' && config.autoscaling.schedule ? scheduleForecast(config.autoscaling.schedule) : undefined;
  const scheduleStatus = () => (schedule ? { schedule: { leadS: schedule.leadMs / 1000, expectedQps: forecastPeak(schedule, Date.now()) } } : {});
  if (config.autoscaling.schedule) {
    if (!schedule) process.stderr.write(`[autoscaler] the load schedule is not used: autoscaling is ${config.autoscaling.policy}\n`);
    for (const w of pastWindows(config.autoscaling.schedule, Date.now())) process.stderr.write(`[autoscaler] the load schedule's window at ${w.start} is over already\n`);
  }
  if (config.autoscaling.policy !== 'off') {
    autoscaler = new AutoscalerLoop({
      policy: livePolicy(config.autoscaling, workerClass.name, schedule), pool, index: () => index, workerClasses: config.workerClasses,
      minWorkers: config.initialWorkers.count, maxWorkers: config.autoscaling.maxWorkers, window: () => dispatcher.takeWindow(),
      log: { info: log, warn: (m) => process.stderr.write(`[autoscaler] ${m}\n`), error: (m) => process.stderr.write(`[autoscaler] ERROR ${m}\n`) },
    });
    autoscaler.start();
    if (schedule) log(`load schedule: ${config.autoscaling.schedule!.windows.length} window(s), planned ${schedule.leadMs / 1000} s ahead`);
    log(`autoscaling with policy ${config.autoscaling.policy} (at most ${config.autoscaling.maxWorkers} workers)`);
  }

  const api = new InfaasApi({
    index: () => index, registry, dispatcher, workers: () => pool.snapshot(),
    autoscaling: () => (autoscaler ? { policy: config.autoscaling.policy, maxWorkers: config.autoscaling.maxWorkers, ...autoscaler.stats(), ...scheduleStatus() } : { policy: 'off' }),
  });
  const resumed = await registry.resume();
  if (resumed) log(`resuming ${resumed} interrupted registration(s)`);

  const app = await buildRestServer(api, { bodyLimit: config.maxBodyBytes, modelLimit: config.maxModelBytes });
  await app.listen({ port: config.port, host: config.host });
  const addr = app.server.address();
  const url = `http://${config.host}:${typeof addr === 'object' && addr ? addr.port : config.port}`;
  log(`INFaaS serving on ${url} (data dir ${dataDir}, ${pool.clients().length} worker(s), ${index.variants.size} variants)`);

  let closing: Promise<void> | undefined;
  const server: RunningServer = {
    url,
    api,
    registry,
    config,
    ...(autoscaler ? { autoscaler } : {}),
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await registry.close().catch(() => undefined);
        await autoscaler?.close();
        await pool.close();
        await provisioner.shutdown();
        await recorder.close();
        rmSync(socketDir, { recursive: true, force: true });
        await store.close();
      })()),
  };
  if (opts.demo) await registerZoo(api, registry, log);
  return server;
}

/** Runs until SIGINT/SIGTERM (the CLI's `serve` and `demo`). */
export async function runServer(opts: ServerOptions): Promise<void> {
  const server = await startServer({ verbose: true, ...opts });
  if (opts.demo) printExamples(server.url);
  await new Promise<void>((done) => {
    const stop = () => {
      process.stderr.write('shutting down...\n');
      server.close().then(done, done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function printExamples(url: string): void {
  const s = url === 'http://127.0.0.1:8080' ? '' : ` --server ${url}`;
  process.stdout.write(`
Ready. Try, in another terminal:
  npx infaas modarch classification fashion-mnist${s}
  npx infaas modinfo fmnist-cnn-m${s}
  npx infaas query -i examples/fashion-mnist/ankle-boot.png -t classification -D fashion-mnist -A 85 -l 20${s}
  npx infaas query -i examples/fashion-mnist/sneaker.png -i examples/fashion-mnist/trouser.png -a fmnist-cnn-s -l 10${s}
  curl -s '${url}/v1/infer?task=classification&dataset=fashion-mnist&minAccuracy=80&latencyMs=10' \\
    -H 'content-type: image/png' --data-binary @examples/fashion-mnist/ankle-boot.png
`);
}
