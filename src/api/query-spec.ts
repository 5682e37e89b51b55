// Parses and validates the selection part of a query (which level, which SLO) from loosely typed fields
// (a JSON body or a query string), so every frontend gives the same messages for the same mistakes.

import { excerpt, invalid } from '../core/errors.ts';
import type { QueryCommon, QuerySpec } from '../core/query.ts';

/** The selection fields of a query, in the order docs/api.md lists them. */
export const SELECTION_FIELDS: readonly string[] = ['variant', 'arch', 'task', 'dataset', 'minAccuracy', 'latencyMs', 'maxCostPer1k', 'topK'];
const FIELDS: ReadonlySet<string> = new Set(SELECTION_FIELDS);

export function parseQuerySpec(f: Record<string, unknown>): QuerySpec {
  const str = (k: string): string | undefined => {
    const v = f[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw invalid(`${k} must be a string${Array.isArray(v) ? ' (given more than once?)' : ''}`);
    return v;
  };
  const num = (k: string, min: number, max = Infinity): number | undefined => {
    const v = f[k];
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw invalid(`${k} must be a number (got ${typeof v === 'string' ? excerpt(v) : Array.isArray(v) ? 'several values' : typeof v})`);
    if (n < min || n > max) throw invalid(`${k} must be between ${min} and ${max} (got ${n})`);
    return n;
  };
  const common: QueryCommon = {};
  const maxCost = num('maxCostPer1k', 0);
  if (maxCost !== undefined) common.maxCostPer1k = maxCost;
  const topK = num('topK', 0, 1000);
  if (topK !== undefined) {
    if (!Number.isInteger(topK)) throw invalid('topK must be an integer');
    common.topK = topK;
  }
  const variant = str('variant');
  const arch = str('arch');
  const task = str('task');
  const dataset = str('dataset');
  const latencyMs = num('latencyMs', Number.MIN_VALUE);
  const minAccuracy = num('minAccuracy', 0, 100);
  const levels = [variant !== undefined, arch !== undefined, task !== undefined || dataset !== undefined].filter(Boolean).length;
  if (levels === 0) throw invalid('say what to run: a variant, an arch with latencyMs, or a task + dataset with minAccuracy and latencyMs');
  if (levels > 1) throw invalid('give exactly one of: variant; arch (+ latencyMs); task + dataset (+ minAccuracy, latencyMs)');
  if (variant !== undefined) {
    if (latencyMs !== undefined || minAccuracy !== undefined) throw invalid('an exact variant takes no latencyMs or minAccuracy');
    return { level: 'variant', variant, ...common };
  }
  if (arch !== undefined) {
    if (latencyMs === undefined) throw invalid('an arch query needs latencyMs (the latency SLO in milliseconds)');
    if (minAccuracy !== undefined) throw invalid('an arch query takes no minAccuracy (the architecture fixes it)');
    return { level: 'arch', arch, latencyMs, ...common };
  }
  if (task === undefined || dataset === undefined) throw invalid('a use-case query needs both task and dataset');
  if (latencyMs === undefined) throw invalid('a use-case query needs latencyMs (the latency SLO in milliseconds)');
  return { level: 'usecase', task, dataset, minAccuracy: minAccuracy ?? 0, latencyMs, ...common };
}

/** Whether `k` is a selection field, for frontends that must separate them from input fields. */
export function isSelectionField(k: string): boolean {
  return FIELDS.has(k);
}
