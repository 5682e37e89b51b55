// Fuzzing: checks of what a parser accepted — a value it returns must be what its type promises (finite float32
// tensors, validation sets whose labels index their classes, profiles with finite numbers, a well-typed config).

import type { InfaasConfig } from '../../config/config.ts';
import type { Variant } from '../../core/types.ts';
import type { ValidationSet } from '../../core/validation-set.ts';

export function checkFloat32(data: Float32Array, poison?: string): string | undefined {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return 'accepted a value that is not a finite float32';
  if (poison) return `accepted input holding ${poison}`;
  return undefined;
}

export function checkValset(v: ValidationSet): string | undefined {
  const per = v.shape.reduce((a, b) => a * b, 1);
  if (v.inputs.length !== per * v.count || v.labels.length !== v.count) return 'validation set decoded with inconsistent sizes';
  for (let i = 0; i < v.inputs.length; i++) if (!Number.isFinite(v.inputs[i])) return 'validation set with non-finite inputs accepted';
  for (let i = 0; i < v.labels.length; i++) {
    if (v.labels[i] < 0) return 'validation set with a negative class label accepted';
    if (v.classNames && v.labels[i] >= v.classNames.length) return 'validation set with a label beyond its class names accepted';
  }
  return undefined;
}

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

export function checkVariants(accuracy: number, variants: Variant[]): string | undefined {
  if (!finite(accuracy) || accuracy < 0 || accuracy > 100) return 'profile accepted with accuracy outside 0..100';
  for (const v of variants) {
    const p = v.profile;
    for (const k of ['loadMs', 'memoryMB', 'peakThroughput', 'costPerHour', 'costPer1k'] as const) if (!finite(p[k])) return `profile accepted with a non-finite ${k}`;
    if (!(p.peakThroughput > 0)) return 'profile accepted with peakThroughput <= 0';
    if (!p.latency.length || p.latency[0].batch !== 1) return 'profile accepted without a batch-1 latency';
    if (p.latency.some((l, i) => !finite(l.p50) || !finite(l.p95) || (i > 0 && l.batch <= p.latency[i - 1].batch))) return 'profile accepted with bad latency rows';
  }
  return undefined;
}

const posInt = (x: unknown) => Number.isInteger(x) && (x as number) >= 1;
const str = (x: unknown) => typeof x === 'string' && x.length > 0;

/** The first field of a loaded config that is not what InfaasConfig declares, as a stable message. */
export function checkConfig(c: InfaasConfig): string | undefined {
  const bad = (field: string) => `loadConfig accepted a bad ${field}`;
  if (!str(c.host)) return bad('host');
  if (!Number.isInteger(c.port)) return bad('port');
  if (!Array.isArray(c.workerClasses)) return bad('workerClasses');
  for (const w of c.workerClasses) {
    if (typeof w !== 'object' || w === null || !str(w.name)) return bad('workerClasses[].name');
    if (!posInt(w.threads)) return bad('workerClasses[].threads');
    if (!finite(w.memoryMB) || !finite(w.pricePerHour)) return bad('workerClasses[] memoryMB/pricePerHour');
  }
  if (typeof c.initialWorkers !== 'object' || c.initialWorkers === null || !str(c.initialWorkers.workerClass)) return bad('initialWorkers');
  const g = c.profiling;
  if (typeof g !== 'object' || g === null || !Array.isArray(g.threads) || !Array.isArray(g.maxBatch) || !Array.isArray(g.optLevels)) return bad('profiling');
  if (!g.threads.every(posInt)) return bad('profiling.threads');
  if (!posInt(g.runs) || !(Number.isInteger(g.warmup) && g.warmup >= 0)) return bad('profiling.runs/warmup');
  for (const k of ['maxBodyBytes', 'maxModelBytes'] as const) if (!posInt(c[k])) return bad(k);
  if (!finite(c.workerTimeoutMs) || c.workerTimeoutMs <= 0) return bad('workerTimeoutMs');
  if (c.autoscaling.idleUnloadMs !== undefined && !finite(c.autoscaling.idleUnloadMs)) return bad('autoscaling.idleUnloadMs');
  for (const k of ['metadata', 'repository', 'controllerId'] as const) if (c[k] !== undefined && typeof c[k] !== 'string') return bad(k);
  if (c.provisioner.kubernetes !== undefined && (typeof c.provisioner.kubernetes !== 'object' || c.provisioner.kubernetes === null)) return bad('provisioner.kubernetes');
  return undefined;
}
