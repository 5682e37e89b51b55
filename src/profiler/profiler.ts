// The automatic profiler: turns one ONNX artifact into measured variants (threads x optimisation level x max batch),
// with accuracy on the validation set, load time, memory, latency per batch size, throughput and cost.
//
// Measurement plan, in this order, so that memory deltas are not hidden by memory freed by an earlier session:
//   0. probe  — one session (first config) checks that the model loads and runs on [1, ...shape], initialises the
//               runtime (one-time set-up is not charged to any variant) and stays loaded for step 3.
//   1. load   — for each (threads, optLevel): fresh session + first run at batch 1, timed; the RSS delta is the
//               session's base memory. Every session stays loaded until step 4.
//   2. latency — for each (threads, optLevel), batch sizes 1, 2, 4, … and every grid maxBatch: warm-up, then timed
//               runs (adaptive: at most `grid.runs`, stopping after `budgetMs` of timing once `minRuns` are done).
//               RSS growth while running larger batches is added to the memory of the variants that allow them.
//   3. accuracy — top-1 argmax of the first output over the whole validation set, in batches, on the probe session.
//   4. reload — all sessions released, then `loadRepeats - 1` more fresh loads per config; loadMs is the median of
//               the loads of steps 1 and 4: a load in a process where ONNX Runtime is already running, as on a worker.

import { excerpt, InfaasError, invalid, invalidModel } from '../core/errors.ts';
import { ortReason } from '../onnx/ort-message.ts';
import { sizeOf, variantName, type BackendKind, type BatchLatency, type OptLevel, type Variant, type WorkerClass } from '../core/types.ts';
import type { ValidationSet } from '../core/validation-set.ts';
import { workerClassFor, type ProfilingGrid } from '../config/config.ts';
import type { Backend, LoadedModel } from '../backend/backend.ts';
import { OrtNativeBackend } from '../backend/ort-native/ort-backend.ts';
import { median, msSince, nowNs, roundMs, rssMiB, timeRuns } from './measure.ts';
import { topOneAccuracy } from './accuracy.ts';

export interface ProfileEffort {
  /** Timed milliseconds per batch size after which timing stops once `minRuns` are done (default 200). */
  budgetMs?: number;
  /** Fewest timed runs per batch size (default 5, capped by grid.runs). */
  minRuns?: number;
  /** Fresh loads per (threads, optLevel); loadMs is their median (default 3). */
  loadRepeats?: number;
}

export interface ProfileOptions {
  /** Local path of the ONNX file. */
  path: string;
  artifactId: string;
  arch: string;
  /** Use case id, `${task}/${dataset}`. */
  useCase: string;
  /** Labelled samples; their per-sample shape is the input shape the model must accept as [batch, ...shape]. */
  validation: ValidationSet;
  grid: ProfilingGrid;
  /** Price table: each variant's worker class is the smallest class with at least its threads. */
  workerClasses: WorkerClass[];
  /** Default: OrtNativeBackend. */
  backend?: Backend;
  effort?: ProfileEffort;
  /** Clock for `measuredAt` (default: the system clock). */
  now?: () => Date;
}

export interface ProfileProgress {
  done: number;
  total: number;
  stage: string;
}

export interface ProfileResult {
  /** Top-1 accuracy on the whole validation set, percent (0..100). */
  accuracy: number;
  /** One per (threads, optLevel, maxBatch) of the grid, in grid order. */
  variants: Variant[];
}

interface Config {
  threads: number;
  optLevel: OptLevel;
}

interface Measured {
  cfg: Config;
  model?: LoadedModel;
  loadMs: number[];
  baseMiB: number;
  latency: BatchLatency[];
  /** RSS MiB attributed to the session once batch sizes up to `batch` have run. */
  memAt: Map<number, number>;
}

/** Batch sizes to time: powers of two below the largest maxBatch, plus every maxBatch of the grid. */
export function batchSizes(maxBatches: readonly number[]): number[] {
  const top = Math.max(...maxBatches);
  const s = new Set<number>(maxBatches);
  for (let b = 1; b < top; b *= 2) s.add(b);
  return [...s].sort((a, b) => a - b);
}

/**
 * Profiles one artifact over the grid. Rejects with INVALID_MODEL (ONNX Runtime's message included) when the
 * model does not load or does not run on [batch, ...validation.shape], INVALID_ARGUMENT for a bad grid or price
 * table. A model whose batch dimension is fixed to 1 is profiled at batch 1 only (one variant per config, maxBatch 1).
 */
export async function profileArtifact(opts: ProfileOptions, onProgress: (p: ProfileProgress) => void = () => {}): Promise<ProfileResult> {
  const { grid, validation: v } = opts;
  const backend = opts.backend ?? new OrtNativeBackend();
  if (backend.kind !== 'ort-cpu') throw invalid(`profiler: unknown backend kind ${backend.kind}`);
  const kind: BackendKind = backend.kind;
  if (!grid.threads.length || !grid.optLevels.length || !grid.maxBatch.length) throw invalid('profiler: empty profiling grid');
  if (grid.maxBatch.some((b) => !Number.isInteger(b) || b < 1)) throw invalid('profiler: maxBatch values must be positive integers');
  if (grid.threads.some((t) => !Number.isInteger(t) || t < 1)) throw invalid('profiler: threads must be positive integers');
  for (const t of grid.threads) workerClassFor({ workerClasses: opts.workerClasses }, t);
  const budget = { budgetMs: opts.effort?.budgetMs ?? 200, minRuns: opts.effort?.minRuns ?? 5 };
  const loadRepeats = Math.max(1, opts.effort?.loadRepeats ?? 3);

  const configs: Config[] = [];
  for (const threads of [...new Set(grid.threads)]) for (const optLevel of [...new Set(grid.optLevels)]) configs.push({ threads, optLevel });
  let batches = batchSizes(grid.maxBatch);
  let maxBatches = [...new Set(grid.maxBatch)].sort((a, b) => a - b);
  const per = sizeOf(v.shape);
  if (v.count < 1 || per * v.count !== v.inputs.length || v.labels.length !== v.count) throw invalid('profiler: validation set size does not match its shape');
  const inputs = new Map(batches.map((b) => [b, fillBatch(v, b)]));
  const evalChunks = () => Math.ceil(v.count / Math.max(...batches));

  let done = 0;
  const total = () => 1 + configs.length * (1 + batches.length + (loadRepeats - 1)) + evalChunks();
  const step = (stage: string) => onProgress({ done: ++done, total: total(), stage });

  const runBatch = async (model: LoadedModel, b: number) => {
    const out = await guard(`model failed to run on input [${b},${v.shape}]`, opts.path, () => model.infer({ shape: [b, ...v.shape], data: inputs.get(b)! }));
    return firstOutput(model, out, b);
  };
  const freshLoad = async (cfg: Config): Promise<{ model: LoadedModel; ms: number }> => {
    const t0 = nowNs();
    const model = await guard('model failed to load', opts.path, () => backend.load({ path: opts.path, threads: cfg.threads, optLevel: cfg.optLevel }));
    try {
      checkInputShape(model, v.shape);
      await runBatch(model, 1);
    } catch (e) {
      await model.unload().catch(() => {});
      throw e;
    }
    return { model, ms: msSince(t0) };
  };

  const measured: Measured[] = configs.map((cfg) => ({ cfg, loadMs: [], baseMiB: 0, latency: [], memAt: new Map() }));
  let probe: LoadedModel | undefined;
  try {
    // Probe session: checks the model, initialises the runtime (so one-time set-up is not charged to a variant),
    // serves the accuracy run, and stays loaded so its memory is not reused by the sessions measured after it.
    probe = (await freshLoad(configs[0])).model;
    const fixed = probe.inputShape[0];
    if (fixed !== undefined && fixed > 0 && batches.length > 1) {
      if (fixed !== 1) throw invalidModel(`model input ${excerpt(probe.inputName, 40)} has a fixed batch dimension of ${fixed}; export it with a dynamic batch dimension or batch 1`);
      batches = [1];
      maxBatches = [1];
    }
    step('check model');
    for (const m of measured) {
      const before = rssMiB();
      const { model, ms } = await freshLoad(m.cfg);
      m.model = model;
      m.loadMs.push(ms);
      m.baseMiB = Math.max(0, rssMiB() - before);
      step(`load t${m.cfg.threads} ${m.cfg.optLevel}`);
    }
    for (const m of measured) {
      const start = rssMiB();
      let grown = 0;
      for (const b of batches) {
        const r = await timeRuns(() => runBatch(m.model!, b), { warmup: grid.warmup, runs: grid.runs, ...budget });
        m.latency.push({ batch: b, p50: r.p50, p95: r.p95 });
        grown = Math.max(grown, rssMiB() - start);
        m.memAt.set(b, m.baseMiB + grown);
        step(`latency t${m.cfg.threads} ${m.cfg.optLevel} batch ${b}`);
      }
    }
    const evalBatch = Math.max(...batches);
    const accuracy = await topOneAccuracy(v, evalBatch, async (data, n) => {
      const out = await guard(`model failed to run on input [${n},${v.shape}]`, opts.path, () => probe!.infer({ shape: [n, ...v.shape], data }));
      return firstOutput(probe!, out, n);
    }, () => step('accuracy'));

    await releaseAll(measured);
    await probe.unload();
    probe = undefined;
    for (let r = 1; r < loadRepeats; r++) {
      for (const m of measured) {
        const { model, ms } = await freshLoad(m.cfg);
        await model.unload();
        m.loadMs.push(ms);
        step(`reload t${m.cfg.threads} ${m.cfg.optLevel}`);
      }
    }

    const measuredAt = (opts.now ?? (() => new Date()))().toISOString();
    const variants: Variant[] = [];
    for (const m of measured) {
      const wc = workerClassFor({ workerClasses: opts.workerClasses }, m.cfg.threads);
      for (const maxBatch of maxBatches) {
        const config = { backend: kind, threads: m.cfg.threads, maxBatch, optLevel: m.cfg.optLevel };
        const latency = m.latency.filter((l) => l.batch <= maxBatch);
        // Rounded once, and the cost derived from the rounded figure, so the stored profile is self-consistent.
        const peakThroughput = Math.round(Math.max(...latency.map((l) => (l.batch * 1000) / l.p50)) * 100) / 100;
        variants.push({
          name: variantName(opts.artifactId, config),
          arch: opts.arch,
          useCase: opts.useCase,
          artifactId: opts.artifactId,
          config,
          profile: {
            accuracy,
            loadMs: roundMs(median(m.loadMs)),
            latency,
            // Hundredths of a MiB with a 0.25 MiB floor: whole MiB made thousands of tiny models look 4-7x bigger.
            memoryMB: Math.max(0.25, Math.ceil((m.memAt.get(maxBatch) ?? m.baseMiB) * 100) / 100),
            peakThroughput,
            workerClass: wc.name,
            costPerHour: wc.pricePerHour,
            costPer1k: ((wc.pricePerHour / 3600) * 1000) / peakThroughput,
            measuredAt,
          },
        });
      }
    }
    return { accuracy, variants };
  } finally {
    await releaseAll(measured);
    await probe?.unload().catch(() => {});
  }
}

async function releaseAll(measured: Measured[]): Promise<void> {
  for (const m of measured) {
    const model = m.model;
    m.model = undefined;
    if (model) await model.unload().catch(() => {});
  }
}

/** Runs `f`; anything it throws that is not already typed becomes INVALID_MODEL with `what` and ORT's reason (no path). */
async function guard<T>(what: string, path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof InfaasError) throw e;
    throw invalidModel(`${what}: ${ortReason(e, [path])}`);
  }
}

function checkInputShape(model: LoadedModel, shape: readonly number[]): void {
  const declared = model.inputShape;
  if (!declared.length) return; // unknown rank: the first run decides
  const wanted = [-1, ...shape];
  const ok = declared.length === wanted.length && declared.every((d, i) => i === 0 || d < 0 || d === wanted[i]);
  if (!ok) {
    throw invalidModel(`model input ${excerpt(model.inputName, 40)} has shape [${declared.map((d) => (d < 0 ? '?' : d))}], the use case needs [batch,${shape}]`);
  }
}

function firstOutput(model: LoadedModel, out: Record<string, { shape: number[]; data: Float32Array }>, batch: number): Float32Array {
  const name = model.outputNames[0];
  const t = out[name];
  if (!t) throw invalidModel('model has no output');
  if (t.shape[0] !== batch || t.data.length % batch !== 0 || t.data.length === 0) {
    throw invalidModel(`model output ${excerpt(name, 40)} has shape [${t.shape}] for a batch of ${batch}; its first dimension must be the batch`);
  }
  return t.data;
}

/** `b` samples taken from the validation set, cycling when it is smaller than the batch. */
function fillBatch(v: ValidationSet, b: number): Float32Array {
  const per = sizeOf(v.shape);
  const out = new Float32Array(b * per);
  for (let i = 0; i < b; i++) {
    const s = i % v.count;
    out.set(v.inputs.subarray(s * per, (s + 1) * per), i * per);
  }
  return out;
}
