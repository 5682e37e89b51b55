// Precomputed profile files (docs/api.md, "Precomputed profile file"): validation of a user-supplied profile into
// variants, cost fields filled from the price table; and the inverse export, so a measured profile can be saved
// and re-registered (fleets of many models register with profile files instead of being profiled again).

import { invalid } from '../core/errors.ts';
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

function num(o: Obj, key: string, where: string, check: (n: number) => boolean, what: string): number {
  const x = o[key];
  if (x === undefined) throw invalid(`profile file: ${where}.${key} is missing`);
  if (typeof x !== 'number' || !Number.isFinite(x) || !check(x)) throw invalid(`profile file: ${where}.${key} must be ${what}, got ${JSON.stringify(x)}`);
  return x;
}

function optNum(o: Obj, key: string, where: string, check: (n: number) => boolean, what: string): number | undefined {
  return o[key] === undefined ? undefined : num(o, key, where, check, what);
}

const positive = (n: number) => n > 0;
const nonNegative = (n: number) => n >= 0;
const posInt = (n: number) => Number.isInteger(n) && n >= 1;

/** Validates a parsed profile file; throws INVALID_ARGUMENT naming the first bad field. */
export function variantsFromProfileFile(json: unknown, ctx: ProfileFileContext): { accuracy: number; variants: Variant[] } {
  if (!isObj(json)) throw invalid('profile file: must be a JSON object {"accuracy": number, "variants": [...]}');
  const accuracy = num(json, 'accuracy', 'profile', (n) => n >= 0 && n <= 100, 'a percentage between 0 and 100');
  const list = json.variants;
  if (list === undefined) throw invalid('profile file: profile.variants is missing');
  if (!Array.isArray(list) || !list.length) throw invalid('profile file: profile.variants must be a non-empty array');
  const seen = new Set<string>();
  const variants = list.map((raw, i): Variant => {
    const where = `variants[${i}]`;
    if (!isObj(raw)) throw invalid(`profile file: ${where} must be an object with "config" and "profile"`);
    if (!isObj(raw.config)) throw invalid(`profile file: ${where}.config ${raw.config === undefined ? 'is missing' : 'must be an object'}`);
    if (!isObj(raw.profile)) throw invalid(`profile file: ${where}.profile ${raw.profile === undefined ? 'is missing' : 'must be an object'}`);
    const c = raw.config;
    const p = raw.profile;
    if (c.backend !== undefined && c.backend !== 'ort-cpu') throw invalid(`profile file: ${where}.config.backend must be "ort-cpu", got ${JSON.stringify(c.backend)}`);
    const threads = num(c, 'threads', `${where}.config`, posInt, 'a positive integer');
    const maxBatch = num(c, 'maxBatch', `${where}.config`, posInt, 'a positive integer');
    if (c.optLevel === undefined) throw invalid(`profile file: ${where}.config.optLevel is missing`);
    if (c.optLevel !== 'basic' && c.optLevel !== 'all') throw invalid(`profile file: ${where}.config.optLevel must be "basic" or "all", got ${JSON.stringify(c.optLevel)}`);
    const config: VariantConfig = { backend: 'ort-cpu', threads, maxBatch, optLevel: c.optLevel as OptLevel };
    const name = variantName(ctx.artifactId, config);
    if (seen.has(name)) throw invalid(`profile file: ${where} repeats the configuration of variant ${name}`);
    seen.add(name);

    const pw = `${where}.profile`;
    const loadMs = num(p, 'loadMs', pw, nonNegative, 'a non-negative number of milliseconds');
    const memoryMB = num(p, 'memoryMB', pw, positive, 'a positive number of MiB');
    const latency = parseLatency(p.latency, pw, maxBatch);
    const computedPeak = Math.max(...latency.map((l) => (l.batch * 1000) / l.p50));
    const peakThroughput = optNum(p, 'peakThroughput', pw, positive, 'a positive number') ?? computedPeak;

    let wc: WorkerClass;
    if (p.workerClass === undefined) wc = workerClassFor({ workerClasses: ctx.workerClasses }, threads);
    else {
      const found = ctx.workerClasses.find((w) => w.name === p.workerClass);
      if (!found) throw invalid(`profile file: ${pw}.workerClass ${JSON.stringify(p.workerClass)} is not a configured worker class (${ctx.workerClasses.map((w) => w.name).join(', ')})`);
      if (found.threads < threads) throw invalid(`profile file: ${pw}.workerClass ${found.name} has ${found.threads} threads, the variant needs ${threads}`);
      wc = found;
    }
    const costPerHour = optNum(p, 'costPerHour', pw, nonNegative, 'a non-negative number') ?? wc.pricePerHour;
    const costPer1k = optNum(p, 'costPer1k', pw, nonNegative, 'a non-negative number') ?? ((costPerHour / 3600) * 1000) / peakThroughput;
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
  const out: BatchLatency[] = [];
  const batches = new Set<number>();
  raw.forEach((l, j) => {
    const lw = `${where}.latency[${j}]`;
    if (!isObj(l)) throw invalid(`profile file: ${lw} must be an object {"batch","p50","p95"}`);
    const batch = num(l, 'batch', lw, posInt, 'a positive integer');
    const p50 = num(l, 'p50', lw, positive, 'a positive number of milliseconds');
    const p95 = num(l, 'p95', lw, positive, 'a positive number of milliseconds');
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
