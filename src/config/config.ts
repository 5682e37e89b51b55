// Configuration: parsed and validated once at start-up (defaults < `<data-dir>/infaas.json` < environment
// variables < flags), then passed down as typed options. Nothing else reads files or environment variables for
// settings (the AWS SDK reads the standard AWS variables for the S3 repository itself).

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { excerpt, invalid } from '../core/errors.ts';
import type { OptLevel, WorkerClass } from '../core/types.ts';
import { validateSchedule, type LoadSchedule } from '../policy/load-schedule.ts';
import { array, checkTypes, checkValues, int, leaf, mergeSettings, object, oneOf, optional, record, text, type ObjectRule } from './schema.ts';

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

/**
 * Loads `<dataDir>/infaas.json` over the defaults, then applies overrides (environment, flags), key by key at every
 * depth: a partial `profiling` keeps the defaults of what it leaves out. The file's types and keys are checked as
 * read (naming the file), the merged result against CONFIG_SCHEMA and the rules between keys (validateConfig).
 */
export function loadConfig(dataDir: string, overrides: Partial<InfaasConfig> = {}): InfaasConfig {
  const file = join(dataDir, 'infaas.json');
  const fromFile = existsSync(file) ? readConfigFile(file) : {};
  const merged = mergeSettings(mergeSettings(defaultConfig(dataDir), fromFile), { ...overrides, dataDir }) as InfaasConfig;
  checkValues(merged, CONFIG_SCHEMA, '', 'config: ');
  // Default maxWorkers: as many workers of the initial class as this machine's cores hold.
  if (fromFile.autoscaling?.maxWorkers === undefined && overrides.autoscaling?.maxWorkers === undefined) {
    const threads = merged.workerClasses.find((c) => c.name === merged.initialWorkers.workerClass)?.threads ?? 1;
    merged.autoscaling.maxWorkers = Math.max(1, merged.initialWorkers.count, Math.floor(availableParallelism() / threads));
  }
  validateConfig(merged);
  return merged;
}

function readConfigFile(file: string): Partial<InfaasConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code ? `${err.code}: ${getSystemErrorMap().get(err.errno ?? 0)?.[1] ?? err.message}` : err.message;
    throw invalid(`cannot read the config file ${file} (${why}): make it a readable file, or remove it`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const kind = Array.isArray(json) ? 'array' : json === null ? 'null' : typeof json;
  if (kind !== 'object') throw invalid(`config file ${file} must hold a JSON object of settings, got ${kind}`);
  if (Object.hasOwn(json as object, 'dataDir')) throw invalid(`config file ${file}: dataDir is not read from infaas.json (the file lives in the data dir): give --data-dir`);
  checkTypes(json, FILE_SCHEMA, '', `config file ${file}: `);
  return json as Partial<InfaasConfig>;
}

/** Longest delay a Node timer takes (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const ms = (min: number) => leaf('number', `${min === 1 ? '> 0' : `>= ${min}`}, a whole number of ms up to ${MAX_TIMER_MS}`, (v: number) => Number.isInteger(v) && v >= min && v <= MAX_TIMER_MS);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const name = (of: string) => text(`${of}: 1-63 letters, digits, '.', '_' or '-'`, (v) => NAME.test(v));
/** A Kubernetes name (RFC 1123): a label when `dots` is false, else a subdomain. */
const k8sName = (of: string, dots: boolean) => text(`${of}: lower-case letters, digits, '-'${dots ? " and '.'" : ''}, at most ${dots ? 253 : 63} characters`,
  (v) => v.length <= (dots ? 253 : 63) && (dots ? /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/ : /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).test(v));
/** A host name as allowedHosts takes it: a DNS name or IP address, `.domain`, or `*`. */
const HOST_NAME = /^\.?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;
const isHost = (h: string) => h === '*' || HOST_NAME.test(h) || /^\[[0-9a-fA-F:.]+\]$/.test(h);
const isOrigin = (o: string) => {
  if (o === '*') return true;
  try {
    const u = new URL(o);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o;
  } catch {
    return false;
  }
};

/** Every setting: its type, what it must be and whether it may be absent. docs/configuration.md describes each. */
export const CONFIG_SCHEMA = object<InfaasConfig>({
  dataDir: text('a directory'),
  host: text('an address to listen on, such as "127.0.0.1"'),
  port: int(0, 65535),
  workerClasses: array(object<WorkerClass>({
    name: name('a worker class name'),
    threads: int(1, 1024),
    memoryMB: int(1),
    pricePerHour: leaf('number', 'a price >= 0', (v: number) => Number.isFinite(v) && v >= 0),
  }), 'a non-empty array of worker classes {"name", "threads", "memoryMB", "pricePerHour"}'),
  initialWorkers: object<InfaasConfig['initialWorkers']>({ workerClass: text('the name of a worker class'), count: int(1) }),
  profiling: object<ProfilingGrid>({
    threads: array(int(1, 1024), 'a non-empty array of thread counts'),
    maxBatch: array(int(1, 65536), 'a non-empty array of batch sizes'),
    optLevels: array(oneOf(['basic', 'all']), 'a non-empty array of "basic" or "all"'),
    runs: int(1, 100_000),
    warmup: int(0, 100_000),
  }),
  maxBodyBytes: int(1),
  maxModelBytes: int(1),
  maxImagePixels: optional(int(1)),
  imageDecodeThreads: optional(int(1, 64)),
  imageDecodeQueuePixels: optional(int(1)),
  workerTimeoutMs: ms(1),
  autoscaling: object<AutoscalingConfig>({
    policy: oneOf(AUTOSCALE_POLICIES),
    // Its least is initialWorkers.count (validateConfig).
    maxWorkers: leaf('number', 'an integer >= initialWorkers.count', (v: number) => Number.isSafeInteger(v)),
    idleUnloadMs: optional(ms(1)),
    schedule: optional(leaf('structure', 'a load schedule {"leadS"?, "windows": [...]}', () => true, (v, path) => validateSchedule(v, `config: ${path}`))),
  }),
  metadata: optional(text('a redis:// or rediss:// URL (or left out for the embedded store)', (v) => /^rediss?:\/\/./.test(v))),
  repository: optional(text('s3://BUCKET/PREFIX, file:///DIR or a directory')),
  provisioner: object<ProvisionerConfig>({
    kind: oneOf(PROVISIONER_KINDS),
    localTransport: optional(oneOf(['unix', 'tcp'])),
    kubernetes: optional(object<NonNullable<ProvisionerConfig['kubernetes']>>({
      namespace: optional(k8sName('a namespace', false)),
      deployments: optional(record(k8sName('a Deployment name', true), 'an object {"<worker class>": "<Deployment name>"}')),
      workerPort: optional(int(1, 65535)),
    })),
  }),
  controllerId: optional(name('a controller name')),
  leaseMs: ms(500),
  server: object<ServerAccessConfig>({
    allowedHosts: array(text('a host name such as "infaas.internal" (no scheme, port or path), ".example.com" for a domain and its subdomains, or "*"', isHost), 'an array of host names', false),
    allowedOrigins: array(text('an origin: scheme://host[:port] in lower case, such as "https://app.example.com" (no path, no final /), or "*"', isOrigin), 'an array of origins', false),
  }),
});

/** What infaas.json may hold: every setting but the data dir (where the file is). */
const FILE_SCHEMA: ObjectRule = { ...CONFIG_SCHEMA, keys: Object.fromEntries(Object.entries(CONFIG_SCHEMA.keys).filter(([k]) => k !== 'dataDir')) };

/** The rules that tie keys together, over settings already checked against CONFIG_SCHEMA. @throws InfaasError INVALID_ARGUMENT */
function validateConfig(c: InfaasConfig): void {
  const names = c.workerClasses.map((w) => w.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw invalid(`config: workerClasses: two classes are named ${excerpt(twice)}`);
  if (!names.includes(c.initialWorkers.workerClass)) {
    throw invalid(`config: initialWorkers.workerClass ${excerpt(c.initialWorkers.workerClass)} is not one of the workerClasses (${names.join(', ')})`);
  }
  const most = Math.max(...c.workerClasses.map((w) => w.threads));
  const over = c.profiling.threads.findIndex((t) => t > most);
  if (over >= 0) throw invalid(`config: profiling.threads[${over}] is ${c.profiling.threads[over]}, but no worker class has that many threads (the most is ${most})`);
  const a = c.autoscaling;
  if (a.maxWorkers < c.initialWorkers.count) {
    throw invalid(`config: autoscaling.maxWorkers must be an integer >= initialWorkers.count (${c.initialWorkers.count}), got ${a.maxWorkers}`);
  }
  if (c.provisioner.kind === 'local' && c.metadata && c.provisioner.localTransport === 'unix') {
    throw invalid('config: with a shared metadata store, local workers must listen on TCP (provisioner.localTransport "tcp") so the other controllers can reach them');
  }
  if (c.provisioner.kind === 'kubernetes' && !c.metadata) {
    throw invalid('config: the kubernetes provisioner needs a shared metadata store for its workers to register in: give --metadata redis://HOST:PORT/DB (or INFAAS_METADATA_URL)');
  }
  if (a.schedule !== undefined && a.policy === 'infaas') {
    throw invalid('config: autoscaling.schedule is used by the "ours" policy only (INFaaS does not forecast); remove it from infaas.json to run "infaas", or run "ours"');
  }
}
