// Load schedules: validation messages, one-off and daily windows (across midnight), overlaps, the lead.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCHEDULE_LEAD_S, scheduleForecast, validateSchedule } from './load-schedule.ts';

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
  bad({ windows: [{ start: '09:00', durationS: 60, qps: 1 }, { start: '10:00', durationS: 90_000, qps: 1 }] }, /windows\[1\].durationS must be .* at most a day for a daily window, got 90000/);
  bad({ windows: [{ start: '09:00', durationS: 60, qps: 0 }] }, /windows\[0\].qps must be a number > 0, got 0/);
  bad({ windows: [{ start: '09:00', durationS: '60', qps: 1 }] }, /durationS must be a number of seconds > 0/);
  assert.doesNotThrow(() => validateSchedule({ windows: [] }));
});
