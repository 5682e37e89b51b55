// One unit of zoo work: train one architecture of one use case and export it to ONNX bytes (runs in a worker).

import { ARCHITECTURES, type TrainBudget } from './catalogue.ts';
import { loadUseCase, type UseCaseData } from './datasets.ts';
import { exportSequential } from './export-onnx.ts';
import { encodeModel } from '../onnx/onnx-builder.ts';
import { createRng } from './prng.ts';
import { Sequential } from './train/model.ts';
import { evaluate, fit } from './train/trainer.ts';
import { widenInto } from './train/widen.ts';

export type ZooDataset = 'fashion-mnist' | 'mnist';

export interface TrainJob {
  dataset: ZooDataset;
  suffix: string;
  /** Multiplies every sample budget (e.g. 0.1 for a quick zoo). */
  scale: number;
  seed: number;
}

export interface TrainResult {
  dataset: ZooDataset;
  arch: string;
  onnx: Uint8Array;
  trainMs: number;
  /** Accuracy of the TypeScript model on the validation split (a cross-check for the ONNX number). */
  tsAccuracy: number;
  log: string[];
}

const cache = new Map<ZooDataset, UseCaseData>();

export function useCaseData(dataset: ZooDataset): UseCaseData {
  let d = cache.get(dataset);
  if (!d) cache.set(dataset, (d = loadUseCase(dataset)));
  return d;
}

export function runTrainJob(job: TrainJob): TrainResult {
  const spec = ARCHITECTURES.find((a) => a.suffix === job.suffix);
  if (!spec) throw new Error(`unknown architecture suffix ${job.suffix}`);
  const data = useCaseData(job.dataset);
  const arch = `${data.prefix}-${spec.suffix}`;
  const log: string[] = [];
  const t0 = performance.now();
  const train = (m: Sequential, b: TrainBudget, stage: string, seed: number) => {
    const samples = Math.max(Math.min(b.samplesPerEpoch, 320), Math.round(Math.min(b.samplesPerEpoch, data.train.count) * job.scale));
    fit(m, data.train, {
      epochs: b.epochs,
      batchSize: b.batchSize,
      lr: b.lr,
      samplesPerEpoch: samples,
      seed,
      onEpoch: (e) => log.push(`${arch}${stage} epoch ${e.epoch + 1}/${b.epochs}: loss ${e.loss.toFixed(4)} (${samples} samples, ${(e.ms / 1000).toFixed(1)} s)`),
    });
  };
  const model = new Sequential([1, 28, 28], spec.layers, createRng(job.seed));
  if (spec.grow) {
    const narrow = new Sequential([1, 28, 28], spec.grow.layers, createRng(job.seed + 2));
    train(narrow, spec.grow.budget, ' (narrow)', job.seed + 3);
    log.push(`${arch} (narrow) TypeScript accuracy ${evaluate(narrow, data.validation).toFixed(2)} %, widening`);
    widenInto(narrow, model, createRng(job.seed + 4));
  }
  train(model, spec.budget, '', job.seed + 1);
  const trainMs = performance.now() - t0;
  const tsAccuracy = evaluate(model, data.validation);
  const proto = exportSequential(model, {
    graphName: arch,
    docString: `${arch}: ${spec.description}; trained by infaas-ts zoo`,
    metadata: { architecture: arch, dataset: data.dataset, task: data.task },
  });
  return { dataset: job.dataset, arch, onnx: encodeModel(proto), trainMs, tsAccuracy, log };
}
