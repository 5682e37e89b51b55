// The selection part of `infaas query`: exactly one of the three levels (variant; arch + SLO; use case + accuracy + SLO).

import { numberFlag, str, type ParsedArgs } from './args.ts';
import { usageError } from './cli-error.ts';

/** Selection fields of POST /v1/infer (docs/api.md), exactly one level set. */
export interface Selection {
  variant?: string;
  arch?: string;
  task?: string;
  dataset?: string;
  minAccuracy?: number;
  latencyMs?: number;
  maxCostPer1k?: number;
  topK?: number;
}

export const LEVELS_HELP = 'one of: -v VARIANT | -a ARCH -l MS | -t TASK -D DATASET -A PCT -l MS';

/**
 * Reads and checks the selection flags.
 * @throws CliError (exit 2): no level, several levels, a level with a missing or foreign flag, bad numbers.
 */
export function parseSelection(args: ParsedArgs, command = 'query'): Selection {
  const variant = str(args, 'variant');
  const arch = str(args, 'arch');
  const task = str(args, 'task');
  const dataset = str(args, 'dataset');
  const accText = str(args, 'accuracy');
  const latText = str(args, 'latency');
  const levels: string[] = [];
  if (variant !== undefined) levels.push('-v');
  if (arch !== undefined) levels.push('-a');
  if (task !== undefined || dataset !== undefined || accText !== undefined) levels.push('-t/-D/-A');
  if (levels.length === 0) throw usageError(`say what to run: ${LEVELS_HELP}`, command);
  if (levels.length > 1) throw usageError(`choose one selection level, not ${levels.join(' and ')}: ${LEVELS_HELP}`, command);

  const latencyMs = numberFlag('latency', latText, { exclusiveMin: 0 }, command);
  const maxCostPer1k = numberFlag('max-cost', str(args, 'max-cost'), { min: 0 }, command);
  const topK = numberFlag('top-k', str(args, 'top-k'), { integer: true, min: 1 }, command);
  const extras = { ...(maxCostPer1k !== undefined ? { maxCostPer1k } : {}), ...(topK !== undefined ? { topK } : {}) };

  if (variant !== undefined) {
    if (latText !== undefined) throw usageError('-l/--latency does not apply to an exact variant (-v); drop it or use -a ARCH -l MS', command);
    if (!variant) throw usageError('-v/--variant needs a variant name', command);
    return { variant, ...extras };
  }
  if (arch !== undefined) {
    if (!arch) throw usageError('-a/--arch needs an architecture name', command);
    if (latencyMs === undefined) throw usageError('-a ARCH needs a latency SLO: add -l MS', command);
    return { arch, latencyMs, ...extras };
  }
  const missing = [
    task === undefined || task === '' ? '-t TASK' : '',
    dataset === undefined || dataset === '' ? '-D DATASET' : '',
    accText === undefined ? '-A PCT' : '',
    latencyMs === undefined ? '-l MS' : '',
  ].filter(Boolean);
  if (missing.length) throw usageError(`a use-case query needs -t TASK -D DATASET -A PCT -l MS; missing ${missing.join(', ')}`, command);
  const minAccuracy = numberFlag('accuracy', accText, { min: 0, max: 100 }, command) as number;
  return { task, dataset, minAccuracy, latencyMs, ...extras };
}

/** The selection as a query string (for raw float32 bodies), without the leading '?'. */
export function selectionQuery(s: Selection): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(s)) if (v !== undefined) q.set(k, String(v));
  return q.toString();
}
