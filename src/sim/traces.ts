// Workload traces (query rate over time) and a seeded non-homogeneous Poisson arrival generator.
// Shared by the simulator and by `infaas loadgen`; pure apart from the random source passed in.

import { mulberry32 } from '../core/random.ts';
import { invalid } from '../core/errors.ts';

export type TraceName = 'steady-low' | 'steady-high' | 'flux' | 'bursty' | 'diurnal';

export const TRACE_NAMES: readonly TraceName[] = ['steady-low', 'steady-high', 'flux', 'bursty', 'diurnal'];

/** A workload trace: the query rate as a function of time since the start of the run. */
export interface TraceSpec {
  name: TraceName;
  /** Length of the trace, seconds. */
  durationS: number;
  /** Highest rate the trace reaches, queries per second (rate(t) ≤ peakQps for all t). */
  peakQps: number;
  /** Rate at time tS seconds (0 ≤ tS < durationS), queries per second. Deterministic. */
  rate(tS: number): number;
}

export interface TraceOptions {
  /** Default 300 s. */
  durationS?: number;
  /** Default 200 qps. */
  peakQps?: number;
}

export const DEFAULT_TRACE_DURATION_S = 300;
export const DEFAULT_TRACE_PEAK_QPS = 200;

export { mulberry32 };

/** A deterministic hash of an integer to [0, 1): used to make the shape of a trace fixed per name. */
function hash01(i: number, salt: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2d);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * The trace named `name`, scaled to `opts.durationS` seconds and `opts.peakQps` peak rate.
 * - steady-low: constant 20% of peak;  steady-high: constant peak.
 * - flux: a new level (20–100% of peak) every 30 s (shorter traces: every durationS/10).
 * - bursty: 10% of peak, with bursts at peak lasting 5 s, on average one every 30 s.
 * - diurnal: a day compressed into durationS (night 15%, day 70% of peak) with a few short spikes to peak.
 * Throws INVALID_ARGUMENT for an unknown name or non-positive options, listing the valid names.
 */
export function getTrace(name: string, opts: TraceOptions = {}): TraceSpec {
  const durationS = opts.durationS ?? DEFAULT_TRACE_DURATION_S;
  const peakQps = opts.peakQps ?? DEFAULT_TRACE_PEAK_QPS;
  if (!(durationS > 0) || !Number.isFinite(durationS)) throw invalid(`trace duration must be > 0 s, got ${durationS}`);
  if (!(peakQps > 0) || !Number.isFinite(peakQps)) throw invalid(`trace peak rate must be > 0 qps, got ${peakQps}`);
  switch (name) {
    case 'steady-low':
      return { name, durationS, peakQps, rate: () => 0.2 * peakQps };
    case 'steady-high':
      return { name, durationS, peakQps, rate: () => peakQps };
    case 'flux': {
      const stepS = Math.min(30, durationS / 10);
      return {
        name, durationS, peakQps,
        rate: (t) => {
          const i = Math.floor(Math.max(0, t) / stepS);
          // Start in the middle, then wander: keeps the trace deterministic per step index.
          return peakQps * (i === 0 ? 0.5 : 0.2 + 0.8 * hash01(i, 17));
        },
      };
    }
    case 'bursty': {
      const slotS = Math.min(30, durationS / 6);
      const burstS = Math.max(1, slotS / 6);
      return {
        name, durationS, peakQps,
        rate: (t) => {
          const slot = Math.floor(Math.max(0, t) / slotS);
          // one burst per slot at a fixed pseudo-random offset; roughly one slot in four has none.
          if (hash01(slot, 31) < 0.25) return 0.1 * peakQps;
          const start = slot * slotS + hash01(slot, 37) * (slotS - burstS);
          return t >= start && t < start + burstS ? peakQps : 0.1 * peakQps;
        },
      };
    }
    case 'diurnal': {
      const spikeS = Math.max(1, durationS / 60);
      const spikes = [0.3, 0.55, 0.8].map((f) => f * durationS);
      return {
        name, durationS, peakQps,
        rate: (t) => {
          const phase = (2 * Math.PI * t) / durationS;
          // Minimum at t=0 (midnight), maximum at durationS/2 (noon).
          const base = peakQps * (0.15 + 0.55 * (0.5 - 0.5 * Math.cos(phase)));
          for (const s of spikes) if (t >= s && t < s + spikeS) return peakQps;
          return base;
        },
      };
    }
    default:
      throw invalid(`unknown trace "${name}"; valid traces: ${TRACE_NAMES.join(', ')}`, { trace: name, valid: [...TRACE_NAMES] });
  }
}

/** ∫ rate(t) dt over [0, durationS] by the midpoint rule with `stepS` steps: the expected query count. */
export function expectedQueries(trace: TraceSpec, stepS = 0.05): number {
  let sum = 0;
  for (let t = stepS / 2; t < trace.durationS; t += stepS) sum += trace.rate(t) * stepS;
  return sum;
}

/**
 * Arrival times (seconds, ascending, in [0, durationS)) of a non-homogeneous Poisson process with
 * intensity trace.rate, by thinning (Lewis–Shedler) against the constant bound trace.peakQps.
 * Deterministic given the random source.
 */
export function* poissonArrivals(trace: TraceSpec, rng: () => number): Generator<number> {
  const lambda = trace.peakQps;
  let t = 0;
  for (;;) {
    t += -Math.log(1 - rng()) / lambda;
    if (t >= trace.durationS) return;
    if (rng() * lambda <= trace.rate(t)) yield t;
  }
}
