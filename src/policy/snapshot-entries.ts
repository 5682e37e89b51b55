// The catalogue entry of every variant a snapshot's workers hold, looked up once per tick and shared by the passes
// of a policy's tick (health, model autoscaling, placement): each of them reads the entry of every replica, and in
// a large catalogue a lookup by name costs more than the rest of what a pass does per replica.

import type { CatalogueEntry } from './catalogue.ts';
import type { ClusterSnapshot, WorkerSnapshot } from './scaling-policy.ts';

/** The entries of one worker's variants, in the order of `variants`; undefined for a name the catalogue lacks. */
export type WorkerEntries = ReadonlyArray<CatalogueEntry | undefined>;

/** The entries of every worker's variants, in the order of the snapshot's workers. */
export type SnapshotEntries = ReadonlyArray<WorkerEntries>;

/** Looks up the entry of each variant of each worker of the snapshot in its catalogue. */
export function snapshotEntries(snapshot: ClusterSnapshot): SnapshotEntries {
  const { catalogue } = snapshot;
  return snapshot.workers.map((w) => workerEntries(w, catalogue));
}

/** The entries of one worker's variants. */
export function workerEntries(w: WorkerSnapshot, catalogue: ClusterSnapshot['catalogue']): WorkerEntries {
  const vs = w.variants;
  const out = new Array<CatalogueEntry | undefined>(vs.length);
  for (let i = 0; i < vs.length; i++) out[i] = catalogue.entry(vs[i].variant);
  return out;
}
