// The zoo's architectures: layer specs, training budgets and which ones also get an int8 artifact.

import type { LayerSpec } from './train/model.ts';

export interface TrainBudget {
  epochs: number;
  /** Samples seen per epoch (a seeded subset when smaller than the training set). */
  samplesPerEpoch: number;
  batchSize: number;
  lr: number;
}

export interface ArchitectureSpec {
  /** Suffix after the use-case prefix, e.g. `cnn-m` -> `fmnist-cnn-m`. */
  suffix: string;
  description: string;
  layers: LayerSpec[];
  budget: TrainBudget;
  /**
   * Train this narrower network (same layer sequence, fewer channels) first, then widen it function-preservingly
   * into `layers` (see train/widen.ts) and fine-tune with `budget`: big CNNs are too slow to train from scratch
   * in TypeScript within the zoo's time budget.
   */
  grow?: { layers: LayerSpec[]; budget: TrainBudget };
  /** Also emit an int8 artifact (static QDQ quantization, calibrated on training samples). */
  int8: boolean;
}

const conv = (out: number): LayerSpec[] => [{ type: 'conv', out }, { type: 'relu' }];
const dense = (out: number): LayerSpec[] => [{ type: 'dense', out }, { type: 'relu' }];
const pool: LayerSpec = { type: 'pool' };
const flatten: LayerSpec = { type: 'flatten' };
const logits: LayerSpec = { type: 'dense', out: 10 };

export const ARCHITECTURES: readonly ArchitectureSpec[] = [
  {
    suffix: 'tiny',
    description: 'max-pool 4x4 to 7x7, then softmax regression (49 -> 10)',
    layers: [pool, pool, flatten, logits],
    budget: { epochs: 3, samplesPerEpoch: 60000, batchSize: 64, lr: 5e-3 },
    int8: false,
  },
  {
    suffix: 'linear',
    description: 'softmax regression (784 -> 10)',
    layers: [flatten, logits],
    budget: { epochs: 3, samplesPerEpoch: 60000, batchSize: 64, lr: 2e-3 },
    int8: false,
  },
  {
    suffix: 'mlp-s',
    description: 'MLP 784-32-10',
    layers: [flatten, ...dense(32), logits],
    budget: { epochs: 3, samplesPerEpoch: 60000, batchSize: 64, lr: 2e-3 },
    int8: false,
  },
  {
    suffix: 'mlp-l',
    description: 'MLP 784-512-256-10',
    layers: [flatten, ...dense(512), ...dense(256), logits],
    budget: { epochs: 3, samplesPerEpoch: 20000, batchSize: 64, lr: 1e-3 },
    int8: true,
  },
  {
    suffix: 'cnn-s',
    description: 'CNN conv(8)-pool-conv(16)-pool-fc(10)',
    layers: [...conv(8), pool, ...conv(16), pool, flatten, logits],
    budget: { epochs: 2, samplesPerEpoch: 20000, batchSize: 32, lr: 2e-3 },
    int8: false,
  },
  {
    suffix: 'cnn-m',
    description: 'CNN conv(32)-conv(64)-pool-conv(128)-pool-fc(128)-fc(10), widened from conv(8)-conv(16)-pool-conv(32)',
    layers: [...conv(32), ...conv(64), pool, ...conv(128), pool, flatten, ...dense(128), logits],
    grow: {
      layers: [...conv(8), ...conv(16), pool, ...conv(32), pool, flatten, ...dense(128), logits],
      budget: { epochs: 3, samplesPerEpoch: 10000, batchSize: 32, lr: 2e-3 },
    },
    budget: { epochs: 1, samplesPerEpoch: 640, batchSize: 32, lr: 1e-4 },
    int8: true,
  },
  {
    suffix: 'cnn-l',
    description: 'CNN conv(32)-conv(64)-pool-conv(128)-conv(128)-pool-fc(256)-fc(10), widened from conv(8)-conv(16)-pool-conv(32)-conv(32)',
    layers: [...conv(32), ...conv(64), pool, ...conv(128), ...conv(128), pool, flatten, ...dense(256), logits],
    grow: {
      layers: [...conv(8), ...conv(16), pool, ...conv(32), ...conv(32), pool, flatten, ...dense(256), logits],
      budget: { epochs: 2, samplesPerEpoch: 10000, batchSize: 32, lr: 2e-3 },
    },
    budget: { epochs: 1, samplesPerEpoch: 320, batchSize: 32, lr: 1e-4 },
    int8: true,
  },
];
