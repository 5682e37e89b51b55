// The controller's half of admission control: before a request goes to a worker, whether it can still meet its
// SLO behind the work in flight there (src/policy/admission.ts over LiveClusterView.predict), and the typed
// refusal when it cannot; after the reply, what the reply measured, fed back to the view's estimator so that the
// next predictions match what the live system does.

import { InfaasError, withoutStack } from '../core/errors.ts';
import type { Variant } from '../core/types.ts';
import { admit } from '../policy/admission.ts';
import { p50At, type Catalogue } from '../policy/catalogue.ts';
import type { LatencyEstimator } from '../policy/latency-estimator.ts';
import type { InferReply } from '../protocol/worker-protocol.ts';
import type { Prediction } from './live-cluster-view.ts';

/** A request about to be sent: its SLO (undefined: exact variant, no SLO) and how much of it is spent already. */
export interface Pending {
  variant: Variant;
  worker: string;
  sloMs?: number;
  elapsedMs: number;
  /** Selection chose a cold start knowing no variant fits the SLO with its load time (this request pays it once). */
  paysLoad: boolean;
  /** Headroom on top of the prediction (the tail of past errors, waits not seen), ms. */
  marginMs?: number;
}

/**
 * Undefined when the request may go to the worker; otherwise the error to answer with: RESOURCE_EXHAUSTED (429)
 * when the work queued ahead of it would make it late (details.retryAfterMs: when the queue should have shrunk
 * enough), or when the variant runs slower than profiled now so that even alone it would miss the whole SLO
 * (retry in a second: the measure is refreshed by then), and also when alone it would meet the SLO but no longer
 * what is left of it (the server took too long to reach it: tooLateToStart). A request that pays a cold start selection chose knowingly is held to its
 * SLO without the load (the load is the system's choice). Requests without an SLO pass.
 */
export function refusal(r: Pending, p: Prediction): InfaasError | undefined {
  const sloMs = r.sloMs;
  if (sloMs === undefined) return undefined;
  // Refusals are many under overload and their stack says nothing: not captured.
  return withoutStack(() => decide({ ...r, sloMs }, p));
}

function decide(r: Pending & { sloMs: number }, p: Prediction): InfaasError | undefined {
  const budgetMs = r.sloMs - r.elapsedMs;
  const serviceMs = r.paysLoad && p.cold ? p.serviceMs - (p.loadMs ?? 0) : p.serviceMs;
  const a = admit({ budgetMs, waitMs: p.waitMs, serviceMs, overheadMs: p.overheadMs, marginMs: r.marginMs ?? 0 });
  if (a.admit) return undefined;
  const [predictedMs, remainingMs, waitMs] = [round1(a.predictedMs), round1(budgetMs), round1(p.waitMs)];
  const common = { variant: r.variant.name, worker: r.worker, latencyMs: r.sloMs, predictedMs, remainingMs };
  if (a.why === 'alone' && p.overheadMs + serviceMs > r.sloMs) {
    return new InfaasError('RESOURCE_EXHAUSTED', `overloaded: ${r.variant.name} runs slower than profiled now: alone on worker ${r.worker} it would take ~${predictedMs} ms, past the ${r.sloMs} ms SLO; retry in ~1000 ms`, {
      ...common, retryAfterMs: 1000,
    });
  }
  if (a.why === 'alone') return tooLateToStart({ ...common, neededMs: predictedMs });
  const retryAfterMs = round1(Math.max(1, a.retryAfterMs));
  const margin = r.marginMs ?? 0;
  const loaded = margin >= 1 ? `, and ~${round1(margin)} ms of headroom for a busy server` : '';
  const queued = `${waitMs} ms of work queued ahead on worker ${r.worker}${p.cold ? ', then a load' : ''}${loaded}`;
  return new InfaasError(
    'RESOURCE_EXHAUSTED',
    `overloaded: no replica can answer within the ${remainingMs} ms left of the ${r.sloMs} ms SLO; the best, ${r.variant.name}, would take ~${predictedMs} ms (${queued}); retry in ~${retryAfterMs} ms`,
    { ...common, waitMs, retryAfterMs },
  );
}

/** Refusal of any request (with or without an SLO) to a worker that already has `limit` of ours in flight. */
export function queueFull(variant: string, worker: string, limit: number, waitMs: number): InfaasError {
  const retryAfterMs = round1(Math.max(1, waitMs));
  return new InfaasError('RESOURCE_EXHAUSTED', `overloaded: worker ${worker} already has ${limit} requests in flight from this controller (the most it sends one worker); retry in ~${retryAfterMs} ms`, {
    variant, worker, inflight: limit, retryAfterMs,
  });
}

/**
 * Feeds what a reply measured to the estimator: the run (weighted by the requests that shared it), the load of a
 * cold start, and the time outside the worker (`sinceDispatchMs` minus the worker's queue, load and run; `idle`:
 * nothing was predicted ahead of the request).
 */
export function observeReply(e: LatencyEstimator, catalogue: Catalogue, variant: Variant, batch: number, reply: InferReply, sinceDispatchMs: number, now: number, idle: boolean): void {
  const t = reply.timing;
  const entry = catalogue.entry(variant.name);
  const samples = reply.batch?.samples ?? batch;
  if (entry && t.inferenceMs > 0) e.observeRun(variant.name, samples, t.inferenceMs, p50At(entry, samples), now, 1 / Math.max(1, reply.batch?.requests ?? 1));
  if (reply.coldStart && t.loadMs > 0) e.observeLoad(variant.name, t.loadMs, variant.profile.loadMs, t.firstLoad ?? false, now, variant.artifactId);
  e.observeOverhead(sinceDispatchMs - t.queueMs - t.loadMs - t.inferenceMs, now, idle);
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * A request refused before anything ran because what is left of its SLO is less than it needs: the time went in
 * reaching it (parsing, queueing ahead of dispatch or in the worker's inbox), so the server was too busy for it:
 * 429 with Retry-After, not a late 504. The worker's own refusal of this kind (DEADLINE_EXCEEDED with neededMs)
 * is answered the same way by the dispatcher.
 */
export function tooLateToStart(d: { variant: string; worker?: string; latencyMs?: number; neededMs: number; remainingMs: number; [k: string]: unknown }): InfaasError {
  const retryAfterMs = round1(Math.max(1, d.neededMs));
  const where = d.worker ? ` (worker ${d.worker})` : '';
  const slo = d.latencyMs !== undefined ? ` of its ${d.latencyMs} ms SLO` : '';
  return new InfaasError(
    'RESOURCE_EXHAUSTED',
    `overloaded: the request needs ~${d.neededMs} ms on ${d.variant}${where} but only ${d.remainingMs} ms${slo} remained when it could start; retry in ~${retryAfterMs} ms`,
    { ...d, retryAfterMs },
  );
}
