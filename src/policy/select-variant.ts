// Variant selection on query arrival (INFaaS's dispatcher decision, made faithful and then better):
// pick the variant that serves a request at the requested level (exact variant, architecture + latency
// SLO, use case + accuracy + latency SLO) at the lowest cost. Pure: the clock is an argument.

import { InfaasError, invalid, notFound } from '../core/errors.ts';
import type { Variant } from '../core/types.ts';
import { p95At, type Catalogue, type CatalogueEntry, type CostIndex } from './catalogue.ts';
import { bestServingReplica, replicaWait, type ClusterView } from './cluster-view.ts';
import { fmtAcc, fmtCost, fmtMs, unsatisfiable } from './unsatisfiable.ts';

interface CommonRequest {
  /** Samples in the request, an integer ≥ 1. */
  batch: number;
  /** Upper bound on the variant's cost per 1,000 inferences (same currency as the price table). */
  maxCostPer1k?: number;
}

/** What an application asked for, at one of the three levels of DESIGN.md. */
export type SelectionRequest =
  | (CommonRequest & { kind: 'variant'; variant: string })
  | (CommonRequest & { kind: 'arch'; arch: string; latencyMs: number })
  | (CommonRequest & { kind: 'usecase'; useCase: string; minAccuracy: number; latencyMs: number });

/** The decision. */
export interface Selection {
  variant: Variant;
  /** True when a serving replica (active or loading) will take the request; false means a cold start. */
  loaded: boolean;
  /**
   * Predicted latency of this request (ms): replica wait + p95 at the batch when loaded, load time + p95
   * otherwise. It may exceed the request's SLO only in the "steady state" case described on selectVariant.
   */
  predictedMs: number;
  /** One human-readable sentence explaining the choice. */
  reason: string;
  /** When loaded: the worker of the replica the prediction assumed (chooseWorker will agree). */
  workerId?: string;
}

/**
 * Chooses a variant for a request.
 *
 * Latencies are the profile's, or, when the cluster view has corrections (measured by the live system), the
 * profile's corrected: p95 × the variant's run factor at the batch, the measured load time, plus the overhead of a
 * request outside the workers (ClusterView.corrections).
 *
 * Candidates have maxBatch ≥ batch, accuracy ≥ minAccuracy (use-case level) and costPer1k ≤ maxCostPer1k
 * (when given). Among them, in order:
 * 1. a variant with a serving replica (active/loading, not overloaded/interfered) whose replica wait + p95
 *    at the batch fits the SLO: lowest cost, then lowest predicted latency, then name;
 * 2. otherwise a cold start whose load time + p95 fits the SLO: lowest cost, then lowest predicted latency;
 * 3. otherwise (better than INFaaS, which would refuse forever or ignore load time silently) a cold start
 *    whose p95 alone fits: this request pays the load and misses the SLO once (said in `reason`, and
 *    predictedMs > latencyMs), the following ones meet it;
 * 4. otherwise, when measured corrections ruled every variant out, chooses as the profiles would (the cluster is
 *    slower than profiled now, which admission control answers as overload, not as an SLO nothing can meet);
 * 5. otherwise throws SLO_UNSATISFIABLE with `details.alternatives` = { fastestMeetingAccuracy?,
 *    mostAccurateMeetingLatency?, cheapestMeetingSlo? } (each { variant, p95Ms, accuracy, costPer1k }).
 * Exact-variant requests skip the latency/accuracy checks but honour the cost cap.
 *
 * Errors: INVALID_ARGUMENT (batch not an integer ≥ 1, latency ≤ 0, accuracy outside 0..100, negative cost
 * cap, exact variant with batch > maxBatch); NOT_FOUND (unknown variant, architecture or use case);
 * SLO_UNSATISFIABLE as above.
 *
 * Cost: O(loaded variants) for tier 1 plus a cost-ordered scan that stops at the first fit for tier 2.
 */
export function selectVariant(req: SelectionRequest, catalogue: Catalogue, cluster: ClusterView, now: number): Selection {
  const batch = req.batch;
  if (!Number.isInteger(batch) || batch < 1) throw invalid(`batch must be an integer ≥ 1 (got ${batch})`);
  const cap = req.maxCostPer1k ?? Infinity;
  if (req.maxCostPer1k !== undefined && !(req.maxCostPer1k >= 0)) {
    throw invalid(`maxCostPer1k must be a number ≥ 0 (got ${req.maxCostPer1k})`);
  }
  if (req.kind === 'variant') return selectExact(req.variant, batch, cap, catalogue, cluster, now);

  const slo = req.latencyMs;
  if (!Number.isFinite(slo) || slo <= 0) throw invalid(`latencyMs must be a number > 0 (got ${slo})`);
  let group: CostIndex;
  let minAcc = 0;
  let arch: string | undefined;
  let useCase: string | undefined;
  if (req.kind === 'arch') {
    arch = req.arch;
    group = catalogue.archCostIndex(arch);
    if (group.entries.length === 0) throw notFound(`unknown architecture '${arch}'`, { arch });
  } else {
    minAcc = req.minAccuracy;
    if (!Number.isFinite(minAcc) || minAcc < 0 || minAcc > 100) {
      throw invalid(`minAccuracy must be a percentage between 0 and 100 (got ${minAcc})`);
    }
    useCase = req.useCase;
    group = catalogue.useCaseCostIndex(useCase);
    if (group.entries.length === 0) {
      const known = catalogue.useCases();
      throw notFound(`unknown use case '${useCase}'${known.length ? ` (known: ${known.slice(0, 10).join(', ')})` : ''}`, { useCase });
    }
  }
  const what = arch !== undefined ? `architecture ${arch}` : `use case ${useCase}`;
  const corr = cluster.corrections?.();
  const overhead = corr ? corr.overheadMs() : 0;
  /** Time of the request's own run (ms): p95 at the batch, corrected and with the overhead when measured. */
  const runOf = (e: CatalogueEntry): number => (corr ? overhead + p95At(e, batch) * corr.runFactor(e.name, batch) : p95At(e, batch));
  const goal = (): string => minAcc > 0 ? `reaches ${fmtAcc(minAcc)}% accuracy within ${fmtMs(slo)} ms` : `answers within ${fmtMs(slo)} ms`;

  // Tier 1: serving replicas. Iterate the smaller of the loaded set and the request's group: usually the loaded
  // set, but with thousands of models loaded an architecture's own few variants are far fewer.
  let best: CatalogueEntry | undefined;
  let bestPred = Infinity;
  let bestWorker = '';
  const candidates: Iterable<CatalogueEntry | string> = cluster.loadedCount() <= group.entries.length ? cluster.loadedVariants() : group.entries;
  for (const c of candidates) {
    const e = typeof c === 'string' ? catalogue.entry(c) : c;
    if (!e || (arch !== undefined ? e.arch !== arch : e.useCase !== useCase)) continue;
    const name = e.name;
    if (e.maxBatch < batch || e.accuracy < minAcc || e.costPer1k > cap) continue;
    const r = bestServingReplica(cluster.replicas(name), now);
    if (!r) continue;
    const pred = replicaWait(r, now) + runOf(e);
    if (pred > slo) continue;
    if (!best || better(e, pred, best, bestPred)) {
      best = e;
      bestPred = pred;
      bestWorker = r.workerId;
    }
  }
  if (best) {
    const chosen = best;
    return {
      variant: chosen.variant, loaded: true, predictedMs: bestPred, workerId: bestWorker,
      // Built only when read: formatting it on every call was a quarter of the simulator's CPU.
      get reason() {
        return `cheapest loaded variant of ${what} that ${goal()}: ${chosen.name} on ${bestWorker} (predicted ${fmtMs(bestPred)} ms, ${fmtCost(chosen.costPer1k)} per 1k)`;
      },
    };
  }

  // Tiers 2 and 3: one cost-ordered scan; stop once a full fit is found and the cost rises.
  let steady: CatalogueEntry | undefined;
  let steadyPred = Infinity;
  let steadyLoad = 0;
  let bestLoad = 0;
  const { entries, cost, accuracy, maxBatch, loadMs, minP95 } = group;
  const maxThreads = cluster.maxThreads?.() ?? Infinity;
  for (let i = 0, n = entries.length; i < n; i++) {
    const c = cost[i];
    if (c > cap || (best && c > best.costPer1k)) break;
    if (maxBatch[i] < batch || accuracy[i] < minAcc || entries[i].variant.config.threads > maxThreads) continue;
    // Bounds from the profile's own figures (a measured correction may lower or raise them).
    if (!corr && minP95[i] > slo) continue;
    if (!corr && steady && c > steady.costPer1k) {
      // The cheapest steady-state fit is known: only a full fit (load included) could still win.
      if (slo < group.minColdMs) break;
      if (loadMs[i] + minP95[i] > slo) continue;
    }
    const e = entries[i];
    const p95 = runOf(e);
    if (p95 > slo) continue;
    const load = corr ? corr.loadMs(e.variant) : loadMs[i];
    const pred = load + p95;
    if (pred <= slo) {
      if (!best || better(e, pred, best, bestPred)) {
        best = e;
        bestPred = pred;
        bestLoad = load;
      }
    } else if (!steady || better(e, pred, steady, steadyPred)) {
      steady = e;
      steadyPred = pred;
      steadyLoad = load;
    }
  }
  if (best) {
    return {
      variant: best.variant, loaded: false, predictedMs: bestPred,
      // Built only when read: formatting it on every call was a quarter of the simulator's CPU.
      get reason() {
        return `no loaded variant of ${what} ${goal()}; cold-starting the cheapest that does: ${best.name} (load ${fmtMs(bestLoad)} ms + p95 ${fmtMs(bestPred - bestLoad)} ms, ${fmtCost(best.costPer1k)} per 1k)`;
      },
    };
  }
  if (steady) {
    return {
      variant: steady.variant, loaded: false, predictedMs: steadyPred,
      // Built only when read: formatting it on every call was a quarter of the simulator's CPU.
      get reason() {
        return `no variant of ${what} ${goal()} including its load time; cold-starting ${steady.name}: this request pays the load (${fmtMs(steadyLoad)} ms) and misses the SLO, later ones meet it (p95 ${fmtMs(steadyPred - steadyLoad)} ms)`;
      },
    };
  }
  if (corr) return selectVariant(req, catalogue, asProfiled(cluster), now);
  // Alternatives only among variants this cluster's workers can run.
  const runnable = maxThreads === Infinity ? group.entries : group.entries.filter((e) => e.variant.config.threads <= maxThreads);
  if (runnable.length === 0) {
    throw new InfaasError('SLO_UNSATISFIABLE', `no variant of ${what} runs on this server's workers: they have ${maxThreads} thread(s), its variants need more`, { alternatives: {} });
  }
  throw unsatisfiable({ what, goal: goal(), group: runnable, batch, minAcc, slo, cap, capGiven: req.maxCostPer1k !== undefined });
}

function selectExact(name: string, batch: number, cap: number, catalogue: Catalogue, cluster: ClusterView, now: number): Selection {
  const e = catalogue.entry(name);
  if (!e) throw notFound(`unknown variant '${name}'`, { variant: name });
  if (batch > e.maxBatch) throw invalid(`variant ${name} takes at most ${e.maxBatch} samples per request (got ${batch})`, { variant: name, maxBatch: e.maxBatch });
  if (e.costPer1k > cap) {
    throw new InfaasError('SLO_UNSATISFIABLE', `variant ${name} costs ${fmtCost(e.costPer1k)} per 1k queries, above the cap of ${fmtCost(cap)}`, {
      alternatives: {},
    });
  }
  const corr = cluster.corrections?.();
  const p95 = corr ? corr.overheadMs() + p95At(e, batch) * corr.runFactor(name, batch) : p95At(e, batch);
  const load = corr ? corr.loadMs(e.variant) : e.loadMs;
  const r = bestServingReplica(cluster.replicas(name), now);
  if (r) {
    const pred = replicaWait(r, now) + p95;
    return { variant: e.variant, loaded: true, predictedMs: pred, workerId: r.workerId, get reason() { return `requested variant ${name}, loaded on ${r.workerId}`; } };
  }
  const flagged = (cluster.replicas(name)?.length ?? 0) > 0;
  return {
    variant: e.variant, loaded: false, predictedMs: load + p95,
    // Built only when read: formatting it on every call was a quarter of the simulator's CPU.
    get reason() {
      return `requested variant ${name}, ${flagged ? 'every replica overloaded or interfered: loading another' : 'not loaded: cold start'} (load ${fmtMs(load)} ms)`;
    },
  };
}

/** The same view without its corrections: selection as the profiles say. */
function asProfiled(c: ClusterView): ClusterView {
  return {
    replicas: (v) => c.replicas(v),
    loadedVariants: () => c.loadedVariants(),
    loadedCount: () => c.loadedCount(),
    ...(c.maxThreads ? { maxThreads: () => c.maxThreads!() } : {}),
  };
}

/** Lower cost wins; then lower predicted latency; then name (determinism). */
function better(e: CatalogueEntry, pred: number, b: CatalogueEntry, bPred: number): boolean {
  if (e.costPer1k !== b.costPer1k) return e.costPer1k < b.costPer1k;
  if (pred !== bPred) return pred < bPred;
  return e.name < b.name;
}
