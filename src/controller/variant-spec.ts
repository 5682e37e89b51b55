// What a worker needs to load and run a variant (the worker protocol's VariantSpec), built from the catalogue.

import { InfaasError } from '../core/errors.ts';
import type { Architecture, Variant } from '../core/types.ts';
import type { VariantSpec } from '../protocol/worker-protocol.ts';

const specCache = new WeakMap<Variant, VariantSpec>();

/** What a worker needs to load and run a variant (cached per variant object). */
export function specOf(v: Variant, arch: Architecture): VariantSpec {
  let s = specCache.get(v);
  if (!s) {
    const artifact = arch.artifacts.find((a) => a.id === v.artifactId);
    if (!artifact) throw new InfaasError('INTERNAL', `variant ${v.name} has no artifact ${v.artifactId}`);
    s = {
      name: v.name, artifactKey: artifact.key, ...(artifact.sha256 ? { sha256: artifact.sha256 } : {}), threads: v.config.threads, optLevel: v.config.optLevel, maxBatch: v.config.maxBatch, memoryMB: v.profile.memoryMB,
      latency: v.profile.latency.map((l) => ({ batch: l.batch, p50: round3(l.p50), p95: round3(l.p95) })),
      loadMs: round3(v.profile.loadMs),
    };
    specCache.set(v, s);
  }
  return s;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
