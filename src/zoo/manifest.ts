// The zoo manifest (zoo/manifest.json): which use cases, architectures and artifacts the committed zoo holds.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Precision } from '../core/types.ts';

export interface ZooArtifact {
  precision: Precision;
  /** Path relative to the zoo directory, e.g. `fashion-mnist/fmnist-cnn-m.fp32.onnx`. */
  file: string;
  /** Top-1 accuracy in percent (0..100) on the use case's validation set, measured with onnxruntime-node. */
  accuracy: number;
  bytes: number;
  /** Median batch-1 session.run latency, 1 intra-op thread, graph optimisation 'all', on the build machine. */
  p50MsBatch1: number;
}

export interface ZooArchitecture {
  name: string;
  description: string;
  artifacts: ZooArtifact[];
}

export interface ZooUseCase {
  task: string;
  dataset: string;
  /** Per-sample input shape; the ONNX input is [N, ...inputShape], named `input`; the output `probs` is [N, classes]. */
  inputShape: number[];
  /** Relative path of labels.txt (one class name per line, index-aligned with the output). */
  labels: string;
  /** Relative path of the validation set (.valset, see src/core/validation-set.ts). */
  validation: string;
  architectures: ZooArchitecture[];
}

export interface ZooManifest {
  useCases: ZooUseCase[];
}

/** The committed zoo directory: <repo>/zoo. */
export const ZOO_DIR = new URL('../../zoo/', import.meta.url).pathname;

export function readZooManifest(zooDir = ZOO_DIR): ZooManifest {
  return JSON.parse(readFileSync(join(zooDir, 'manifest.json'), 'utf8')) as ZooManifest;
}
