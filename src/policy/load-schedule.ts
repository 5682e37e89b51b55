// A load schedule (load an operator knows is coming: a launch, a daily peak) as a DemandForecast for `ours`, and
// its validation. Pure: the rate at a time is a function of the schedule and that time (ms since the epoch, UTC).

import { excerpt, invalid } from '../core/errors.ts';
import type { DemandForecast } from './scaling-policy.ts';

/** One window of expected load. */
export interface ScheduledLoad {
  /** An ISO 8601 date-time with a zone ("2026-11-23T09:00:00Z": once) or "HH:MM" (every day at that UTC time). */
  start: string;
  /** How long it lasts, seconds (at most a day for a daily window). */
  durationS: number;
  /** Expected total rate during the window, in samples (inputs) per second: a request of 8 inputs counts 8. */
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

/**
 * Default lead. A local worker process starts in about 0.4 s on this project's machine, a cloud VM in tens of
 * seconds or more; 15 s covers a local start and its model loads with plenty of room. Raise it for remote workers.
 */
export const DEFAULT_SCHEDULE_LEAD_S = 15;

const DAY_MS = 86_400_000;
const DAILY = /^([01]\d|2[0-3]):([0-5]\d)$/;
// A date and a time with a zone: a local time would mean a different instant on every machine.
const ONCE = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const SCHEDULE_KEYS = new Set(['leadS', 'windows']);
const WINDOW_KEYS = new Set(['start', 'durationS', 'qps']);

type Window = { daily: boolean; startMs: number; durationMs: number; qps: number };

/** A real calendar date-time with a zone (Date.parse rolls "2026-02-30" over to March 2nd instead of refusing it). */
function isOnce(start: string): boolean {
  const m = ONCE.exec(start);
  if (!m || !Number.isFinite(Date.parse(start))) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
}

/** A value as a message quotes it: strings cut (excerpt), structures by kind. */
const shown = (v: unknown) => (typeof v === 'string' ? excerpt(v) : v !== null && typeof v === 'object' ? (Array.isArray(v) ? 'an array' : 'an object') : String(v));

function unknownKey(o: object, known: ReadonlySet<string>): string | undefined {
  return Object.keys(o).find((k) => !known.has(k));
}

/** Throws INVALID_ARGUMENT naming the first bad field (`where` prefixes it, e.g. "config: autoscaling.schedule"). */
export function validateSchedule(s: unknown, where = 'schedule'): asserts s is LoadSchedule {
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw invalid(`${where} must be an object {"leadS"?, "windows": [...]}`);
  const o = s as Record<string, unknown>;
  const extra = unknownKey(o, SCHEDULE_KEYS);
  if (extra !== undefined) throw invalid(`${where} has an unknown field ${excerpt(extra)}; its fields are leadS and windows`);
  if (o.leadS !== undefined && !(typeof o.leadS === 'number' && o.leadS >= 0 && o.leadS <= 3600)) {
    throw invalid(`${where}.leadS must be a number of seconds in 0..3600, got ${shown(o.leadS)}`);
  }
  if (!Array.isArray(o.windows)) throw invalid(`${where}.windows must be a list of {"start", "durationS", "qps"}`);
  o.windows.forEach((w: unknown, i) => {
    const at = `${where}.windows[${i}]`;
    if (!w || typeof w !== 'object' || Array.isArray(w)) throw invalid(`${at} must be an object {"start", "durationS", "qps"}`);
    const wextra = unknownKey(w, WINDOW_KEYS);
    if (wextra !== undefined) throw invalid(`${at} has an unknown field ${excerpt(wextra)}; its fields are start, durationS and qps (times are UTC or carry their zone)`);
    const { start, durationS, qps } = w as Record<string, unknown>;
    if (typeof start !== 'string' || !(DAILY.test(start) || isOnce(start))) {
      throw invalid(`${at}.start must be "HH:MM" (daily, UTC) or a date-time with a zone such as "2026-11-23T09:00:00Z", got ${shown(start)}`);
    }
    const most = DAILY.test(start) ? 86_400 : Infinity;
    if (!(typeof durationS === 'number' && durationS > 0 && Number.isFinite(durationS) && durationS <= most)) {
      throw invalid(`${at}.durationS must be a number of seconds > 0${most < Infinity ? ' and at most a day for a daily window' : ''}, got ${shown(durationS)}`);
    }
    if (!(typeof qps === 'number' && qps > 0 && Number.isFinite(qps))) throw invalid(`${at}.qps must be a number > 0, got ${shown(qps)}`);
  });
}

function windowOf(w: ScheduledLoad): Window {
  const m = DAILY.exec(w.start);
  const durationMs = w.durationS * 1000;
  if (m) return { daily: true, startMs: (Number(m[1]) * 60 + Number(m[2])) * 60_000, durationMs, qps: w.qps };
  return { daily: false, startMs: Date.parse(w.start), durationMs, qps: w.qps };
}

/** True when the window is on at some time in [from, to] (from = to: at that instant). */
function overlaps(w: Window, from: number, to: number): boolean {
  if (!w.daily) return w.startMs <= to && from < w.startMs + w.durationMs;
  // the occurrences that can touch [from, to]: the one started last before `from` and the ones after it up to `to`
  for (let s = w.startMs + Math.floor((from - w.startMs) / DAY_MS) * DAY_MS; s <= to; s += DAY_MS) {
    if (from < s + w.durationMs) return true;
  }
  return false;
}

/**
 * The schedule as a forecast on the wall clock (ms since the epoch): the highest rate of the windows covering t,
 * 0 outside them (no expectation: `ours` then follows what it measures). Validates first.
 */
export function scheduleForecast(s: LoadSchedule): DemandForecast {
  validateSchedule(s);
  const windows = s.windows.map(windowOf);
  const peak = (from: number, to: number) => {
    let r = 0;
    for (const w of windows) if (w.qps > r && overlaps(w, from, to)) r = w.qps;
    return r;
  };
  return { leadMs: (s.leadS ?? DEFAULT_SCHEDULE_LEAD_S) * 1000, rate: (t) => peak(t, t), peak };
}

/** One-off windows that have already ended at `now` (worth a warning: they will never be used). */
export function pastWindows(s: LoadSchedule, now: number): ScheduledLoad[] {
  return s.windows.filter((w) => {
    const x = windowOf(w);
    return !x.daily && x.startMs + x.durationMs <= now;
  });
}

/** The highest rate a forecast expects over [now, now + leadMs] (sampled every 250 ms unless it says exactly). */
export function forecastPeak(forecast: DemandForecast, now: number): number {
  if (forecast.peak) return forecast.peak(now, now + forecast.leadMs);
  let peak = 0;
  for (let dt = 0; dt <= forecast.leadMs; dt += 250) peak = Math.max(peak, forecast.rate(now + dt));
  return peak;
}
