// LRU eviction on one worker: which loaded variants to unload so that a new one fits its memory budget.
// Pure: the replicas' last-use times come in as data.

import { unavailable } from '../core/errors.ts';
import type { ReplicaState } from '../core/types.ts';

/** What eviction needs to know about one replica on the worker. `ReplicaStatus` satisfies it. */
export interface EvictionCandidate {
  variant: string;
  memoryMB: number;
  /** Last time the replica served a request (any clock, compared only with its peers). */
  lastUsedAt: number;
  /** Requests waiting or running: a replica with queued work is never evicted. */
  queued: number;
  /** When given, only `active`, `overloaded` and `interfered` replicas are evictable (not loading/unloading). */
  state?: ReplicaState;
}

/**
 * The variants to unload, least recently used first, so that `usedMB − freed + needMB ≤ budgetMB`.
 * Returns [] when the new variant already fits. Never picks a replica with queued work or one that is
 * loading or unloading. Ties in last use go to the bigger replica (fewer evictions), then by name.
 *
 * Throws UNAVAILABLE "worker memory budget too small …" when `needMB > budgetMB`, or when even evicting
 * every evictable replica would not free enough.
 */
export function chooseEvictions(replicas: readonly EvictionCandidate[], needMB: number, budgetMB: number, usedMB: number): string[] {
  if (usedMB + needMB <= budgetMB) return [];
  if (needMB > budgetMB) {
    throw unavailable(`worker memory budget too small: the variant needs ${needMB} MiB, the budget is ${budgetMB} MiB`, { needMB, budgetMB });
  }
  const evictable = replicas
    .filter((r) => r.queued <= 0 && (r.state === undefined || r.state === 'active' || r.state === 'overloaded' || r.state === 'interfered'))
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt || b.memoryMB - a.memoryMB || (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : 0));
  const out: string[] = [];
  let used = usedMB;
  for (const r of evictable) {
    out.push(r.variant);
    used -= r.memoryMB;
    if (used + needMB <= budgetMB) return out;
  }
  throw unavailable(
    `worker memory budget too small: needs ${needMB} MiB with ${usedMB} of ${budgetMB} MiB used, and only ${usedMB - used} MiB is evictable (the rest is busy)`,
    { needMB, budgetMB, usedMB, evictableMB: usedMB - used },
  );
}
