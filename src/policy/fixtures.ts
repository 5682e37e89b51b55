// Hand-built variants and cluster views for the policy tests and the selection benchmark.

import type { BatchLatency, Variant } from '../core/types.ts';
import { clusterViewOf, type ClusterView, type ReplicaView } from './cluster-view.ts';

export interface VariantSpecForTest {
  name: string;
  arch?: string;
  useCase?: string;
  accuracy?: number;
  /** Either full latency points, or p95 at batch 1 with latency growing linearly (p50 = 0.8·p95). */
  latency?: BatchLatency[];
  p95?: number;
  maxBatch?: number;
  loadMs?: number;
  costPer1k?: number;
  memoryMB?: number;
  threads?: number;
  workerClass?: string;
}

/** A Variant with sensible defaults; latency(b) = p95·(0.5 + 0.5·b) at batches 1, 2, 4, … maxBatch. */
export function makeVariant(s: VariantSpecForTest): Variant {
  const maxBatch = s.maxBatch ?? 8;
  const p95 = s.p95 ?? 1;
  let latency = s.latency;
  if (!latency) {
    latency = [];
    for (let b = 1; b <= maxBatch; b *= 2) latency.push(point(b, p95 * (0.5 + 0.5 * b)));
    if (latency[latency.length - 1].batch !== maxBatch) latency.push(point(maxBatch, p95 * (0.5 + 0.5 * maxBatch)));
  }
  const arch = s.arch ?? s.name.split('.')[0];
  const threads = s.threads ?? 1;
  const last = latency[latency.length - 1];
  return {
    name: s.name,
    arch,
    useCase: s.useCase ?? 'classification/fashion-mnist',
    artifactId: `${arch}.fp32`,
    config: { backend: 'ort-cpu', threads, maxBatch, optLevel: 'all' },
    profile: {
      accuracy: s.accuracy ?? 90,
      loadMs: s.loadMs ?? 20,
      latency,
      memoryMB: s.memoryMB ?? 10,
      peakThroughput: (last.batch * 1000) / last.p50,
      workerClass: s.workerClass ?? 'cpu-1',
      costPerHour: 0.05 * threads,
      costPer1k: s.costPer1k ?? 0.001,
      measuredAt: 'supplied',
    },
  };
}

function point(batch: number, p95: number): BatchLatency {
  return { batch, p50: p95 * 0.8, p95 };
}

/** A ClusterView from `{ variantName: [replica, …] }`. */
export function clusterOf(replicas: Record<string, Partial<ReplicaView>[]>): ClusterView {
  const m = new Map<string, ReplicaView[]>();
  for (const [name, rs] of Object.entries(replicas)) {
    m.set(name, rs.map((r, i) => ({ workerId: r.workerId ?? `w${i + 1}`, state: r.state ?? 'active', queued: r.queued ?? 0, estimatedWaitMs: r.estimatedWaitMs ?? 0, readyAt: r.readyAt })));
  }
  return clusterViewOf(m);
}
