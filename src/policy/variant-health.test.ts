// Tests for variant health: overload by queue and by demand, interference at normal load, hysteresis,
// one-replica thresholds, the load gate and the minimum hold.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stats } from './policy-fixtures.ts';
import { assessHealth, HEALTHY, INFAAS_CPU_HEALTH, type HealthConfig, type HealthMemory } from './variant-health.ts';

// Profile: 10 ms at the observed batch → 100 samples/s per replica at batch 1.
const prof = { p50: 10, p95: 12 };
const cfg = INFAAS_CPU_HEALTH;

test('queue above Oh × replicas × per-second throughput is overloaded (INFaaS: 0.8 with two replicas)', () => {
  assert.equal(assessHealth(HEALTHY, stats({ replicas: 2, queueLength: 159 }), prof, cfg, 1000).state, 'active');
  const h = assessHealth(HEALTHY, stats({ replicas: 2, queueLength: 161 }), prof, cfg, 1000);
  assert.deepEqual(h, { state: 'overloaded', since: 1000 });
  // one replica: Oh = 1.1
  assert.equal(assessHealth(HEALTHY, stats({ replicas: 1, queueLength: 105 }), prof, cfg, 1000).state, 'active');
  assert.equal(assessHealth(HEALTHY, stats({ replicas: 1, queueLength: 115 }), prof, cfg, 1000).state, 'overloaded');
});

test('slow at normal load is interfered, only with enough load to trust the average (Qh)', () => {
  // 2 replicas: Lh 2.5 → > 25 ms; Qh 0.5 → > 50 batches/s.
  const slow = stats({ replicas: 2, avgMs: 30, completedQps: 60, arrivalQps: 60 });
  assert.equal(assessHealth(HEALTHY, slow, prof, cfg, 0).state, 'interfered');
  assert.equal(assessHealth(HEALTHY, { ...slow, completedQps: 40 }, prof, cfg, 0).state, 'active', 'too little load to judge');
  assert.equal(assessHealth(HEALTHY, { ...slow, avgMs: 24 }, prof, cfg, 0).state, 'active', 'below Lh');
  // one replica: Lh 4 → 30 ms is not slow enough
  assert.equal(assessHealth(HEALTHY, { ...slow, replicas: 1, completedQps: 150 }, prof, cfg, 0).state, 'active');
});

test('hysteresis: a flag holds between Uh and Lh and clears below Uh once the queue is back', () => {
  let h: HealthMemory = { state: 'interfered', since: 0 };
  h = assessHealth(h, stats({ replicas: 2, avgMs: 20, completedQps: 80 }), prof, cfg, 1000); // 2.0x: between 1.5 and 2.5
  assert.equal(h.state, 'interfered');
  h = assessHealth(h, stats({ replicas: 2, avgMs: 14, completedQps: 80 }), prof, cfg, 2000); // 1.4x < Uh
  assert.deepEqual(h, { state: 'active', since: 2000 });
  // overloaded does not clear while the queue is still over the bound
  let o: HealthMemory = { state: 'overloaded', since: 0 };
  o = assessHealth(o, stats({ replicas: 2, queueLength: 500, avgMs: 5 }), prof, cfg, 1000);
  assert.deepEqual(o, { state: 'overloaded', since: 0 });
  o = assessHealth(o, stats({ replicas: 2, queueLength: 10, avgMs: 5 }), prof, cfg, 2000);
  assert.equal(o.state, 'active');
});

test('an idle window clears a flag (INFaaS), unless minHoldMs has not passed', () => {
  const flagged: HealthMemory = { state: 'interfered', since: 1000 };
  assert.equal(assessHealth(flagged, stats(), prof, cfg, 2000).state, 'active');
  const held: HealthConfig = { ...cfg, minHoldMs: 5000 };
  assert.equal(assessHealth(flagged, stats(), prof, held, 2000).state, 'interfered');
  assert.equal(assessHealth(flagged, stats(), prof, held, 6000).state, 'active');
});

test('p95 mode compares tails; demandFactor flags arrivals above capacity', () => {
  const tail: HealthConfig = { ...cfg, latency: 'p95', many: { Lh: 2, Qh: 0, Oh: 0.8, Uh: 1.3 }, one: { Lh: 2, Qh: 0, Oh: 0.8, Uh: 1.3 }, minBatches: 10, demandFactor: 1 };
  // average fine, tail 2.5x the profiled p95
  assert.equal(assessHealth(HEALTHY, stats({ avgMs: 10, p95Ms: 30, completedQps: 50 }), prof, tail, 0).state, 'interfered');
  assert.equal(assessHealth(HEALTHY, stats({ avgMs: 10, p95Ms: 30, completedQps: 5 }), prof, tail, 0).state, 'active', 'fewer than minBatches');
  // 150 arrivals/s on one replica doing 100/s at batch 1
  assert.equal(assessHealth(HEALTHY, stats({ arrivalQps: 150, completedQps: 100 }), prof, tail, 0).state, 'overloaded');
  assert.equal(assessHealth(HEALTHY, stats({ arrivalQps: 150, completedQps: 150, avgBatch: 2 }), prof, tail, 0).state, 'active', 'batching doubles capacity');
});

test('p95 mode reads each run against the profile at its own batch when the monitor gives it', () => {
  const tail: HealthConfig = { ...cfg, latency: 'p95', many: { Lh: 2, Qh: 0, Oh: 0.8, Uh: 1.3 }, one: { Lh: 2, Qh: 0, Oh: 0.8, Uh: 1.3 }, minBatches: 10, demandFactor: 0 };
  // a mix of batch 1 and batch 32 runs: the tail is 3x the profile at the mean batch, but every run is as profiled
  const mixed = stats({ avgMs: 10, p95Ms: 30, completedQps: 50, slowdownP95: 1.05 });
  assert.equal(assessHealth(HEALTHY, mixed, prof, tail, 0).state, 'active');
  // runs 2.5x their own profile: a neighbour
  const slow = assessHealth(HEALTHY, stats({ avgMs: 10, p95Ms: 12, completedQps: 50, slowdownP95: 2.5 }), prof, tail, 0);
  assert.equal(slow.state, 'interfered');
  // clears below Uh of the same ratio
  assert.equal(assessHealth(slow, stats({ p95Ms: 30, completedQps: 50, slowdownP95: 1.4 }), prof, tail, 10_000).state, 'interfered');
  assert.equal(assessHealth(slow, stats({ p95Ms: 30, completedQps: 50, slowdownP95: 1.1 }), prof, tail, 10_000).state, 'active');
});
