// Pieces the policy sets share: the health pass over a snapshot, the fixed variant of the fixed-variant
// baselines, provisioning arithmetic, and the default router (selectVariant, the dispatcher's own code).

import { InfaasError } from '../../core/errors.ts';
import { p50At, p95At, type Catalogue, type CatalogueEntry } from '../catalogue.ts';
import type { ClusterView } from '../cluster-view.ts';
import { autoscaleModels, EMPTY_MODEL_AUTOSCALER_STATE, replicaThroughput, sloBatch, type ModelAutoscalerConfig, type ModelAutoscalerState } from '../model-autoscaler.ts';
import type { ClusterSnapshot, QueryClass, QueryDemand, ScalingAction } from '../scaling-policy.ts';
import { selectVariant, type Selection } from '../select-variant.ts';
import { snapshotEntries, type SnapshotEntries } from '../snapshot-entries.ts';
import { assessHealth, HEALTHY, type HealthConfig, type HealthMemory } from '../variant-health.ts';

/** Health memory of every (worker, variant): worker id → variant → memory. */
export type HealthBook = ReadonlyMap<string, ReadonlyMap<string, HealthMemory>>;

/**
 * Runs assessHealth for every serving variant of every ready worker; returns setHealth actions for the
 * flags that changed and the new book (entries of variants that went away are dropped). `entries`: the
 * snapshot's catalogue entries when the caller has them already.
 */
export function healthPass(
  snapshot: ClusterSnapshot, cfg: HealthConfig, book: HealthBook, now: number, entries: SnapshotEntries = snapshotEntries(snapshot),
): { actions: ScalingAction[]; book: HealthBook } {
  const actions: ScalingAction[] = [];
  const next = new Map<string, Map<string, HealthMemory>>();
  const workers = snapshot.workers;
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i];
    if (w.phase !== 'ready') continue;
    const kept = book.get(w.id);
    let out = next.get(w.id);
    const es = entries[i];
    for (let j = 0; j < w.variants.length; j++) {
      const v = w.variants[j];
      if (v.replicas === 0 || v.state === 'unloading') continue;
      const e = es[j];
      if (!e) continue;
      // The shell's flag is the truth: a book entry that disagrees with it (dropped while the replica was
      // unloading and then brought back, or a replica made anew) would leave a flag no pass ever clears.
      const mem = kept?.get(v.variant);
      const flag = v.state === 'overloaded' || v.state === 'interfered' ? v.state : 'active';
      const prev = mem?.state === flag ? mem : flag === 'active' ? HEALTHY : { state: flag, since: now };
      const b = Math.max(1, v.stats.avgBatch);
      const h = assessHealth(prev, v.stats, { p50: p50At(e, b), p95: p95At(e, b) }, cfg, now);
      if (h.state !== prev.state) actions.push({ kind: 'setHealth', worker: w.id, variant: v.variant, state: h.state });
      if (h.state !== 'active' || mem !== undefined) {
        if (!out) next.set(w.id, (out = new Map()));
        out.set(v.variant, h);
      }
    }
  }
  return { actions, book: next };
}

/** Runs the per-worker model autoscaler on every worker of the snapshot; returns its actions and the new states. */
export function modelsPass(
  snapshot: ClusterSnapshot, cfg: ModelAutoscalerConfig, states: ReadonlyMap<string, ModelAutoscalerState>, now: number,
  entries: SnapshotEntries = snapshotEntries(snapshot),
): { actions: ScalingAction[]; states: Map<string, ModelAutoscalerState> } {
  const actions: ScalingAction[] = [];
  const next = new Map<string, ModelAutoscalerState>();
  const workers = snapshot.workers;
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i];
    const r = autoscaleModels(w, snapshot.catalogue, cfg, states.get(w.id) ?? EMPTY_MODEL_AUTOSCALER_STATE, now, entries[i]);
    for (const a of r.actions) actions.push(a);
    next.set(w.id, r.state);
  }
  return { actions, states: next };
}

/** The use-level router: selectVariant at the use-case level (cheapest variant that meets the SLO). */
export function routeUseCase(q: QueryDemand, view: ClusterView, catalogue: Catalogue, now: number): Selection {
  return selectVariant({ kind: 'usecase', useCase: q.useCase, minAccuracy: q.minAccuracy, latencyMs: q.latencyMs, batch: q.batch }, catalogue, view, now);
}

/**
 * The one variant a fixed-variant baseline serves a use case with: the cheapest (per 1k) whose accuracy
 * meets the most demanding class of the mix for that use case and whose batch-1 p95 fits half its
 * tightest SLO. Undefined when none does.
 */
export function fixedVariant(catalogue: Catalogue, mix: readonly QueryClass[], useCase: string): CatalogueEntry | undefined {
  const classes = mix.filter((c) => c.useCase === useCase);
  if (classes.length === 0) return undefined;
  const acc = Math.max(...classes.map((c) => c.minAccuracy));
  const slo = Math.min(...classes.map((c) => c.latencyMs));
  return catalogue.byUseCaseCost(useCase).find((e) => e.accuracy >= acc && e.p95b1 <= slo / 2);
}

/** Samples/s one worker of `threads` threads serves with `e`, at the largest batch that fits half the SLO. */
export function workerThroughput(e: CatalogueEntry, threads: number, sloMs: number): number {
  return Math.max(1, Math.floor(threads / e.variant.config.threads)) * replicaThroughput(e, sloBatch(e, sloMs / 2));
}

/** Share of the mix's traffic that goes to each use case. */
export function useCaseShares(mix: readonly QueryClass[]): Map<string, number> {
  const total = mix.reduce((a, c) => a + c.weight, 0);
  const m = new Map<string, number>();
  for (const c of mix) m.set(c.useCase, (m.get(c.useCase) ?? 0) + c.weight / total);
  return m;
}

/** The fixed variants of every use case in the mix (throws when one has none). */
export function fixedVariants(catalogue: Catalogue, mix: readonly QueryClass[]): Map<string, CatalogueEntry> {
  const m = new Map<string, CatalogueEntry>();
  for (const uc of useCaseShares(mix).keys()) {
    const e = fixedVariant(catalogue, mix, uc);
    if (!e) throw new InfaasError('SLO_UNSATISFIABLE', `no single variant of ${uc} meets every query class of the mix`, { useCase: uc });
    m.set(uc, e);
  }
  return m;
}

/** Tightest SLO of the mix for a use case. */
export function tightestSlo(mix: readonly QueryClass[], useCase: string): number {
  return Math.min(...mix.filter((c) => c.useCase === useCase).map((c) => c.latencyMs));
}
