// Precomputed profile files (docs/api.md, "Precomputed profile file"): validation of a user-supplied profile into
// variants, cost fields filled from the price table; and the inverse export, so a measured profile can be saved
// and re-registered (fleets of many models register with profile files instead of being profiled again).

import { excerpt, invalid } from '../core/errors.ts';
import { variantName, type BatchLatency, type OptLevel, type Variant, type VariantConfig, type WorkerClass } from '../core/types.ts';
import { workerClassFor } from '../config/config.ts';

/** One variant of a profile file. Fields marked optional are derived when absent. */
export interface ProfileFileVariant {
  /** `backend` defaults to 'ort-cpu'. */
  config: Omit<VariantConfig, 'backend'> & { backend?: VariantConfig['backend'] };
  profile: {
    loadMs: number;
    /** Must include batch 1 and maxBatch; entries above maxBatch are dropped; sorted by batch on import. */
    latency: BatchLatency[];
    memoryMB: number;
    /** Default: max over batches b of b*1000/p50(b). */
    peakThroughput?: number;
    /** Default: the smallest worker class with at least `threads` threads. */
    workerClass?: string;
    /** Default: the worker class's price. */
    costPerHour?: number;
    /** Default: costPerHour/3600 * 1000/peakThroughput. */
    costPer1k?: number;
  };
}

export interface ProfileFile {
  /** Top-1 accuracy of the artifact, percent (0..100). */
  accuracy: number;
  variants: ProfileFileVariant[];
}

export interface ProfileFileContext {
  artifactId: string;
  arch: string;
  /** Use case id, `${task}/${dataset}`. */
  useCase: string;
  /** Price table. */
  workerClasses: WorkerClass[];
}

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Largest maxBatch (and latency batch), variants per file and latency entries per variant accepted. */
export const PROFILE_LIMITS = { maxBatch: 4096, variants: 1024, latencyEntries: 64 } as const;
/** An hour, in milliseconds: the most a load or one batch may take. */
const HOUR_MS = 3_600_000;

const FIELDS = {
  profile: ['accuracy', 'variants'],
  variant: ['config', 'profile'],
  config: ['backend', 'threads', 'maxBatch', 'optLevel'],
  measured: ['loadMs', 'latency', 'memoryMB', 'peakThroughput', 'workerClass', 'costPerHour', 'costPer1k'],
  latency: ['batch', 'p50', 'p95'],
} as const;

/** A client-supplied value for a message: short, whatever it is. */
function shown(x: unknown): string {
  if (typeof x === 'string') return excerpt(x);
  if (typeof x === 'number' || typeof x === 'boolean' || x === null) return String(x);
  return Array.isArray(x) ? 'an array' : typeof x === 'object' ? 'an object' : typeof x;
}

/** The object's own field `key` (never one inherited from Object.prototype, such as "constructor"). */
const own = (o: Obj, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

/** Refuses fields other than `known` (a misspelt optional field would otherwise be silently ignored). */
function onlyKnown(o: Obj, known: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw invalid(`profile file: ${where} has an unknown field ${excerpt(k, 32)} (expected ${known.join(', ')})`);
  }
}

function num(o: Obj, key: string, where: string, check: (n: number) => boolean, what: string): number {
  const x = own(o, key);
  if (x === undefined) throw invalid(`profile file: ${where}.${key} is missing`);
  if (typeof x !== 'number' || !Number.isFinite(x) || !check(x)) throw invalid(`profile file: ${where}.${key} must be ${what}, got ${shown(x)}`);
  return x;
}

function optNum(o: Obj, key: string, where: string, check: (n: number) => boolean, what: string): number | undefined {
  return own(o, key) === undefined ? undefined : num(o, key, where, check, what);
}

const within = (lo: number, hi: number) => (n: number) => n >= lo && n <= hi;
const posIntTo = (hi: number) => (n: number) => Number.isInteger(n) && n >= 1 && n <= hi;
const MS = 'a number of milliseconds from 0.000001 to 3600000';

/** Validates a parsed profile file; throws INVALID_ARGUMENT naming the first bad field. */
export function variantsFromProfileFile(json: unknown, ctx: ProfileFileContext): { accuracy: number; variants: Variant[] } {
  if (!isObj(json)) throw invalid('profile file: must be a JSON object {"accuracy": number, "variants": [...]}');
  onlyKnown(json, FIELDS.profile, 'profile');
  const accuracy = num(json, 'accuracy', 'profile', within(0, 100), 'a percentage between 0 and 100');
  const list = own(json, 'variants');
  if (list === undefined) throw invalid('profile file: profile.variants is missing');
  if (!Array.isArray(list) || !list.length) throw invalid('profile file: profile.variants must be a non-empty array');
  if (list.length > PROFILE_LIMITS.variants) throw invalid(`profile file: profile.variants has ${list.length} entries; at most ${PROFILE_LIMITS.variants} are accepted`);
  const seen = new Set<string>();
  const variants = list.map((raw, i): Variant => {
    const where = `variants[${i}]`;
    if (!isObj(raw)) throw invalid(`profile file: ${where} must be an object with "config" and "profile"`);
    onlyKnown(raw, FIELDS.variant, where);
    const c = own(raw, 'config');
    const p = own(raw, 'profile');
    if (!isObj(c)) throw invalid(`profile file: ${where}.config ${c === undefined ? 'is missing' : 'must be an object'}`);
    if (!isObj(p)) throw invalid(`profile file: ${where}.profile ${p === undefined ? 'is missing' : 'must be an object'}`);
    onlyKnown(c, FIELDS.config, `${where}.config`);
    onlyKnown(p, FIELDS.measured, `${where}.profile`);
    const backend = own(c, 'backend');
    if (backend !== undefined && backend !== 'ort-cpu') throw invalid(`profile file: ${where}.config.backend must be "ort-cpu", got ${shown(backend)}`);
    const threads = num(c, 'threads', `${where}.config`, posIntTo(1024), 'a positive integer up to 1024');
    const maxBatch = num(c, 'maxBatch', `${where}.config`, posIntTo(PROFILE_LIMITS.maxBatch), `a positive integer up to ${PROFILE_LIMITS.maxBatch}`);
    const optLevel = own(c, 'optLevel');
    if (optLevel === undefined) throw invalid(`profile file: ${where}.config.optLevel is missing`);
    if (optLevel !== 'basic' && optLevel !== 'all') throw invalid(`profile file: ${where}.config.optLevel must be "basic" or "all", got ${shown(optLevel)}`);
    const config: VariantConfig = { backend: 'ort-cpu', threads, maxBatch, optLevel: optLevel as OptLevel };
    const name = variantName(ctx.artifactId, config);
    if (seen.has(name)) throw invalid(`profile file: ${where} repeats the configuration of variant ${name}`);
    seen.add(name);

    const pw = `${where}.profile`;
    const loadMs = num(p, 'loadMs', pw, within(0, HOUR_MS), 'a number of milliseconds from 0 to 3600000');
    const memoryMB = num(p, 'memoryMB', pw, (n) => n > 0 && n <= 1e7, 'a positive number of MiB up to 10000000');
    const latency = parseLatency(own(p, 'latency'), pw, maxBatch);
    const computedPeak = Math.max(...latency.map((l) => (l.batch * 1000) / l.p50));
    const peakThroughput = optNum(p, 'peakThroughput', pw, (n) => n > 0 && n <= 1e12, 'a positive number up to 1e12') ?? computedPeak;

    let wc: WorkerClass;
    const workerClass = own(p, 'workerClass');
    if (workerClass === undefined) wc = workerClassFor({ workerClasses: ctx.workerClasses }, threads);
    else {
      const found = ctx.workerClasses.find((w) => w.name === workerClass);
      if (!found) throw invalid(`profile file: ${pw}.workerClass ${shown(workerClass)} is not a configured worker class (${ctx.workerClasses.map((w) => w.name).join(', ')})`);
      if (found.threads < threads) throw invalid(`profile file: ${pw}.workerClass ${found.name} has ${found.threads} threads, the variant needs ${threads}`);
      wc = found;
    }
    const costPerHour = optNum(p, 'costPerHour', pw, within(0, 1e6), 'a non-negative number up to 1000000') ?? wc.pricePerHour;
    const costPer1k = optNum(p, 'costPer1k', pw, within(0, 1e6), 'a non-negative number up to 1000000') ?? ((costPerHour / 3600) * 1000) / peakThroughput;
    return {
      name,
      arch: ctx.arch,
      useCase: ctx.useCase,
      artifactId: ctx.artifactId,
      config,
      profile: { accuracy, loadMs, latency, memoryMB, peakThroughput, workerClass: wc.name, costPerHour, costPer1k, measuredAt: 'supplied' },
    };
  });
  return { accuracy, variants };
}

function parseLatency(raw: unknown, where: string, maxBatch: number): BatchLatency[] {
  if (raw === undefined) throw invalid(`profile file: ${where}.latency is missing`);
  if (!Array.isArray(raw) || !raw.length) throw invalid(`profile file: ${where}.latency must be a non-empty array of {"batch","p50","p95"}`);
  if (raw.length > PROFILE_LIMITS.latencyEntries) throw invalid(`profile file: ${where}.latency has ${raw.length} entries; at most ${PROFILE_LIMITS.latencyEntries} are accepted`);
  const out: BatchLatency[] = [];
  const batches = new Set<number>();
  raw.forEach((l, j) => {
    const lw = `${where}.latency[${j}]`;
    if (!isObj(l)) throw invalid(`profile file: ${lw} must be an object {"batch","p50","p95"}`);
    onlyKnown(l, FIELDS.latency, lw);
    const batch = num(l, 'batch', lw, posIntTo(PROFILE_LIMITS.maxBatch), `a positive integer up to ${PROFILE_LIMITS.maxBatch}`);
    const p50 = num(l, 'p50', lw, within(1e-6, HOUR_MS), MS);
    const p95 = num(l, 'p95', lw, within(1e-6, HOUR_MS), MS);
    if (p95 < p50) throw invalid(`profile file: ${lw}.p95 (${p95}) is below p50 (${p50})`);
    if (batches.has(batch)) throw invalid(`profile file: ${where}.latency has batch ${batch} twice`);
    batches.add(batch);
    if (batch <= maxBatch) out.push({ batch, p50, p95 });
  });
  if (!batches.has(1)) throw invalid(`profile file: ${where}.latency must include batch 1`);
  if (!batches.has(maxBatch)) throw invalid(`profile file: ${where}.latency must include batch ${maxBatch} (the variant's maxBatch)`);
  return out.sort((a, b) => a.batch - b.batch);
}

/** The profile file of measured variants (all of one artifact): `variantsFromProfileFile` of it gives them back. */
export function profileFileFromVariants(accuracy: number, variants: readonly Variant[]): ProfileFile {
  return {
    accuracy,
    variants: variants.map((v) => ({
      config: { ...v.config },
      profile: {
        loadMs: v.profile.loadMs,
        latency: v.profile.latency.map((l) => ({ ...l })),
        memoryMB: v.profile.memoryMB,
        peakThroughput: v.profile.peakThroughput,
        workerClass: v.profile.workerClass,
        costPerHour: v.profile.costPerHour,
        costPer1k: v.profile.costPer1k,
      },
    })),
  };
}
