// `infaas plan --models FILE`: how many workers of each class hold a list of models by memory and compute
// (bin packing, src/policy/packing.ts), with models per worker, cost per hour and per model-hour, and the gap
// to the lower bound. Local: needs no server.

import { readFileSync } from 'node:fs';
import { defaultConfig } from '../../config/config.ts';
import { flag, numberFlag, str } from '../args.ts';
import { usageError } from '../cli-error.ts';
import { printJson, type Command } from '../command.ts';
import { money, num, table } from '../format.ts';
import { planPacking, type BinClass, type ClassPacking, type PackItem, type PackPlan } from '../../policy/packing.ts';

type Obj = Record<string, unknown>;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw usageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'plan');
  }
}

/** One model row: compute is given, or qps × latencyMs / 1000 (cores), or 0 (memory only). */
function itemOf(o: Obj, where: string): PackItem {
  const numField = (k: string): number | undefined => {
    const v = o[k];
    if (v === undefined || v === '') return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < 0) throw usageError(`${where}: ${k} must be a non-negative number, got ${JSON.stringify(v)}`, 'plan');
    return n;
  };
  const name = o.name;
  if (typeof name !== 'string' || !name) throw usageError(`${where}: name is missing`, 'plan');
  const memoryMB = numField('memoryMB');
  if (memoryMB === undefined) throw usageError(`${where} (${name}): memoryMB is missing`, 'plan');
  const qps = numField('qps');
  const latencyMs = numField('latencyMs');
  let compute = numField('compute');
  if (compute === undefined && (qps === undefined) !== (latencyMs === undefined)) {
    throw usageError(`${where} (${name}): give compute, or both qps and latencyMs`, 'plan');
  }
  compute ??= qps !== undefined && latencyMs !== undefined ? (qps * latencyMs) / 1000 : 0;
  return { name, memoryMB, compute };
}

/** Parses a models file: a JSON array of {name, memoryMB, qps?, latencyMs?, compute?}, or CSV with a header row. */
export function parseModels(text: string, path: string): PackItem[] {
  const trimmed = text.trim();
  let rows: Obj[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw usageError(`${path} is not valid JSON: ${(e as Error).message}`, 'plan');
    }
    const list = Array.isArray(json) ? json : (json as Obj).models;
    if (!Array.isArray(list)) throw usageError(`${path}: expected a JSON array of models (or {"models": [...]})`, 'plan');
    rows = list.map((x, i) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) throw usageError(`${path}: models[${i}] must be an object`, 'plan');
      return x as Obj;
    });
  } else {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
    if (lines.length < 1) throw usageError(`${path} is empty`, 'plan');
    const cells = (l: string) => l.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    const header = cells(lines[0]);
    const canon = new Map(['name', 'memoryMB', 'qps', 'latencyMs', 'compute'].map((k) => [k.toLowerCase(), k]));
    const keys = header.map((h) => canon.get(h.toLowerCase()));
    if (!keys.includes('name') || !keys.includes('memoryMB')) throw usageError(`${path}: the CSV header must name the columns, with at least name and memoryMB (got "${lines[0]}")`, 'plan');
    rows = lines.slice(1).map((l) => Object.fromEntries(cells(l).flatMap((v, i) => (keys[i] ? [[keys[i]!, v]] : []))));
  }
  if (!rows.length) throw usageError(`${path} lists no models`, 'plan');
  return rows.map((r, i) => itemOf(r, `${path}: model ${i + 1}`));
}

/** Parses a classes file: a JSON array of {name, memoryMB, threads, pricePerHour} (or {"workerClasses": [...]}). */
export function parseClasses(text: string, path: string): BinClass[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw usageError(`${path} is not valid JSON: ${(e as Error).message}`, 'plan');
  }
  const list = Array.isArray(json) ? json : (json as Obj)?.workerClasses;
  if (!Array.isArray(list) || !list.length) throw usageError(`${path}: expected a non-empty JSON array of worker classes {name, memoryMB, threads, pricePerHour}`, 'plan');
  return list.map((c: Obj, i) => {
    const ok = c && typeof c.name === 'string' && [c.memoryMB, c.threads].every((x) => typeof x === 'number' && x > 0) && typeof c.pricePerHour === 'number' && c.pricePerHour >= 0;
    if (!ok) throw usageError(`${path}: class ${i + 1} must be {name, memoryMB > 0, threads > 0, pricePerHour ≥ 0}, got ${JSON.stringify(c)}`, 'plan');
    return { name: c.name as string, memoryMB: c.memoryMB as number, threads: c.threads as number, pricePerHour: c.pricePerHour as number };
  });
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

export function planText(ffd: PackPlan, best: PackPlan, computeCap: number): string {
  const rows = best.perClass.flatMap((b, i): (string | number)[][] =>
    [ffd.perClass[i], b].map((p: ClassPacking) => [
      p.workerClass.name, p.algorithm === 'ffd' ? 'first-fit-decr' : 'best-fit+prune', p.workers, p.lowerBound, p.gap,
      num(p.modelsPerWorker.mean, 1), `${p.modelsPerWorker.min}-${p.modelsPerWorker.max}`, pct(p.utilisation.memory), pct(p.utilisation.compute),
      money(p.costPerHour), money(p.costPerModelHour),
    ]),
  );
  const lines = [
    `${best.items} models: ${num(best.totals.memoryMB / 1024, 2)} GiB, ${num(best.totals.compute, 3)} cores of compute (usable compute share ${pct(computeCap)})`,
    '',
    table(['CLASS', 'ALGORITHM', 'WORKERS', 'LOWER_BOUND', 'GAP', 'MODELS/WORKER', 'MIN-MAX', 'MEM_USE', 'CPU_USE', '$/HOUR', '$/MODEL-HOUR'], rows).trimEnd(),
  ];
  for (const x of best.infeasible) lines.push(`${x.workerClass}: cannot hold ${x.item}: it ${x.reason}`);
  const c = best.cheapest;
  lines.push('', `cheapest: ${c.workers} × ${c.workerClass.name} at $${money(c.costPerHour)}/hour ($${money(c.costPerModelHour)} per model-hour), ${c.gap === 0 ? 'at the lower bound' : `${c.gap} above the lower bound of ${c.lowerBound}`}`);
  return lines.join('\n') + '\n';
}

export const planCommand: Command = {
  spec: {
    name: 'plan',
    summary: 'Plan the fewest workers of each class that hold a list of models by memory and compute (bin packing).',
    usage: 'plan --models FILE [--classes FILE] [--compute-cap 0.83] [--json]',
    examples: ['infaas plan --models examples/plan/3000-models.json', 'infaas plan --models examples/plan/78-models.json --classes examples/plan/study-classes.json --json'],
    notes: [
      'FILE is a JSON array of {name, memoryMB, qps?, latencyMs?, compute?} or a CSV with those column names;',
      'compute is in cores (a model at 50 qps taking 2 ms needs 0.1), qps × latencyMs / 1000 when not given.',
      'Classes default to the server\'s worker classes (cpu-1, cpu-2, cpu-4); packing is first-fit-decreasing',
      'and best-fit-decreasing with pruning, each compared to the lower bound max(ceil(total / capacity)).',
    ],
    options: {
      models: { type: 'string', valueName: 'FILE', description: 'the models to place (JSON or CSV)' },
      classes: { type: 'string', valueName: 'FILE', description: 'worker classes, JSON [{name, memoryMB, threads, pricePerHour}]' },
      'compute-cap': { type: 'string', valueName: 'SHARE', description: 'usable share of a worker\'s compute, (0, 1] (default 0.83, as the 3,000-model study)' },
      'memory-cap': { type: 'string', valueName: 'SHARE', description: 'usable share of a worker\'s memory, (0, 1] (default 1)' },
      json: { type: 'boolean', description: 'print machine-readable JSON on stdout' },
    },
    positionals: { min: 0, max: 0 },
    client: false,
  },
  async run(args, ctx) {
    const modelsPath = str(args, 'models');
    if (!modelsPath) throw usageError('missing --models FILE', 'plan');
    const computeCap = numberFlag('compute-cap', str(args, 'compute-cap'), { exclusiveMin: 0, max: 1 }, 'plan') ?? 0.83;
    const memoryCap = numberFlag('memory-cap', str(args, 'memory-cap'), { exclusiveMin: 0, max: 1 }, 'plan') ?? 1;
    const items = parseModels(readText(modelsPath, 'models file'), modelsPath);
    const classesPath = str(args, 'classes');
    const classes = classesPath ? parseClasses(readText(classesPath, 'classes file'), classesPath) : defaultConfig('').workerClasses;
    const opts = { computeCap, memoryCap };
    const ffd = planPacking(items, classes, 'ffd', opts);
    const best = planPacking(items, classes, 'bfd', opts);
    if (flag(args, 'json')) {
      const strip = (p: ClassPacking) => ({ ...p, bins: p.bins.map((b) => ({ models: b.items.length, memoryMB: b.memoryMB, compute: b.compute, items: b.items })) });
      printJson(ctx, {
        items: best.items, totals: best.totals, computeCap, memoryCap,
        perClass: best.perClass.map((b, i) => ({ workerClass: b.workerClass, firstFitDecreasing: strip(ffd.perClass[i]), bestFitDecreasing: strip(b) })),
        infeasible: best.infeasible,
        cheapest: { workerClass: best.cheapest.workerClass.name, workers: best.cheapest.workers, costPerHour: best.cheapest.costPerHour, costPerModelHour: best.cheapest.costPerModelHour, gap: best.cheapest.gap },
      });
    } else ctx.stdout(planText(ffd, best, computeCap));
  },
};
