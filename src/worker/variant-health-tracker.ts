// The health state of one variant on this worker (active, overloaded or interfered), updated once per monitor
// window from its ReplicaStats by the pure classifier (src/policy/variant-health.ts), which this feeds and
// whose hysteresis memory it keeps between windows.

import type { ReplicaState, ReplicaStats } from '../core/types.ts';
import { HEALTHY, INFAAS_CPU_HEALTH, assessHealth, type HealthConfig, type HealthMemory } from '../policy/variant-health.ts';

export class VariantHealthTracker {
  readonly #cfg: HealthConfig;
  #memory: HealthMemory = HEALTHY;

  constructor(cfg: HealthConfig = INFAAS_CPU_HEALTH) {
    this.#cfg = cfg;
  }

  /** 'active', 'overloaded' or 'interfered' as of the last window. */
  get state(): ReplicaState {
    return this.#memory.state;
  }

  /** Classifies the window just closed at `now` (ms); without a profile to compare with the state stays as is. */
  update(stats: ReplicaStats, now: number): void {
    if (!(stats.profileP50Ms > 0)) return;
    this.#memory = assessHealth(this.#memory, stats, { p50: stats.profileP50Ms, p95: stats.profileP95Ms }, this.#cfg, now);
  }
}
