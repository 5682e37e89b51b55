// Configuration: parsed and validated once at start-up (defaults < `<data-dir>/infaas.json` < environment
// variables < flags), then passed down as typed options. Nothing else reads files or environment variables for
// settings (the AWS SDK reads the standard AWS variables for the S3 repository itself).

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { invalid } from '../core/errors.ts';
import type { OptLevel, WorkerClass } from '../core/types.ts';
import { validateSchedule, type LoadSchedule } from '../policy/load-schedule.ts';

export interface ProfilingGrid {
  threads: number[];
  maxBatch: number[];
  optLevels: OptLevel[];
  /** Timed runs per batch size (after warm-up). */
  runs: number;
  warmup: number;
}

export interface InfaasConfig {
  dataDir: string;
  host: string;
  port: number;
  /** Worker classes with their price per hour; the profiler maps threads -> the smallest class that fits. */
  workerClasses: WorkerClass[];
  /** Worker class of the workers started at boot, and how many. */
  initialWorkers: { workerClass: string; count: number };
  profiling: ProfilingGrid;
  /** Largest request body accepted, bytes. */
  maxBodyBytes: number;
  /** Largest ONNX file accepted at registration, bytes. */
  maxModelBytes: number;
  /** Largest query image, pixels (width x height), read from its header before decoding; default 4096 x 4096. */
  maxImagePixels?: number;
  /** Threads decoding query images off the event loop; default one less than the cores, 1 to 4. */
  imageDecodeThreads?: number;
  /** Most pixels of query images being decoded or waiting at once (more: 429); default 8 x maxImagePixels. */
  imageDecodeQueuePixels?: number;
  /** Per-request timeout for a worker call, ms (a hung worker never hangs a client). */
  workerTimeoutMs: number;
  /** The live autoscaling loop (src/controller/autoscaler-loop.ts); on ('ours') unless turned off. */
  autoscaling: AutoscalingConfig;
  /**
   * Distributed mode: the metadata store every controller and worker shares, `redis://HOST:PORT/DB` (optionally
   * `?prefix=NAME`); absent: the embedded store in the data dir (one controller).
   */
  metadata?: string;
  /** The model repository: `s3://BUCKET/PREFIX`, `file:///DIR` or a directory; absent: `<dataDir>/models`. */
  repository?: string;
  /** How workers are started and stopped. */
  provisioner: ProvisionerConfig;
  /** This controller's name among several (default `<host>-<pid>`). */
  controllerId?: string;
  /**
   * Distributed mode: how long a controller's leases (leading the autoscaling loop, profiling a registration)
   * outlive its last renewal, ms: how soon another controller takes over from one that died (default 5000).
   */
  leaseMs: number;
  /** Who may call the REST API from a web browser (src/frontends/rest/host-check.ts, docs/security.md). */
  server: ServerAccessConfig;
}

export interface ServerAccessConfig {
  /**
   * Host names, besides localhost, IP addresses and `host`, that requests may give in their Host header: `name`,
   * `.domain` (it and its subdomains) or `*` (any: no protection against DNS rebinding). Default none.
   */
  allowedHosts: string[];
  /** Origins (`https://app.example.com`) whose web pages may call the API, or `*` (any). Default none. */
  allowedOrigins: string[];
}

export type ProvisionerKind = 'local' | 'kubernetes' | 'none';
export const PROVISIONER_KINDS: readonly ProvisionerKind[] = ['local', 'kubernetes', 'none'];

export interface ProvisionerConfig {
  /** 'local': child processes of this controller (default); 'kubernetes': scale worker Deployments; 'none': workers are started by hand (`infaas worker`). */
  kind: ProvisionerKind;
  /**
   * 'local' only: how the controller reaches its local workers: 'unix' sockets (the default with the embedded
   * store: the fastest hop) or 'tcp' on the controller's host address (the default with a shared store, so the
   * other controllers can use them too).
   */
  localTransport?: 'unix' | 'tcp';
  kubernetes?: {
    /** Namespace of the worker Deployments (default: this pod's, or 'infaas'). */
    namespace?: string;
    /** Worker class → Deployment name (default `infaas-worker-<class>`). */
    deployments?: Record<string, string>;
    /** Port the worker pods listen on (default 7070). */
    workerPort?: number;
  };
}

export type AutoscalePolicyName = 'off' | 'ours' | 'infaas';
export const AUTOSCALE_POLICIES: readonly AutoscalePolicyName[] = ['off', 'ours', 'infaas'];

export interface AutoscalingConfig {
  /** Which scaling policy (src/policy/policies) drives the live cluster (default 'ours'); 'off' = none. */
  policy: AutoscalePolicyName;
  /**
   * Most workers (of the initial worker class) the loop may run; at least initialWorkers.count. Default: as
   * many as this machine's cores hold (cores / the class's threads), since local workers share its CPUs.
   */
  maxWorkers: number;
  /** 'ours' only: unload a variant after this long without a request (scale to zero); default the policy's 30 s. */
  idleUnloadMs?: number;
  /**
   * 'ours' only: load known to be coming (a launch, a daily peak). Capacity for a window is planned `leadS` ahead
   * of it, split over the models in the mix measured over the last minute (src/policy/load-schedule.ts).
   */
  schedule?: LoadSchedule;
}

export function defaultConfig(dataDir: string): InfaasConfig {
  return {
    dataDir,
    host: '127.0.0.1',
    port: 8080,
    // Prices follow the original INFaaS set-up: $0.096/h for a 2-vCPU instance.
    workerClasses: [
      { name: 'cpu-1', threads: 1, memoryMB: 1024, pricePerHour: 0.048 },
      { name: 'cpu-2', threads: 2, memoryMB: 2048, pricePerHour: 0.096 },
      { name: 'cpu-4', threads: 4, memoryMB: 4096, pricePerHour: 0.192 },
    ],
    initialWorkers: { workerClass: 'cpu-2', count: 1 },
    profiling: { threads: [1, 2], maxBatch: [1, 8, 32], optLevels: ['basic', 'all'], runs: 30, warmup: 5 },
    maxBodyBytes: 16 * 1024 * 1024,
    maxModelBytes: 256 * 1024 * 1024,
    workerTimeoutMs: 30_000,
    autoscaling: { policy: 'ours', maxWorkers: 1 },
    provisioner: { kind: 'local' },
    leaseMs: 5000,
    server: { allowedHosts: [], allowedOrigins: [] },
  };
}

/**
 * Settings taken from environment variables (INFAAS_METADATA_URL, INFAAS_REPOSITORY_URL, INFAAS_PROVISIONER,
 * INFAAS_CONTROLLER_ID, INFAAS_K8S_NAMESPACE, INFAAS_ALLOWED_HOSTS and INFAAS_ALLOWED_ORIGINS, comma-separated).
 */
export function configFromEnv(env: NodeJS.ProcessEnv): Partial<InfaasConfig> {
  const out: Partial<InfaasConfig> = {};
  if (env.INFAAS_METADATA_URL) out.metadata = env.INFAAS_METADATA_URL;
  if (env.INFAAS_REPOSITORY_URL) out.repository = env.INFAAS_REPOSITORY_URL;
  if (env.INFAAS_CONTROLLER_ID) out.controllerId = env.INFAAS_CONTROLLER_ID;
  const hosts = listOf(env.INFAAS_ALLOWED_HOSTS);
  const origins = listOf(env.INFAAS_ALLOWED_ORIGINS);
  if (hosts || origins) out.server = { ...(hosts ? { allowedHosts: hosts } : {}), ...(origins ? { allowedOrigins: origins } : {}) } as ServerAccessConfig;
  if (env.INFAAS_PROVISIONER || env.INFAAS_K8S_NAMESPACE) {
    out.provisioner = { kind: (env.INFAAS_PROVISIONER || 'local') as ProvisionerKind, ...(env.INFAAS_K8S_NAMESPACE ? { kubernetes: { namespace: env.INFAAS_K8S_NAMESPACE } } : {}) };
  }
  return out;
}

/** A comma-separated list (a variable or a flag), without blanks; undefined when unset or empty. */
export function listOf(text: string | undefined): string[] | undefined {
  const items = text?.split(',').map((s) => s.trim()).filter(Boolean);
  return items?.length ? items : undefined;
}

/** The smallest worker class with at least `threads` threads. */
export function workerClassFor(config: Pick<InfaasConfig, 'workerClasses'>, threads: number): WorkerClass {
  const fits = config.workerClasses.filter((c) => c.threads >= threads).sort((a, b) => a.threads - b.threads || a.pricePerHour - b.pricePerHour);
  if (!fits.length) throw invalid(`no worker class has ${threads} threads`);
  return fits[0];
}

/** Loads `<dataDir>/infaas.json` over the defaults, then applies overrides; validates the result. */
export function loadConfig(dataDir: string, overrides: Partial<InfaasConfig> = {}): InfaasConfig {
  const base = defaultConfig(dataDir);
  const file = join(dataDir, 'infaas.json');
  let fromFile: Partial<InfaasConfig> = {};
  if (existsSync(file)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code ? `${err.code}: ${getSystemErrorMap().get(err.errno ?? 0)?.[1] ?? err.message}` : err.message;
      throw invalid(`cannot read the config file ${file} (${why}): make it a readable file, or remove it`);
    }
    try {
      fromFile = JSON.parse(text);
    } catch (e) {
      throw invalid(`config file ${file} is not valid JSON: ${(e as Error).message}`);
    }
    checkFileShape(fromFile, file);
  }
  const merged: InfaasConfig = { ...base, ...fromFile, ...stripUndefined(overrides), dataDir };
  merged.provisioner = { ...base.provisioner, ...fromFile.provisioner, ...stripUndefined(overrides.provisioner ?? {}) };
  merged.server = { ...base.server, ...fromFile.server, ...stripUndefined(overrides.server ?? {}) };
  // autoscaling merges field by field, so `{"autoscaling": {"policy": "ours"}}` keeps the default maxWorkers
  merged.autoscaling = { ...base.autoscaling, ...fromFile.autoscaling, ...stripUndefined(overrides.autoscaling ?? {}) };
  if (fromFile.autoscaling?.maxWorkers === undefined && overrides.autoscaling?.maxWorkers === undefined) {
    const threads = merged.workerClasses.find((c) => c.name === merged.initialWorkers?.workerClass)?.threads ?? 1;
    merged.autoscaling.maxWorkers = Math.max(1, merged.initialWorkers?.count ?? 1, Math.floor(availableParallelism() / threads));
  }
  validateConfig(merged);
  return merged;
}

/** The JSON type of each top-level key of infaas.json (a wrong one is refused before anything reads into it). */
const FILE_SHAPE: Record<string, 'string' | 'number' | 'array' | 'object'> = {
  host: 'string', port: 'number', workerClasses: 'array', initialWorkers: 'object', profiling: 'object', maxBodyBytes: 'number',
  maxModelBytes: 'number', workerTimeoutMs: 'number', autoscaling: 'object', metadata: 'string', repository: 'string',
  provisioner: 'object', controllerId: 'string', leaseMs: 'number', server: 'object',
  maxImagePixels: 'number', imageDecodeThreads: 'number', imageDecodeQueuePixels: 'number',
};

function checkFileShape(json: unknown, file: string): asserts json is Partial<InfaasConfig> {
  const kind = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  if (kind(json) !== 'object') throw invalid(`config file ${file} must hold a JSON object of settings, got ${kind(json)}`);
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const want = FILE_SHAPE[key];
    if (want && kind(value) !== want) throw invalid(`config file ${file}: ${key} must be ${want === 'array' || want === 'object' ? `an ${want}` : `a ${want}`}, got ${kind(value)}`);
  }
  const grid = (json as { profiling?: Record<string, unknown> }).profiling;
  for (const key of ['threads', 'maxBatch', 'optLevels'] as const) {
    if (grid && grid[key] !== undefined && !Array.isArray(grid[key])) throw invalid(`config file ${file}: profiling.${key} must be an array, got ${kind(grid[key])}`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function validateConfig(c: InfaasConfig): void {
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) throw invalid(`config: port must be 0..65535, got ${JSON.stringify(c.port)}`);
  if (typeof c.host !== 'string' || !c.host) throw invalid(`config: host must be an address to listen on, such as "127.0.0.1", got ${JSON.stringify(c.host)}`);
  if (!c.workerClasses.length) throw invalid('config: at least one worker class is needed');
  for (const w of c.workerClasses) {
    if (!w.name || !(w.threads > 0) || !(w.memoryMB > 0) || !(w.pricePerHour >= 0)) throw invalid(`config: bad worker class ${JSON.stringify(w)}`);
  }
  if (!c.workerClasses.some((w) => w.name === c.initialWorkers.workerClass)) throw invalid(`config: initial worker class ${c.initialWorkers.workerClass} is not defined`);
  if (!Number.isInteger(c.initialWorkers.count) || c.initialWorkers.count < 1) throw invalid(`config: initialWorkers.count must be an integer >= 1, got ${c.initialWorkers.count}`);
  const g = c.profiling;
  if (!g.threads.length || !g.maxBatch.length || !g.optLevels.length) throw invalid('config: profiling grid must not be empty');
  if (g.maxBatch.some((b) => !Number.isInteger(b) || b < 1)) throw invalid('config: profiling maxBatch values must be positive integers');
  if (g.optLevels.some((o) => o !== 'basic' && o !== 'all')) throw invalid('config: optLevels are "basic" or "all"');
  const a = c.autoscaling;
  if (!a || !AUTOSCALE_POLICIES.includes(a.policy)) throw invalid(`config: autoscaling.policy must be one of ${AUTOSCALE_POLICIES.join(', ')}, got ${JSON.stringify(a?.policy)}`);
  if (!Number.isInteger(a.maxWorkers) || a.maxWorkers < Math.max(1, c.initialWorkers.count)) {
    throw invalid(`config: autoscaling.maxWorkers must be an integer >= initialWorkers.count (${c.initialWorkers.count}), got ${a.maxWorkers}`);
  }
  if (a.idleUnloadMs !== undefined && !(a.idleUnloadMs > 0)) throw invalid(`config: autoscaling.idleUnloadMs must be > 0, got ${a.idleUnloadMs}`);
  if (!PROVISIONER_KINDS.includes(c.provisioner?.kind)) throw invalid(`config: provisioner.kind must be one of ${PROVISIONER_KINDS.join(', ')}, got ${JSON.stringify(c.provisioner?.kind)}`);
  if (c.provisioner.localTransport !== undefined && !['unix', 'tcp'].includes(c.provisioner.localTransport)) {
    throw invalid(`config: provisioner.localTransport must be "unix" or "tcp", got ${JSON.stringify(c.provisioner.localTransport)}`);
  }
  if (c.provisioner.kind === 'local' && c.metadata && c.provisioner.localTransport === 'unix') {
    throw invalid('config: with a shared metadata store, local workers must listen on TCP (provisioner.localTransport "tcp") so the other controllers can reach them');
  }
  if (c.provisioner.kind === 'kubernetes' && !c.metadata) {
    throw invalid('config: the kubernetes provisioner needs a shared metadata store for its workers to register in: give --metadata redis://HOST:PORT/DB (or INFAAS_METADATA_URL)');
  }
  if (c.metadata !== undefined && !/^rediss?:\/\/./.test(c.metadata)) throw invalid(`config: metadata must be a redis:// URL (or left out for the embedded store), got ${JSON.stringify(c.metadata)}`);
  if (c.controllerId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(c.controllerId)) throw invalid(`config: controllerId must be 1-63 letters, digits, '.', '_' or '-', got ${JSON.stringify(c.controllerId)}`);
  for (const k of ['maxImagePixels', 'imageDecodeThreads', 'imageDecodeQueuePixels'] as const) {
    if (c[k] !== undefined && !(Number.isInteger(c[k]) && c[k] >= 1)) throw invalid(`config: ${k} must be an integer >= 1, got ${JSON.stringify(c[k])}`);
  }
  if (!Number.isInteger(c.leaseMs) || c.leaseMs < 500) throw invalid(`config: leaseMs must be an integer >= 500, got ${c.leaseMs}`);
  validateAccess(c.server);
  if (a.schedule !== undefined) {
    validateSchedule(a.schedule, 'config: autoscaling.schedule');
    if (a.policy === 'infaas') {
      throw invalid('config: autoscaling.schedule is used by the "ours" policy only (INFaaS does not forecast); remove it from infaas.json to run "infaas", or run "ours"');
    }
  }
}

/** A host name as allowedHosts takes it: a DNS name or IP address, `.domain`, or `*`. */
const HOST_NAME = /^\.?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;

function validateAccess(s: ServerAccessConfig): void {
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!strings(s.allowedHosts)) throw invalid(`config: server.allowedHosts must be an array of host names, got ${JSON.stringify(s.allowedHosts)}`);
  if (!strings(s.allowedOrigins)) throw invalid(`config: server.allowedOrigins must be an array of origins, got ${JSON.stringify(s.allowedOrigins)}`);
  for (const h of s.allowedHosts) {
    if (h !== '*' && !HOST_NAME.test(h) && !/^\[[0-9a-fA-F:.]+\]$/.test(h)) {
      throw invalid(`config: server.allowedHosts: ${JSON.stringify(h)} is not a host name: give a name such as "infaas.internal" (no scheme, port or path), ".example.com" for a domain and its subdomains, or "*"`);
    }
  }
  for (const o of s.allowedOrigins) {
    if (o !== '*' && !isOrigin(o)) {
      throw invalid(`config: server.allowedOrigins: ${JSON.stringify(o)} is not an origin: give scheme://host[:port] in lower case, such as "https://app.example.com" (no path, no final /), or "*"`);
    }
  }
}

function isOrigin(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === text;
  } catch {
    return false;
  }
}
