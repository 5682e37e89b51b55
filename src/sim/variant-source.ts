// Where the simulator gets its variants: the profiles stored in a data dir's metadata store, or a built-in
// catalogue synthesised from zoo/manifest.json (so `infaas simulate` works with nothing registered).

import { defaultConfig, workerClassFor } from '../config/config.ts';
import { unavailable } from '../core/errors.ts';
import { useCaseId, variantName, type BatchLatency, type Variant, type VariantConfig, type WorkerClass } from '../core/types.ts';
import { keys } from '../metadata/metadata-store.ts';
import { EmbeddedStore } from '../metadata/embedded/log-store.ts';
import { readZooManifest, type ZooManifest } from '../zoo/manifest.ts';

/** Worker classes the simulator uses (the server's defaults: cpu-1 / cpu-2 / cpu-4 with their prices). */
export const SIM_WORKER_CLASSES: readonly WorkerClass[] = defaultConfig('.').workerClasses;

/**
 * Default latency scale of the built-in catalogue. The zoo's models answer in 10 µs – 1.6 ms; the paper's
 * ImageNet models take 1.5 ms – 5.7 s. Scaling by 20 puts the zoo at 0.2 – 32 ms per batch-1 query, so a
 * trace of a few thousand qps needs tens of workers, the regime the policies exist for.
 */
export const ZOO_LATENCY_SCALE = 20;

export interface SyntheticOptions {
  /** Multiplies every latency (default ZOO_LATENCY_SCALE). */
  latencyScale?: number;
  threads?: readonly number[];
  maxBatches?: readonly number[];
}

/**
 * One variant per (artifact, threads, max batch), with a profile modelled on the measured batch-1 p50:
 * - p50(b) = scale × p50MsBatch1 × speedup(threads) × (1 + α·(b − 1)), α = per-sample share of the work,
 *   larger for bigger models (0.1 for a 30 KB linear model, ~0.5 for a 7 MB CNN); p95 = 1.2 × p50;
 *   two threads run 1/0.6 times faster than one;
 * - load time = 300 ms + 150 ms per MB of ONNX; memory = 30 MiB + 2.5 × the file size;
 * - worker class = the smallest with enough threads; cost per 1k at peak throughput on that class's price
 *   per thread.
 */
export function syntheticVariants(manifest: ZooManifest, opts: SyntheticOptions = {}): Variant[] {
  const scale = opts.latencyScale ?? ZOO_LATENCY_SCALE;
  const threadsList = opts.threads ?? [1, 2];
  const batches = opts.maxBatches ?? [1, 8, 32];
  const cfg = { workerClasses: [...SIM_WORKER_CLASSES] };
  const out: Variant[] = [];
  for (const uc of manifest.useCases) {
    const useCase = useCaseId(uc.task, uc.dataset);
    for (const arch of uc.architectures) {
      for (const a of arch.artifacts) {
        const mb = a.bytes / 1e6;
        const alpha = Math.min(0.6, Math.max(0.1, 0.1 + 0.4 * Math.log10(1 + mb)));
        for (const threads of threadsList) {
          const cls = workerClassFor(cfg, threads);
          const l1 = scale * a.p50MsBatch1 * (threads === 1 ? 1 : 0.6);
          for (const maxBatch of batches) {
            const latency: BatchLatency[] = [];
            for (let b = 1; b <= maxBatch; b *= 2) {
              const p50 = l1 * (1 + alpha * (b - 1));
              latency.push({ batch: b, p50, p95: 1.2 * p50 });
            }
            const peak = Math.max(...latency.map((l) => (l.batch * 1000) / l.p50));
            const pricePerThread = cls.pricePerHour / cls.threads;
            const costPerHour = pricePerThread * threads;
            const config: VariantConfig = { backend: 'ort-cpu', threads, maxBatch, optLevel: 'all' };
            const artifactId = `${arch.name}.${a.precision}`;
            out.push({
              name: variantName(artifactId, config),
              arch: arch.name,
              useCase,
              artifactId,
              config,
              profile: {
                accuracy: a.accuracy,
                loadMs: 300 + 150 * mb,
                latency,
                memoryMB: 30 + 2.5 * mb,
                peakThroughput: peak,
                workerClass: cls.name,
                costPerHour,
                costPer1k: (costPerHour / 3600 / peak) * 1000,
                measuredAt: 'supplied',
              },
            });
          }
        }
      }
    }
  }
  return out;
}

/** The built-in catalogue: syntheticVariants over the committed zoo's manifest. */
export function zooVariants(opts: SyntheticOptions = {}): Variant[] {
  return syntheticVariants(readZooManifest(), opts);
}

/**
 * The variants registered in a data directory (its embedded metadata store), latencies × `latencyScale`
 * (default 1). Rejects UNAVAILABLE when a running server holds the store, or when nothing is registered.
 */
export async function storedVariants(dataDir: string, latencyScale = 1): Promise<Variant[]> {
  const store = await EmbeddedStore.open(dataDir);
  try {
    const rows = await store.list<Variant>(keys.variantsPrefix);
    if (rows.length === 0) throw unavailable(`no variants are registered in ${dataDir} (register models, or omit --data-dir to use the built-in zoo catalogue)`);
    return rows.map(({ value: v }) => latencyScale === 1 ? v : {
      ...v,
      profile: {
        ...v.profile,
        latency: v.profile.latency.map((l) => ({ batch: l.batch, p50: l.p50 * latencyScale, p95: l.p95 * latencyScale })),
        peakThroughput: v.profile.peakThroughput / latencyScale,
        costPer1k: v.profile.costPer1k * latencyScale,
      },
    });
  } finally {
    await store.close();
  }
}
