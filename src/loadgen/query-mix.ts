// What the load generator sends: the selection (use case + accuracy + SLO, architecture + SLO, or an exact
// variant) as a /v1/infer query string, and raw float32 bodies of random validation samples.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../core/errors.ts';
import { sizeOf } from '../core/types.ts';
import { decodeValidationSet } from '../core/validation-set.ts';
import { ZOO_DIR, readZooManifest } from '../zoo/manifest.ts';

/** The selection of every request of a run, at one of the three INFaaS levels. */
export type QuerySelection =
  | { level: 'usecase'; task: string; dataset: string; minAccuracy: number; latencyMs: number }
  | { level: 'arch'; arch: string; latencyMs: number }
  | { level: 'variant'; variant: string; latencyMs: number };

export const DEFAULT_SELECTION: QuerySelection = { level: 'usecase', task: 'classification', dataset: 'fashion-mnist', minAccuracy: 70, latencyMs: 50 };

/** The latency SLO of the run, ms (for an exact variant: the bound attainment is measured against). */
export const sloOf = (s: QuerySelection): number => s.latencyMs;

/** `/v1/infer?...` for a raw float32 body. An exact variant carries no SLO to the server. */
export function inferPath(s: QuerySelection): string {
  const q = new URLSearchParams();
  if (s.level === 'usecase') {
    q.set('task', s.task);
    q.set('dataset', s.dataset);
    q.set('minAccuracy', String(s.minAccuracy));
    q.set('latencyMs', String(s.latencyMs));
  } else if (s.level === 'arch') {
    q.set('arch', s.arch);
    q.set('latencyMs', String(s.latencyMs));
  } else q.set('variant', s.variant);
  q.set('topK', '1');
  return `/v1/infer?${q.toString()}`;
}

/** Bodies to send: one raw little-endian float32 sample each. */
export interface SamplePool {
  /** Per-sample shape. */
  shape: number[];
  bodies: Buffer[];
}

/** Splits a validation set into raw one-sample bodies (at most `max`, the first ones). */
export function samplesFromValset(bytes: Uint8Array, max = 256): SamplePool {
  const v = decodeValidationSet(bytes);
  const per = sizeOf(v.shape);
  const n = Math.min(v.count, max);
  const bodies: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const s = v.inputs.subarray(i * per, (i + 1) * per);
    bodies.push(Buffer.from(s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength)));
  }
  return { shape: v.shape, bodies };
}

/**
 * The zoo's validation samples of a dataset (zoo/<dataset>/validation.valset through zoo/manifest.json).
 * Throws INVALID_ARGUMENT naming the zoo's datasets when it has none for `dataset`.
 */
export function zooSamples(dataset: string, max = 256): SamplePool {
  const m = readZooManifest();
  const uc = m.useCases.find((u) => u.dataset === dataset);
  if (!uc) throw invalid(`the zoo has no validation set for dataset "${dataset}" (it has ${m.useCases.map((u) => u.dataset).join(', ')}); give one with --valset FILE`);
  return samplesFromValset(readFileSync(join(ZOO_DIR, uc.validation)), max);
}
