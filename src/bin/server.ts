// Composition root of `infaas serve` / `infaas demo`: chooses the implementations from the configuration (embedded
// store or Redis, local directory or S3, local child processes, Kubernetes or no provisioner), wires the
// controller, and starts REST. One code path for both modes: with the embedded store this process is the only
// controller (and always the autoscaling leader); with Redis it is one of several.

import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { configFromEnv, loadConfig, type AutoscalePolicyName, type InfaasConfig } from '../config/config.ts';
import { InfaasError, asInfaasError, unavailable } from '../core/errors.ts';
import { keys } from '../metadata/metadata-store.ts';
import type { ClusterSettings } from '../protocol/worker-record.ts';
import type { Provisioner } from '../provisioner/provisioner.ts';
import { LocalProvisioner } from '../provisioner/local/local-provisioner.ts';
import { WorkerPool, type PoolLogger } from '../controller/worker-pool.ts';
import { WorkerDirectory } from '../controller/worker-directory.ts';
import { ModelIndex } from '../controller/model-index.ts';
import { CatalogueSync } from '../controller/catalogue-sync.ts';
import { Registry, type ProfilerRunner } from '../controller/registry.ts';
import { Dispatcher, type UseCaseRouter } from '../controller/dispatcher.ts';
import { LiveClusterView } from '../controller/live-cluster-view.ts';
import { AutoscalerLoop, livePolicy } from '../controller/autoscaler-loop.ts';
import { ControlLoop } from '../controller/control-loop.ts';
import { LeaderElection } from '../controller/leader-election.ts';
import { StorePins } from '../controller/pins.ts';
import { SharedWindows } from '../controller/shared-windows.ts';
import { forecastPeak, pastWindows, scheduleForecast } from '../policy/load-schedule.ts';
import { WorkerStateRecorder } from '../controller/worker-state-recorder.ts';
import { TcpWorkerClient } from '../transport/worker-connection.ts';
import { InfaasApi } from '../api/facade.ts';
import { buildRestServer } from '../frontends/rest/rest-server.ts';
import { isLoopback } from '../frontends/rest/host-check.ts';
import { runProfileJob } from '../profiler/profile-job.ts';
import { ModelChecker } from '../profiler/model-check.ts';
import { variantsFromProfileFile } from '../profiler/precomputed.ts';
import { openMetadataStore, openRepository } from './implementations.ts';
import { registerZoo } from './register-zoo.ts';
import { disableOrtTelemetry } from './ort-telemetry.ts';
import { checkListenable, listenError, prepareDataDir, prepareSocketDir } from './startup-checks.ts';
import { Teardown } from './teardown.ts';

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
  /** `--metadata URL`, `--repository URL`, `--provisioner KIND`, `--id NAME` (over the config and environment). */
  metadata?: string;
  repository?: string;
  provisioner?: InfaasConfig['provisioner']['kind'];
  controllerId?: string;
  /** `--allowed-hosts`, `--allowed-origins` (over config server.allowedHosts / allowedOrigins): docs/security.md. */
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /** Stops a start in progress: what was started is released and startServer rejects (SIGINT during `infaas demo`). */
  signal?: AbortSignal;
  /** Environment variables to read settings from (the CLI passes process.env; tests usually none). */
  env?: NodeJS.ProcessEnv;
}

export interface RunningServer {
  url: string;
  api: InfaasApi;
  registry: Registry;
  config: InfaasConfig;
  /** This controller's id. */
  controllerId: string;
  /** The live autoscaling loop, when autoscaling.policy is not 'off' (it ticks while this controller leads). */
  autoscaler?: AutoscalerLoop;
  election: LeaderElection;
  close(): Promise<void>;
}

/** Status polling period of the workers, ms. */
const STATUS_EVERY_MS = 1000;

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  disableOrtTelemetry();
  const dataDir = resolve(opts.dataDir ?? '.infaas');
  prepareDataDir(dataDir);
  const config = loadConfig(dataDir, overridesOf(opts));
  const log = opts.verbose ? (s: string) => process.stderr.write(`${s}\n`) : () => undefined;
  const logger = (tag: string): PoolLogger => ({ info: log, warn: (m) => process.stderr.write(`[${tag}] ${m}\n`), error: (m) => process.stderr.write(`[${tag}] ERROR ${m}\n`) });
  await checkListenable(config.host, config.port);
  // Everything acquired from here on is released, last first, by close() or when the start fails half-way.
  const teardown = new Teardown((name, e) => logger('shutdown').error(`${name}: ${e instanceof Error ? e.message : String(e)}`));
  try {
    return await start(opts, config, dataDir, teardown, log, logger);
  } catch (e) {
    await teardown.run();
    throw e;
  }
}

async function start(
  opts: ServerOptions, config: InfaasConfig, dataDir: string, teardown: Teardown, log: (s: string) => void, logger: (tag: string) => PoolLogger,
): Promise<RunningServer> {
  const distributed = config.metadata !== undefined;
  const controllerId = config.controllerId ?? (distributed ? `${hostname()}-${process.pid}` : 'controller');

  const checkpoint = () => {
    if (opts.signal?.aborted) throw unavailable('the server was stopped while starting');
  };
  const { store, where } = await openMetadataStore(config.metadata, dataDir).catch((e: unknown) => {
    // The embedded store's lock names the process holding the data dir: say what to do about it.
    throw e instanceof InfaasError && typeof e.details?.pid === 'number' ? unavailable(`${e.message} (another infaas server?): stop it, or give another --data-dir`, e.details) : e;
  });
  teardown.add('metadata store', () => store.close());
  // Several controllers share one repository: without one configured, a controller joins the cluster's.
  const cluster = distributed ? await store.get<ClusterSettings>(keys.cluster) : undefined;
  const repository = openRepository(config.repository ?? cluster?.repository ?? join(dataDir, 'models'), join(dataDir, 'cache'), opts.env ?? {});
  teardown.add('model repository', () => repository.close());
  if (cluster && cluster.repository !== repository.url) {
    process.stderr.write(`[controller] this controller's model repository ${repository.url} is not the cluster's ${cluster.repository}: it becomes the cluster's for workers started from now on\n`);
  }
  const workerClass = config.workerClasses.find((c) => c.name === config.initialWorkers.workerClass)!;
  if (distributed) await store.set(keys.cluster, { repository: repository.url, workerClasses: config.workerClasses } satisfies ClusterSettings);

  // The catalogue: loaded once, then kept current by this controller's registrations and, through the store's
  // change feed, by every other controller's.
  let index = ModelIndex.empty();
  const sync = new CatalogueSync({ store, get: () => index, set: (i) => (index = i), log: logger('catalogue') });
  sync.start();
  teardown.add('catalogue sync', () => sync.close());
  index = await ModelIndex.load(store);
  // Every worker (at boot and added by the autoscaler) is of this class: no variant needing more threads is cold-started.
  const view = new LiveClusterView({ maxThreads: workerClass.threads, sharedWorkers: distributed });

  // Local workers listen on Unix sockets (measurably faster than loopback TCP, bench/transport.ts) unless other
  // controllers must reach them too. The sockets live in the data dir (this process holds its lock).
  const unix = config.provisioner.kind === 'local' && (config.provisioner.localTransport ?? (distributed ? 'tcp' : 'unix')) === 'unix';
  const socketDir = unix ? prepareSocketDir(dataDir) : undefined;
  if (socketDir) teardown.add('socket directory', () => rmSync(socketDir, { recursive: true, force: true }));
  if (distributed && config.provisioner.kind === 'local' && isLoopback(config.host)) {
    process.stderr.write(`[controller] local workers listen on ${config.host} (--host): controllers on other hosts cannot reach them; give --host 0.0.0.0 (or an address they reach), or start workers with \`infaas worker\`\n`);
  }
  const provisioner = await makeProvisioner(config, { repository: repository.url, socketDir, cacheDir: join(dataDir, 'cache'), controllerId, env: opts.env ?? {} });
  if (provisioner) teardown.add('provisioner', () => provisioner.shutdown());
  const recorder = distributed ? undefined : new WorkerStateRecorder(store); // distributed workers heartbeat their own records
  if (recorder) teardown.add('worker state recorder', () => recorder.close());
  const pool = new WorkerPool({
    ...(provisioner ? { provisioner } : {}),
    timeoutMs: config.workerTimeoutMs,
    connect: (h, o) => TcpWorkerClient.connect(h.id, h.address, o),
    onStatus: (s) => {
      view.sync(s, index.variants);
      recorder?.record(s);
    },
    log: logger('pool'),
  });
  teardown.add('worker pool', () => pool.close());
  await pool.start({ workerClass, count: provisioner?.kind === 'local' ? config.initialWorkers.count : 0 });
  checkpoint();
  const directory = distributed ? new WorkerDirectory({ store, adopt: (w) => pool.adopt(w), log: logger('directory') }) : undefined;
  if (directory) teardown.add('worker directory', () => directory.close());
  await directory?.start();

  const checker = new ModelChecker();
  teardown.add('model checker', () => checker.close());
  const profiler: ProfilerRunner = {
    check: (job) => checker.check(job),
    profile: (job, onProgress) =>
      runProfileJob(
        { path: job.modelPath, validationPath: job.validationPath, artifactId: job.artifactId, arch: job.arch, useCase: job.useCase, grid: config.profiling, workerClasses: config.workerClasses, timeoutMs: 10 * 60_000, signal: job.signal },
        onProgress,
      ),
  };
  const registry = new Registry({
    store,
    repo: repository.repo,
    profiler,
    controllerId,
    claimTtlMs: config.leaseMs,
    precomputed: (json, ctx) => variantsFromProfileFile(json, { ...ctx, workerClasses: config.workerClasses }),
    onChange: (change) => {
      index = index.with(change);
    },
  });
  const pins = new StorePins(store);
  teardown.add('pins', () => pins.close());
  await pins.start();
  // While the autoscaling loop exists, use-case queries are routed by its policy (as in the simulator), on every controller.
  let autoscaler: AutoscalerLoop | undefined;
  const viaPolicy: UseCaseRouter = (q, v, catalogue, now) => autoscaler!.route(q, v, catalogue, now);
  const dispatcher = new Dispatcher({ index: () => index, workers: pool, view, pins, route: () => (autoscaler ? viaPolicy : undefined) });
  const windows = new SharedWindows({ store, controllerId, take: () => dispatcher.takeWindow() });
  windows.start();
  teardown.add('dispatch windows', () => windows.close());
  const schedule = config.autoscaling.policy === 'ours' && config.autoscaling.schedule ? scheduleForecast(config.autoscaling.schedule) : undefined;
  const scheduleStatus = () => (schedule ? { schedule: { leadS: schedule.leadMs / 1000, expectedQps: forecastPeak(schedule, Date.now()) } } : {});
  if (config.autoscaling.schedule) {
    if (!schedule) process.stderr.write(`[autoscaler] the load schedule is not used: autoscaling is ${config.autoscaling.policy}\n`);
    for (const w of pastWindows(config.autoscaling.schedule, Date.now())) process.stderr.write(`[autoscaler] the load schedule's window at ${w.start} is over already\n`);
  }
  const election = new LeaderElection({
    store, id: controllerId, ttlMs: config.leaseMs,
    // With the embedded store this controller is the only one: leading is not news.
    onElected: () => {
      autoscaler?.reset();
      if (distributed) log(`controller ${controllerId} leads the autoscaling loop`);
    },
    onDeposed: () => distributed && log(`controller ${controllerId} no longer leads the autoscaling loop`),
  });
  teardown.add('leader election', () => election.resign());
  if (config.autoscaling.policy !== 'off') {
    const a = new AutoscalerLoop({
      policy: livePolicy(config.autoscaling, workerClass.name, schedule), pool, index: () => index, workerClasses: config.workerClasses,
      minWorkers: config.initialWorkers.count, maxWorkers: config.autoscaling.maxWorkers, window: () => windows.merged(), log: logger('autoscaler'),
    });
    autoscaler = a;
    teardown.add('autoscaler', () => a.close());
    if (schedule) log(`load schedule: ${config.autoscaling.schedule!.windows.length} window(s), planned ${schedule.leadMs / 1000} s ahead`);
    log(`autoscaling with policy ${config.autoscaling.policy} (at most ${config.autoscaling.maxWorkers} workers) while this controller leads`);
  }
  await election.update().catch(() => undefined);
  teardown.add('registry', () => registry.close());

  // One control loop runs every periodic task, each in its own try/catch.
  const loop = new ControlLoop({ log: logger('control') });
  loop.add({ name: 'worker status', everyMs: STATUS_EVERY_MS, update: () => pool.refresh() });
  loop.add({ name: 'leader election', everyMs: election.everyMs, update: () => election.update() });
  loop.add({ name: 'registrations', everyMs: registry.maintainEveryMs, update: () => registry.maintain() });
  if (autoscaler) {
    const a = autoscaler;
    loop.add({ name: 'autoscaler', everyMs: a.tickMs, update: () => (election.isLeader ? a.tickOnce() : undefined) });
  }
  if (distributed) loop.add({ name: 'dispatch window', everyMs: 1000, update: () => (election.isLeader ? undefined : windows.publish()) });
  loop.add({
    name: 'pinned variants', everyMs: 2000, update: async () => {
      const restored = election.isLeader ? await dispatcher.restorePins() : [];
      if (restored.length) log(`loaded pinned variant(s) no worker held: ${restored.join(', ')}`);
    },
  });
  loop.start();
  teardown.add('control loop', () => loop.close());

  const api = new InfaasApi({
    index: () => index, registry, dispatcher, workers: () => pool.snapshot(),
    autoscaling: () => ({
      ...(autoscaler ? { policy: config.autoscaling.policy, maxWorkers: config.autoscaling.maxWorkers, ...autoscaler.stats(), ...scheduleStatus() } : { policy: 'off' }),
      ...(distributed ? { leadership: election.status(), refusedWorkers: directory!.refused() } : {}),
    }),
  });
  const resumed = await registry.resume();
  if (resumed) log(`resuming ${resumed} interrupted registration(s)`);

  const access = { listenHost: config.host, allowedHosts: config.server.allowedHosts, allowedOrigins: config.server.allowedOrigins };
  const images = { maxPixels: config.maxImagePixels, threads: config.imageDecodeThreads, queuePixels: config.imageDecodeQueuePixels };
  // Error replies never name these directories (nor the OS temp dir, the working dir, the sources: rest-server.ts).
  const privatePaths = [dataDir, ...(socketDir ? [socketDir] : []), ...(config.repository?.startsWith('/') ? [config.repository] : [])];
  const app = await buildRestServer(api, { bodyLimit: config.maxBodyBytes, modelLimit: config.maxModelBytes, access, images, privatePaths });
  teardown.add('REST server', () => app.close());
  checkpoint();
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (e) {
    throw listenError(e, config.host, config.port);
  }
  const addr = app.server.address();
  const url = `http://${config.host}:${typeof addr === 'object' && addr ? addr.port : config.port}`;
  if (!isLoopback(config.host) && !config.server.allowedHosts.length) {
    log(`requests must name this server by IP address, localhost${['0.0.0.0', '::'].includes(config.host) ? '' : ` or ${config.host}`} or ${hostname()}: list its other names (DNS, a proxy's) in server.allowedHosts (--allowed-hosts); see docs/security.md`);
  }
  log(`INFaaS serving on ${url} (controller ${controllerId}; metadata ${where}; models ${repository.url}; ${pool.clients().length} worker(s), ${index.variants.size} variants)`);

  const server: RunningServer = {
    url, api, registry, config, controllerId, election,
    ...(autoscaler ? { autoscaler } : {}),
    close: () => teardown.run(),
  };
  if (opts.demo) {
    const registering = registerZoo(api, registry, log, undefined, opts.signal).catch((e: unknown) => {
      if (opts.signal?.aborted) return; // the store it polls closes as the start is undone
      const err = asInfaasError(e);
      throw new InfaasError(err.code, `registering the bundled model zoo failed: ${err.message}`, err.details);
    });
    await Promise.race([registering, abortion(opts.signal)]);
    checkpoint();
  }
  return server;
}

/** The configuration overrides of the options: environment variables, then flags. */
function overridesOf(opts: ServerOptions): Partial<InfaasConfig> {
  const env = opts.env ? configFromEnv(opts.env) : {};
  const autoscaling = opts.autoscale ? { ...opts.config?.autoscaling, policy: opts.autoscale } : opts.config?.autoscaling;
  const provisionerKind = opts.provisioner ?? opts.config?.provisioner?.kind ?? env.provisioner?.kind;
  return {
    ...env,
    ...opts.config,
    port: opts.port ?? opts.config?.port,
    host: opts.host ?? opts.config?.host,
    metadata: opts.metadata ?? opts.config?.metadata ?? env.metadata,
    repository: opts.repository ?? opts.config?.repository ?? env.repository,
    controllerId: opts.controllerId ?? opts.config?.controllerId ?? env.controllerId,
    ...(autoscaling ? { autoscaling: autoscaling as InfaasConfig['autoscaling'] } : {}),
    ...(provisionerKind ? { provisioner: { ...env.provisioner, ...opts.config?.provisioner, kind: provisionerKind } } : {}),
    server: {
      ...env.server, ...opts.config?.server,
      ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}), ...(opts.allowedOrigins ? { allowedOrigins: opts.allowedOrigins } : {}),
    } as InfaasConfig['server'],
  };
}

async function makeProvisioner(
  config: InfaasConfig,
  o: { repository: string; socketDir: string | undefined; cacheDir: string; controllerId: string; env: NodeJS.ProcessEnv },
): Promise<Provisioner | undefined> {
  switch (config.provisioner.kind) {
    case 'none':
      return undefined;
    case 'kubernetes':
      // Loaded only when used: the Kubernetes client is large, and the default server never needs it.
      return (await import('./kubernetes.ts')).kubernetesProvisioner(config, o.env, o.controllerId);
    case 'local':
      return new LocalProvisioner({
        repository: o.repository,
        cacheDir: o.cacheDir,
        tcpHost: config.host,
        ...(o.socketDir ? { socketDir: o.socketDir } : {}),
        ...(config.metadata ? { metadata: config.metadata, idPrefix: `${o.controllerId}-` } : {}),
      });
  }
}

/** Resolves when `signal` aborts (never without one). */
function abortion(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true })));
}

/**
 * Runs until SIGINT/SIGTERM (the CLI's `serve` and `demo`). A signal during the start (the demo's zoo takes
 * minutes to profile) undoes it and resolves; a second one kills the process at once.
 */
export async function runServer(opts: ServerOptions): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => {
    process.stderr.write('shutting down...\n');
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let server: RunningServer;
  try {
    server = await startServer({ verbose: true, env: process.env, ...opts, signal: stop.signal });
  } catch (e) {
    if (stop.signal.aborted) return;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw e;
  }
  if (opts.demo) printExamples(server.url);
  await abortion(stop.signal);
  await server.close();
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
