// Builds the SLO_UNSATISFIABLE error of variant selection: a sentence a person understands, and the
// closest feasible alternatives as data (docs/api.md: details.alternatives). Also the number formats.

import { InfaasError } from '../core/errors.ts';
import { p95At, type CatalogueEntry } from './catalogue.ts';

/** One alternative the caller could ask for instead. */
export interface Alternative {
  variant: string;
  /** p95 latency (ms) at the request's batch, once loaded. */
  p95Ms: number;
  /** Percent. */
  accuracy: number;
  costPer1k: number;
}

export interface Alternatives {
  /** The lowest-latency variant meeting the accuracy (and batch and cost cap). */
  fastestMeetingAccuracy?: Alternative;
  /** The most accurate variant meeting the latency (and batch and cost cap). */
  mostAccurateMeetingLatency?: Alternative;
  /** Only when a cost cap was given: the cheapest variant meeting accuracy and latency, above the cap. */
  cheapestMeetingSlo?: Alternative;
}

export interface UnsatisfiableInput {
  /** "use case x" or "architecture y". */
  what: string;
  /** "reaches 85% accuracy within 5 ms" or "answers within 5 ms". */
  goal: string;
  group: readonly CatalogueEntry[];
  batch: number;
  minAcc: number;
  slo: number;
  cap: number;
  capGiven: boolean;
}

export function unsatisfiable(x: UnsatisfiableInput): InfaasError {
  const { what, goal, group, batch, minAcc, slo, cap } = x;
  let largestBatch = 0;
  let cheapest: CatalogueEntry | undefined;
  let bestAcc: CatalogueEntry | undefined;
  let fastest: Alternative | undefined;
  let accurate: Alternative | undefined;
  let cheapestSlo: Alternative | undefined;
  for (const e of group) {
    if (e.maxBatch > largestBatch) largestBatch = e.maxBatch;
    if (e.maxBatch < batch) continue;
    if (!cheapest || e.costPer1k < cheapest.costPer1k) cheapest = e;
    const meetsAcc = e.accuracy >= minAcc;
    const inCap = e.costPer1k <= cap;
    if (inCap && (!bestAcc || e.accuracy > bestAcc.accuracy)) bestAcc = e;
    // Interpolate only when this entry could change an answer (minP95 bounds p95 from below).
    const mayFast = inCap && meetsAcc && (!fastest || e.minP95 < fastest.p95Ms);
    const mayAcc = inCap && e.minP95 <= slo && (!accurate || e.accuracy >= accurate.accuracy);
    const maySlo = x.capGiven && meetsAcc && e.minP95 <= slo && (!cheapestSlo || e.costPer1k < cheapestSlo.costPer1k);
    if (!mayFast && !mayAcc && !maySlo) continue;
    const p95 = p95At(e, batch);
    const meetsLat = p95 <= slo;
    if (maySlo && meetsLat) cheapestSlo = alt(e, p95);
    if (mayFast && (!fastest || p95 < fastest.p95Ms)) fastest = alt(e, p95);
    if (mayAcc && meetsLat && (!accurate || e.accuracy > accurate.accuracy || p95 < accurate.p95Ms)) accurate = alt(e, p95);
  }
  const at = batch > 1 ? ` at batch ${batch}` : '';
  const capText = x.capGiven ? ` for at most ${fmtCost(cap)} per 1k queries` : '';

  if (largestBatch < batch) {
    return err(`no variant of ${what} accepts batch ${batch} (largest max batch ${largestBatch})`, {}, x);
  }
  if (!bestAcc) {
    return err(`no variant of ${what} costs at most ${fmtCost(cap)} per 1k queries${at} (cheapest: ${cheapest!.name} at ${fmtCost(cheapest!.costPer1k)})`,
      { cheapestMeetingSlo: cheapestSlo }, x);
  }
  const parts = [`no variant of ${what} ${goal}${at}${capText}`];
  if (minAcc > 0) {
    parts.push(fastest
      ? `fastest meeting ${fmtAcc(minAcc)}%: ${fastest.variant} (p95 ${fmtMs(fastest.p95Ms)} ms, ${fmtAcc(fastest.accuracy)}%)`
      : `fastest meeting ${fmtAcc(minAcc)}%: none (best accuracy ${fmtAcc(bestAcc.accuracy)}%)`);
    parts.push(accurate
      ? `most accurate within ${fmtMs(slo)} ms: ${accurate.variant} (${fmtAcc(accurate.accuracy)}%, p95 ${fmtMs(accurate.p95Ms)} ms)`
      : `most accurate within ${fmtMs(slo)} ms: none`);
  } else {
    parts.push(`fastest: ${fastest!.variant} (p95 ${fmtMs(fastest!.p95Ms)} ms)`);
  }
  if (x.capGiven && cheapestSlo && cheapestSlo.costPer1k > cap) {
    parts.push(`without the cost cap ${cheapestSlo.variant} would (${fmtCost(cheapestSlo.costPer1k)} per 1k)`);
  }
  return err(parts.join('; '), {
    fastestMeetingAccuracy: fastest,
    mostAccurateMeetingLatency: minAcc > 0 ? accurate : undefined,
    cheapestMeetingSlo: x.capGiven && cheapestSlo && cheapestSlo.costPer1k > cap ? cheapestSlo : undefined,
  }, x);
}

function err(message: string, alternatives: Alternatives, x: UnsatisfiableInput): InfaasError {
  const clean: Alternatives = {};
  for (const [k, v] of Object.entries(alternatives) as [keyof Alternatives, Alternative | undefined][]) if (v) clean[k] = v;
  return new InfaasError('SLO_UNSATISFIABLE', message, {
    alternatives: clean,
    request: { batch: x.batch, minAccuracy: x.minAcc, latencyMs: x.slo, ...(x.capGiven ? { maxCostPer1k: x.cap } : {}) },
  });
}

function alt(e: CatalogueEntry, p95: number): Alternative {
  return { variant: e.name, p95Ms: p95, accuracy: e.accuracy, costPer1k: e.costPer1k };
}

/** Milliseconds with 3 significant digits: 0.0421, 1.5, 250, 5700. */
export function fmtMs(ms: number): string {
  return String(Number(ms.toPrecision(3)));
}

/** Accuracy percent with at most one decimal: 95, 90.1. */
export function fmtAcc(a: number): string {
  return String(Number(a.toFixed(1)));
}

/** Cost with 3 significant digits: 0.00123. */
export function fmtCost(c: number): string {
  return String(Number(c.toPrecision(3)));
}
