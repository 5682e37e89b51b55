// A load schedule (load an operator knows is coming: a launch, a daily peak) as a DemandForecast for `ours`, and
// its validation. Pure: the rate at a time is a function of the schedule and that time (ms since the epoch, UTC).

import { invalid } from '../core/errors.ts';
import type { DemandForecast } from './scaling-policy.ts';

/** One window of expected load. */
export interface ScheduledLoad {
  /** An ISO 8601 date-time with a zone ("2026-11-23T09:00:00Z": once) or "HH:MM" (every day at that UTC time). */
  start: string;
  /** How long it lasts, seconds (at most a day for a daily window). */
  durationS: number;
  /** Expected total query rate during the window, queries per second. */
  qps: number;
}

export interface LoadSchedule {
  /**
   * How far ahead of a window the capacity for it is planned, seconds (default DEFAULT_SCHEDULE_LEAD_S): a worker's
   * start plus its model loads, and a tick or two.
   */
  leadS?: number;
  windows: ScheduledLoad[];
}

/** Default lead: a local worker process starts and loads its models in a few seconds; twice that, with room. */
export const DEFAULT_SCHEDULE_LEAD_S = 15;

const DAY_MS = 86_400_000;
const DAILY = /^([01]\d|2[0-3]):([0-5]\d)$/;
// A date and a time with a zone: a local time would mean a different instant on every machine.
const ONCE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

type Window = { daily: boolean; startMs: number; durationMs: number; qps: number };

/** Throws INVALID_ARGUMENT naming the first bad field (`where` prefixes it, e.g. "config: autoscaling.schedule"). */
export function validateSchedule(s: unknown, where = 'schedule'): asserts s is LoadSchedule {
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw invalid(`${where} must be an object {"leadS"?, "windows": [...]}`);
  const o = s as Record<string, unknown>;
  if (o.leadS !== undefined && !(typeof o.leadS === 'number' && o.leadS >= 0 && o.leadS <= 3600)) {
    throw invalid(`${where}.leadS must be a number of seconds in 0..3600, got ${JSON.stringify(o.leadS)}`);
  }
  if (!Array.isArray(o.windows)) throw invalid(`${where}.windows must be a list of {"start", "durationS", "qps"}`);
  o.windows.forEach((w: unknown, i) => {
    const at = `${where}.windows[${i}]`;
    if (!w || typeof w !== 'object') throw invalid(`${at} must be an object {"start", "durationS", "qps"}`);
    const { start, durationS, qps } = w as Record<string, unknown>;
    if (typeof start !== 'string' || !(DAILY.test(start) || (ONCE.test(start) && Number.isFinite(Date.parse(start))))) {
      throw invalid(`${at}.start must be "HH:MM" (daily, UTC) or a date-time with a zone such as "2026-11-23T09:00:00Z", got ${JSON.stringify(start)}`);
    }
    const most = DAILY.test(start) ? 86_400 : Infinity;
    if (!(typeof durationS === 'number' && durationS > 0 && durationS <= most)) {
      throw invalid(`${at}.durationS must be a number of seconds > 0${most < Infinity ? ' and at most a day for a daily window' : ''}, got ${JSON.stringify(durationS)}`);
    }
    if (!(typeof qps === 'number' && qps > 0 && Number.isFinite(qps))) throw invalid(`${at}.qps must be a number > 0, got ${JSON.stringify(qps)}`);
  });
}

function windowOf(w: ScheduledLoad): Window {
  const m = DAILY.exec(w.start);
  const durationMs = w.durationS * 1000;
  if (m) return { daily: true, startMs: (Number(m[1]) * 60 + Number(m[2])) * 60_000, durationMs, qps: w.qps };
  return { daily: false, startMs: Date.parse(w.start), durationMs, qps: w.qps };
}

function covers(w: Window, t: number): boolean {
  if (!w.daily) return t >= w.startMs && t < w.startMs + w.durationMs;
  // time since the window's most recent daily start
  return (((t - w.startMs) % DAY_MS) + DAY_MS) % DAY_MS < w.durationMs;
}

/**
 * The schedule as a forecast on the wall clock (ms since the epoch): the highest rate of the windows covering t,
 * 0 outside them (no expectation: `ours` then follows what it measures). Validates first.
 */
export function scheduleForecast(s: LoadSchedule): DemandForecast {
  validateSchedule(s);
  const windows = s.windows.map(windowOf);
  return {
    leadMs: (s.leadS ?? DEFAULT_SCHEDULE_LEAD_S) * 1000,
    rate: (t) => {
      let r = 0;
      for (const w of windows) if (w.qps > r && covers(w, t)) r = w.qps;
      return r;
    },
  };
}

/** The highest rate a forecast expects over [now, now + leadMs], sampled every 250 ms. */
export function forecastPeak(forecast: DemandForecast, now: number): number {
  let peak = 0;
  for (let dt = 0; dt <= forecast.leadMs; dt += 250) peak = Math.max(peak, forecast.rate(now + dt));
  return peak;
}
