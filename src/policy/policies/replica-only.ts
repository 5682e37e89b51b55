// Baseline "replica-only": one fixed variant per use case (as static-peak), scaled horizontally only, the
// way replica autoscalers in general-purpose serving work (SageMaker target tracking, Kubernetes HPA;
// "INDIVIDUAL" in the INFaaS code). Not tuned to lose: replicas per worker follow INFaaS's model
// autoscaler (vertical moves off); each fixed variant has its own pool of workers (one Deployment per
// model) scaled with Kubernetes HPA's defaults — every 15 s, desired = ⌈workers × mean utilisation / 70%⌉,
// scale-down only after 5 minutes of low use — and a new worker gets its pool's variant loaded at once.

import { autoscaleModels, EMPTY_MODEL_AUTOSCALER_STATE, INFAAS_CPU_MODEL_AUTOSCALER, type ModelAutoscalerState } from '../model-autoscaler.ts';
import type { ScalingAction, ScalingPolicy, WorkerSnapshot } from '../scaling-policy.ts';
import { selectVariant } from '../select-variant.ts';
import { INFAAS_CPU_HEALTH } from '../variant-health.ts';
import { autoscaleWorkers, EMPTY_WORKER_AUTOSCALER_STATE, type WorkerAutoscalerConfig, type WorkerAutoscalerState } from '../worker-autoscaler.ts';
import { fixedVariants, healthPass, type HealthBook } from './common.ts';

export interface ReplicaOnlyState {
  fixed: ReadonlyMap<string, string>;
  health: HealthBook;
  models: ReadonlyMap<string, ModelAutoscalerState>;
  /** fixed variant → its pool's worker autoscaler. */
  pools: ReadonlyMap<string, WorkerAutoscalerState>;
  /** Variants waiting for a worker that was asked for (FIFO: the next new worker gets the first). */
  pending: readonly string[];
}

/** Kubernetes HPA defaults: 15 s sync period, target 70% CPU, proportional scale-up, 300 s scale-down stabilisation. */
export function hpaWorkerAutoscaler(workerClass: string, min: number, max: number): WorkerAutoscalerConfig {
  return {
    periodMs: 15_000, hotRule: 'mean', hotUtilisation: 0.7, step: 'proportional', targetUtilisation: 0.7, backoffMs: 15_000,
    lowMinUtilisation: 0, lowMeanUtilisation: 0.35, lowChecks: 20, limits: [{ workerClass, min, max }], placementClass: workerClass,
  };
}

export function replicaOnlyPolicy(workerClass = 'cpu-2', maxWorkers = 5000): ScalingPolicy<ReplicaOnlyState> {
  return {
    name: 'replica-only',
    description: 'one fixed variant per use case, horizontal autoscaling only (INFaaS replicas, Kubernetes-HPA workers)',
    tickMs: 1000,
    init(ctx) {
      const fixed = fixedVariants(ctx.catalogue, ctx.mix);
      const workers = [...fixed.values()].map((e) => ({ workerClass, variants: [{ variant: e.name, replicas: 1 }] }));
      const state: ReplicaOnlyState = {
        fixed: new Map([...fixed].map(([uc, e]) => [uc, e.name])), health: new Map(), models: new Map(), pools: new Map(), pending: [],
      };
      return { state, workers };
    },
    tick(snapshot, now, state) {
      const actions: ScalingAction[] = [];
      const h = healthPass(snapshot, INFAAS_CPU_HEALTH, state.health, now);
      actions.push(...h.actions);
      const pinned = new Set(state.fixed.values());
      const cfg = { ...INFAAS_CPU_MODEL_AUTOSCALER, vertical: 'none' as const, pinned };
      const models = new Map<string, ModelAutoscalerState>();
      const pending = [...state.pending];
      for (const w of snapshot.workers) {
        if (w.phase === 'ready' && w.variants.length === 0) {
          const v = pending.shift();
          if (v) actions.push({ kind: 'load', worker: w.id, variant: v });
          continue;
        }
        const r = autoscaleModels(w, snapshot.catalogue, cfg, state.models.get(w.id) ?? EMPTY_MODEL_AUTOSCALER_STATE, now);
        actions.push(...r.actions);
        models.set(w.id, r.state);
      }
      const pools = new Map<string, WorkerAutoscalerState>();
      for (const v of [...pinned].sort()) {
        const members: WorkerSnapshot[] = snapshot.workers.filter((w) => w.variants.some((x) => x.variant === v));
        for (const p of pending) if (p === v) members.push({ id: `pending-${v}`, workerClass, phase: 'starting', startedAt: now, threads: 0, memoryBudgetMB: 0, memoryUsedMB: 0, utilisation: 0, variants: [] });
        const r = autoscaleWorkers({ ...snapshot, workers: members, unplaced: [] }, hpaWorkerAutoscaler(workerClass, 1, maxWorkers), state.pools.get(v) ?? EMPTY_WORKER_AUTOSCALER_STATE, now);
        for (const a of r.actions) {
          if (a.kind === 'addWorker') pending.push(v);
          if (a.kind !== 'removeWorker' || !a.worker.startsWith('pending-')) actions.push(a);
        }
        pools.set(v, r.state);
      }
      return { actions, state: { ...state, health: h.book, models, pools, pending } };
    },
    route(q, view, catalogue, now, state) {
      return selectVariant({ kind: 'variant', variant: state.fixed.get(q.useCase) ?? '', batch: q.batch }, catalogue, view, now);
    },
  };
}
