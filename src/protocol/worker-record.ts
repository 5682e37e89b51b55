// What workers and controllers tell each other through the metadata store in distributed mode: each worker's
// record (its address, class, price, protocol and variant states, written every heartbeat with an expiry), and
// the cluster settings the controllers publish for workers (where the model repository is, the worker classes).

import type { WorkerClass, WorkerStatus } from '../core/types.ts';

/**
 * A worker's heartbeat, at `keys.worker(id)`, written about every second with a ttl of a few seconds: a worker
 * that stops heartbeating disappears from the store by itself. Controllers connect to every worker listed
 * whose protocol they speak; the record's replicas are for operators and other readers, while controllers ask
 * the worker itself for fresh status over its connection.
 */
export interface WorkerRecord extends WorkerStatus {
  /** The worker protocol version it speaks (PROTOCOL_VERSION of its build). */
  protocol: number;
  threads: number;
  pricePerHour: number;
  /** The host it runs on (os.hostname()). */
  host: string;
}

/** Published by controllers at `keys.cluster`; a worker started with only `--metadata` reads the rest here. */
export interface ClusterSettings {
  /** The model repository, as a URL: `s3://bucket/prefix` or `file:///absolute/dir`. */
  repository: string;
  workerClasses: WorkerClass[];
}
