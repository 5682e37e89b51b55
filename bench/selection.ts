// Benchmark of the pure selection policies over INFaaS's search space: 21 architectures → 4,032 variants
// in one use case, a cluster with ~100 loaded replicas, and a seeded mix of use-case, architecture and
// exact-variant queries. Prints median and p99 per call (µs). Run: npx tsx bench/selection.ts
// Goal: median ≤ 20 µs per selectVariant call.

import { mulberry32 } from '../src/core/random.ts';
import type { BatchLatency, Variant } from '../src/core/types.ts';
import { Catalogue } from '../src/policy/catalogue.ts';
import { chooseWorker, type WorkerView } from '../src/policy/choose-worker.ts';
import { clusterViewOf, EMPTY_CLUSTER, type ClusterView, type ReplicaView } from '../src/policy/cluster-view.ts';
import { selectVariant, type SelectionRequest } from '../src/policy/select-variant.ts';

const USE_CASE = 'classification/imagenet-224';
// name, top-1 accuracy (%), batch-1 latency on one thread (ms), load time (ms), memory (MiB)
const ARCHS: [string, number, number, number, number][] = [
  ['alexnet', 56.6, 18, 900, 240], ['squeezenet', 58.1, 4, 590, 10], ['googlenet', 69.8, 30, 1100, 50],
  ['mobilenet-v1', 70.4, 1.5, 600, 20], ['mobilenet-v2', 71.9, 2.5, 650, 16], ['resnet18', 69.8, 40, 900, 50],
  ['resnet34', 73.3, 80, 1300, 90], ['resnet50', 76.1, 110, 1800, 110], ['resnet101', 77.4, 210, 3000, 180],
  ['resnet152', 78.3, 320, 4200, 240], ['vgg16', 71.6, 350, 4800, 560], ['vgg19', 72.4, 430, 5600, 580],
  ['densenet121', 74.4, 130, 2100, 40], ['densenet169', 75.6, 160, 2600, 60], ['densenet201', 76.9, 210, 3200, 85],
  ['inception-v3', 77.3, 260, 3500, 100], ['inception-v4', 80.1, 560, 6200, 170], ['xception', 79.0, 420, 4500, 95],
  ['inception-resnet-v2', 80.4, 640, 7000, 220], ['nasnet-mobile', 74.0, 90, 2400, 25], ['nasnet-large', 82.5, 5700, 11000, 360],
];
const THREADS = [1, 2, 3, 4, 6, 8, 12, 16];
const BATCHES = [1, 2, 4, 8, 16, 32];
const PRICE_PER_THREAD_HOUR = 0.048;

function buildVariants(): Variant[] {
  const out: Variant[] = [];
  for (const [arch, acc, lat1, loadMs, mem] of ARCHS) {
    for (const precision of ['fp32', 'int8'] as const) {
      for (const threads of THREADS) {
        for (const maxBatch of BATCHES) {
          for (const optLevel of ['basic', 'all'] as const) {
            const base = lat1 * (0.15 + 0.85 / threads) * (precision === 'int8' ? 0.6 : 1) * (optLevel === 'basic' ? 1.15 : 1);
            const latency: BatchLatency[] = [];
            for (let b = 1; b <= maxBatch; b *= 2) latency.push({ batch: b, p50: base * (0.4 + 0.6 * b), p95: base * (0.4 + 0.6 * b) * 1.2 });
            const last = latency[latency.length - 1];
            const peakThroughput = (last.batch * 1000) / last.p50;
            const costPerHour = PRICE_PER_THREAD_HOUR * threads;
            const artifactId = `${arch}.${precision}`;
            out.push({
              name: `${artifactId}.t${threads}.b${maxBatch}.${optLevel}`, arch, useCase: USE_CASE, artifactId,
              config: { backend: 'ort-cpu', threads, maxBatch, optLevel },
              profile: {
                accuracy: precision === 'int8' ? acc - 0.8 : acc, loadMs: loadMs * (precision === 'int8' ? 0.7 : 1) * (1 + maxBatch / 64),
                latency, memoryMB: mem * (precision === 'int8' ? 0.3 : 1) * (1 + maxBatch / 32), peakThroughput,
                workerClass: `cpu-${threads}`, costPerHour, costPer1k: (costPerHour / 3600 / peakThroughput) * 1000, measuredAt: 'supplied',
              },
            });
          }
        }
      }
    }
  }
  return out;
}

/** Seeded PRNG: the bench is reproducible. */
const rng = mulberry32;

const variants = buildVariants();
const t0 = process.hrtime.bigint();
const catalogue = new Catalogue(variants);
const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
const rand = rng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const logUniform = (lo: number, hi: number) => Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo)));

// ~100 loaded variants over 20 workers, 10% flagged.
const replicas = new Map<string, ReplicaView[]>();
const workers: WorkerView[] = Array.from({ length: 20 }, (_, i) => ({ id: `w${i}`, memoryBudgetMB: 16000, memoryUsedMB: 0, queued: 0, replicas: [] }));
for (let i = 0; i < 100; i++) {
  const v = pick(variants);
  const w = pick(workers);
  const state = rand() < 0.1 ? (rand() < 0.5 ? 'overloaded' : 'interfered') : 'active';
  const r: ReplicaView = { workerId: w.id, state, queued: Math.floor(rand() * 4), estimatedWaitMs: rand() * 20 };
  replicas.set(v.name, [...(replicas.get(v.name) ?? []), r]);
  w.memoryUsedMB += v.profile.memoryMB;
  w.queued += r.queued;
  (w.replicas as WorkerView['replicas'][number][]).push({ variant: v.name, state, queued: r.queued, estimatedWaitMs: r.estimatedWaitMs, memoryMB: v.profile.memoryMB, lastUsedAt: i });
}
const cluster = clusterViewOf(replicas);
const NOW = 1_700_000_000_000;

const batchOf = () => pick([1, 1, 1, 1, 2, 4, 8, 16]);
const queries: Record<string, SelectionRequest[]> = { usecase: [], arch: [], variant: [], unsatisfiable: [] };
while (queries.usecase.length < 3000 || queries.arch.length < 3000 || queries.unsatisfiable.length < 500) {
  const kind = rand();
  const q: SelectionRequest = kind < 0.5
    ? { kind: 'usecase', useCase: USE_CASE, minAccuracy: 56 + rand() * 27, latencyMs: logUniform(2, 20000), batch: batchOf() }
    : { kind: 'arch', arch: pick(ARCHS)[0], latencyMs: logUniform(2, 20000), batch: batchOf() };
  if (rand() < 0.2) q.maxCostPer1k = logUniform(1e-4, 1e-1);
  let ok = true;
  try {
    selectVariant(q, catalogue, cluster, NOW);
  } catch {
    ok = false;
  }
  const bucket = ok ? queries[q.kind] : queries.unsatisfiable;
  if (bucket.length < (ok ? 3000 : 500)) bucket.push(q);
}
for (let i = 0; i < 3000; i++) {
  const v = pick(variants);
  queries.variant.push({ kind: 'variant', variant: v.name, batch: Math.min(batchOf(), v.config.maxBatch) });
}
queries.mixed = [...queries.usecase.slice(0, 1000), ...queries.arch.slice(0, 1000), ...queries.variant.slice(0, 1000)].sort(() => rand() - 0.5);

function time(fn: () => void, reps: number): { median: number; p99: number } {
  const ns: number[] = [];
  for (let r = 0; r < reps; r++) {
    const a = process.hrtime.bigint();
    fn();
    ns.push(Number(process.hrtime.bigint() - a));
  }
  ns.sort((x, y) => x - y);
  return { median: ns[Math.floor(ns.length / 2)] / 1000, p99: ns[Math.floor(ns.length * 0.99)] / 1000 };
}

function bench(qs: SelectionRequest[], rounds: number, view: ClusterView = cluster): { median: number; p99: number; loaded: number } {
  let i = 0;
  let loaded = 0;
  const call = () => {
    const q = qs[i++ % qs.length];
    try {
      if (selectVariant(q, catalogue, view, NOW).loaded) loaded++;
    } catch {
      // the unsatisfiable row measures the throw too
    }
  };
  time(call, qs.length); // warm-up
  loaded = 0;
  const t = time(call, qs.length * rounds);
  return { ...t, loaded: loaded / (qs.length * rounds) };
}

const GOAL_US = 20;
console.log(`catalogue: ${catalogue.size} variants, ${ARCHS.length} architectures, built in ${buildMs.toFixed(1)} ms; ${replicas.size} variants loaded on ${workers.length} workers`);
console.log('');
console.log('| query kind | calls | median µs | p99 µs | median / goal (20 µs) | served loaded |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [kind, qs] of Object.entries(queries)) {
  const r = bench(qs, 5);
  console.log(`| ${kind} | ${qs.length * 5} | ${r.median.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.median / GOAL_US).toFixed(2)} | ${kind === 'unsatisfiable' ? '-' : `${(r.loaded * 100).toFixed(0)}%`} |`);
}
const cold = bench(queries.usecase, 5, EMPTY_CLUSTER);
console.log(`| usecase, nothing loaded (cold scans) | ${queries.usecase.length * 5} | ${cold.median.toFixed(2)} | ${cold.p99.toFixed(2)} | ${(cold.median / GOAL_US).toFixed(2)} | 0% |`);
const loadedVariants = variants.filter((v) => replicas.has(v.name));
let k = 0;
time(() => chooseWorker(loadedVariants[k++ % loadedVariants.length], workers, NOW), 2000);
const cw = time(() => chooseWorker(loadedVariants[k++ % loadedVariants.length], workers, NOW), 20000);
console.log(`| chooseWorker (20 workers) | 20000 | ${cw.median.toFixed(2)} | ${cw.p99.toFixed(2)} | ${(cw.median / GOAL_US).toFixed(2)} | - |`);
