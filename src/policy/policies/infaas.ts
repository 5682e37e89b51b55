// Baseline "infaas": the original INFaaS's autoscaling, as published (REFERENCE.md §1), on CPU workers.
// Faithful on purpose — not tuned to lose:
// - health every 1 s with its CPU thresholds (Lh 2.5, Qh 0.5, Oh 0.8, Uh 1.5; one replica Lh 4, Qh 1, Oh 1.1),
//   comparing the *average* latency with the profile (never a tail);
// - model autoscaler every 1 s: capacity at the observed batch, add ⌈(demand − 0.95·capacity)/thr⌉ replicas,
//   remove one after 10 s of asking, replicate vs upgrade by load-latency cost with the 1.5x rule, no
//   scale-to-zero (variants leave only when their worker does);
// - worker autoscaler every 2 s: add one worker when the least-utilised is above 80%, or when the dispatcher
//   could not place a variant; back off 30 s; remove one after 15 low checks (least-utilised ≤ 5% or mean
//   ≤ 30%); never below the initial count;
// - dispatch: the shared selectVariant (cheapest loaded variant that fits, else a cold start; a variant whose
//   replicas are all flagged is cold-started on another worker, as INFaaS's dispatcher does).
// Starts with one worker per use case and nothing loaded (INFaaS loads on the first query).

import { INFAAS_CPU_MODEL_AUTOSCALER, type ModelAutoscalerState } from '../model-autoscaler.ts';
import type { ScalingAction, ScalingPolicy } from '../scaling-policy.ts';
import { INFAAS_CPU_HEALTH } from '../variant-health.ts';
import { autoscaleWorkers, EMPTY_WORKER_AUTOSCALER_STATE, infaasWorkerAutoscaler, type WorkerAutoscalerState } from '../worker-autoscaler.ts';
import { healthPass, modelsPass, routeUseCase, useCaseShares, type HealthBook } from './common.ts';
import { snapshotEntries } from '../snapshot-entries.ts';

export interface InfaasState {
  health: HealthBook;
  models: ReadonlyMap<string, ModelAutoscalerState>;
  workers: WorkerAutoscalerState;
  initial: number;
}

export function infaasPolicy(workerClass = 'cpu-2', maxWorkers = 5000): ScalingPolicy<InfaasState> {
  return {
    name: 'infaas',
    description: 'INFaaS as published: average-latency flags, replicate-vs-upgrade 1.5x, +1 worker when all > 80%, 30 s back-off',
    tickMs: 1000,
    init(ctx) {
      const initial = useCaseShares(ctx.mix).size;
      const workers = Array.from({ length: initial }, () => ({ workerClass, variants: [] }));
      return { state: { health: new Map(), models: new Map(), workers: EMPTY_WORKER_AUTOSCALER_STATE, initial }, workers };
    },
    tick(snapshot, now, state) {
      const actions: ScalingAction[] = [];
      const entries = snapshotEntries(snapshot);
      const h = healthPass(snapshot, INFAAS_CPU_HEALTH, state.health, now, entries);
      actions.push(...h.actions);
      const m = modelsPass(snapshot, INFAAS_CPU_MODEL_AUTOSCALER, state.models, now, entries);
      actions.push(...m.actions);
      const models = m.states;
      const wa = autoscaleWorkers(snapshot, infaasWorkerAutoscaler(workerClass, state.initial, maxWorkers), state.workers, now);
      actions.push(...wa.actions);
      return { actions, state: { health: h.book, models, workers: wa.state, initial: state.initial } };
    },
    route: (q, view, catalogue, now) => routeUseCase(q, view, catalogue, now),
  };
}
