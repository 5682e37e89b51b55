// Load schedules: validation messages, one-off and daily windows (across midnight), overlaps, the lead.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCHEDULE_LEAD_S, forecastPeak, pastWindows, scheduleForecast, validateSchedule } from './load-schedule.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');

test('a one-off window has its rate from its start for its duration, nothing outside it', () => {
  const f = scheduleForecast({ windows: [{ start: '2026-11-23T09:00:00Z', durationS: 600, qps: 800 }] });
  assert.equal(f.leadMs, DEFAULT_SCHEDULE_LEAD_S * 1000);
  assert.equal(f.rate(T0 - 1), 0);
  assert.equal(f.rate(T0), 800);
  assert.equal(f.rate(T0 + 599_999), 800);
  assert.equal(f.rate(T0 + 600_000), 0);
  // a zone offset is the same instant
  assert.equal(scheduleForecast({ windows: [{ start: '2026-11-23T10:00:00+01:00', durationS: 1, qps: 5 }] }).rate(T0), 5);
});

test('a daily window recurs every day at its UTC time, also across midnight; overlapping windows take the higher rate', () => {
  const f = scheduleForecast({
    leadS: 30,
    windows: [
      { start: '23:30', durationS: 3600, qps: 100 }, // 23:30–00:30 every day
      { start: '00:00', durationS: 600, qps: 400 },
    ],
  });
  assert.equal(f.leadMs, 30_000);
  const at = (iso: string) => f.rate(Date.parse(iso));
  assert.equal(at('2026-11-23T23:29:59Z'), 0);
  assert.equal(at('2026-11-23T23:30:00Z'), 100);
  assert.equal(at('2026-11-24T00:05:00Z'), 400, 'both cover 00:05: the higher');
  assert.equal(at('2026-11-24T00:20:00Z'), 100);
  assert.equal(at('2026-11-24T00:30:00Z'), 0);
  assert.equal(at('2030-01-01T23:45:00Z'), 100, 'any day');
});

test('a bad schedule is refused with the field that is wrong', () => {
  const bad = (s: unknown, re: RegExp) => assert.throws(() => validateSchedule(s, 'config: autoscaling.schedule'), re);
  bad([], /config: autoscaling.schedule must be an object/);
  bad({}, /autoscaling.schedule.windows must be a list/);
  bad({ leadS: -1, windows: [] }, /leadS must be a number of seconds in 0..3600, got -1/);
  bad({ windows: [{ start: '9:00', durationS: 60, qps: 1 }] }, /windows\[0\].start must be "HH:MM" \(daily, UTC\) or a date-time with a zone/);
  bad({ windows: [{ start: '2026-11-23T09:00:00', durationS: 60, qps: 1 }] }, /windows\[0\].start/);
  bad({ windows: [{ start: '2026-13-45T09:00:00Z', durationS: 60, qps: 1 }] }, /windows\[0\].start/);
  // days a month does not have (Date.parse would roll them over into the next month)
  bad({ windows: [{ start: '2026-02-30T09:00:00Z', durationS: 60, qps: 1 }] }, /windows\[0\].start/);
  bad({ windows: [{ start: '2026-02-29T09:00:00Z', durationS: 60, qps: 1 }] }, /windows\[0\].start/);
  bad({ windows: [{ start: '2026-04-31T09:00:00Z', durationS: 60, qps: 1 }] }, /windows\[0\].start/);
  assert.doesNotThrow(() => validateSchedule({ windows: [{ start: '2028-02-29T09:00:00Z', durationS: 60, qps: 1 }] }), 'a leap day');
  // typos are not dropped silently
  bad({ lead: 60, windows: [] }, /has an unknown field "lead"; its fields are leadS and windows/);
  bad({ windows: [{ start: '09:00', durationS: 60, qps: 1, tz: 'Europe/Paris' }] }, /windows\[0\] has an unknown field "tz"/);
  bad({ windows: [null] }, /windows\[0\] must be an object/);
  bad({ windows: [{ start: '2026-11-23T09:00:00Z', durationS: Infinity, qps: 1 }] }, /durationS must be a number of seconds > 0/);
  bad({ windows: [{ start: '09:00', durationS: 60, qps: 1 }, { start: '10:00', durationS: 90_000, qps: 1 }] }, /windows\[1\].durationS must be .* at most a day for a daily window, got 90000/);
  bad({ windows: [{ start: '09:00', durationS: 60, qps: 0 }] }, /windows\[0\].qps must be a number > 0, got 0/);
  bad({ windows: [{ start: '09:00', durationS: '60', qps: 1 }] }, /durationS must be a number of seconds > 0/);
  assert.doesNotThrow(() => validateSchedule({ windows: [] }));
});

test('the peak over the lead is exact: a window shorter than any sampling step is not missed; past windows are listed', () => {
  const s = { leadS: 60, windows: [{ start: '2026-11-23T09:00:30.1Z', durationS: 0.05, qps: 700 }, { start: '09:10', durationS: 60, qps: 300 }] };
  const f = scheduleForecast(s);
  assert.equal(forecastPeak(f, T0), 700, 'a 50 ms window 30.1 s ahead');
  assert.equal(forecastPeak(f, T0 + 31_000), 0, 'after it, nothing within the next minute');
  assert.equal(forecastPeak(f, T0 + 9 * 60_000 + 1), 300, 'the daily window at 09:10 is within the lead');
  assert.equal(forecastPeak(f, T0 + 86_400_000 + 9 * 60_000 + 1), 300, 'and the next day');
  // a forecast without an exact peak is sampled
  assert.equal(forecastPeak({ leadMs: 1000, rate: (t) => (t >= 500 && t < 800 ? 9 : 1) }, 0), 9);
  assert.deepEqual(pastWindows(s, T0 + 60_000).map((w) => w.start), ['2026-11-23T09:00:30.1Z']);
  assert.deepEqual(pastWindows(s, T0), []);
});
