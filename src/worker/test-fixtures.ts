// Test fixtures for workers and transport: tiny ONNX models written with onnx-proto into a temporary model
// repository, their expected outputs computed in plain JS, and VariantSpecs pointing at them.

import onnxProto from 'onnx-proto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { VariantSpec } from '../protocol/worker-protocol.ts';
import { LocalRepository } from '../repository/local/local-repository.ts';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT = onnx.AttributeProto.AttributeType.INT;

export interface TestModelOptions {
  /** Features per sample (input [N, features]), default 4. */
  features?: number;
  classes?: number;
  seed?: number;
  /** Declare the feature dim symbolic too, so a wrong width is caught by ORT itself, not by the worker. */
  symbolicFeatures?: boolean;
  /** Hidden [width x width] MatMul layers (one shared weight) to make a deliberately slow model. */
  hidden?: { width: number; layers: number };
}

export interface TestModel {
  bytes: Uint8Array;
  /** Row-major [features, classes] weights (only meaningful without hidden layers). */
  weights: Float32Array;
  features: number;
  classes: number;
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const randomWeights = (n: number, rnd: () => number, scale = 1) => Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);
const raw = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/** x [N, features] → MatMul(W) → Softmax(axis 1) → y [N, classes]; optional hidden layers make it slow. */
export function buildTestModel(o: TestModelOptions = {}): TestModel {
  const features = o.features ?? 4;
  const classes = o.classes ?? 3;
  const rnd = seeded(o.seed ?? 1);
  const tensorType = (dims: object[]) => ({ tensorType: { elemType: FLOAT, shape: { dim: dims } } });
  const initializer: object[] = [];
  const node: object[] = [];
  let cur = 'x';
  let width = features;
  if (o.hidden) {
    const h = o.hidden.width;
    initializer.push({ name: 'Win', dims: [features, h], dataType: FLOAT, rawData: raw(randomWeights(features * h, rnd)) });
    initializer.push({ name: 'Wh', dims: [h, h], dataType: FLOAT, rawData: raw(randomWeights(h * h, rnd, 1 / h)) });
    node.push({ opType: 'MatMul', input: [cur, 'Win'], output: ['h0'], name: 'in' });
    cur = 'h0';
    for (let i = 0; i < o.hidden.layers; i++) {
      node.push({ opType: 'MatMul', input: [cur, 'Wh'], output: [`h${i + 1}`], name: `hidden${i}` });
      cur = `h${i + 1}`;
    }
    width = h;
  }
  const weights = randomWeights(width * classes, rnd);
  initializer.push({ name: 'W', dims: [width, classes], dataType: FLOAT, rawData: raw(weights) });
  node.push({ opType: 'MatMul', input: [cur, 'W'], output: ['z'], name: 'out' });
  node.push({ opType: 'Softmax', input: ['z'], output: ['y'], name: 'softmax', attribute: [{ name: 'axis', i: 1, type: INT }] });
  const featureDim = o.symbolicFeatures ? { dimParam: 'F' } : { dimValue: features };
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'infaas-worker-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'test',
      input: [{ name: 'x', type: tensorType([{ dimParam: 'N' }, featureDim]) }],
      output: [{ name: 'y', type: tensorType([{ dimParam: 'N' }, { dimValue: classes }]) }],
      initializer,
      node,
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), weights, features, classes };
}

/** softmax(x · W) row by row, in float64: what buildTestModel (without hidden layers) must output. */
export function expectedOutput(m: TestModel, x: Float32Array): Float64Array {
  const n = x.length / m.features;
  const out = new Float64Array(n * m.classes);
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let c = 0; c < m.classes; c++) {
      let z = 0;
      for (let k = 0; k < m.features; k++) z += x[r * m.features + k] * m.weights[k * m.classes + c];
      out[r * m.classes + c] = z;
      max = Math.max(max, z);
    }
    let sum = 0;
    for (let c = 0; c < m.classes; c++) sum += out[r * m.classes + c] = Math.exp(out[r * m.classes + c] - max);
    for (let c = 0; c < m.classes; c++) out[r * m.classes + c] /= sum;
  }
  return out;
}

/** A temporary directory laid out like a model repository; `write` puts a model under a key. */
export class TestRepo {
  readonly root = mkdtempSync(join(tmpdir(), 'infaas-worker-test-'));
  readonly repository = new LocalRepository(this.root);

  write(key: string, m: TestModel): TestModel {
    const p = join(this.root, key);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, m.bytes);
    return m;
  }

  /** The repository's localPath (NOT_FOUND for a missing key). */
  localPath = (key: string): Promise<string> => this.repository.localPath(key);

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function testSpec(name: string, artifactKey: string, over: Partial<VariantSpec> = {}): VariantSpec {
  return { name, artifactKey, threads: 1, optLevel: 'all', maxBatch: 8, memoryMB: 10, ...over };
}

/** `n` rows of deterministic sample data of width `features`. */
export function sampleInput(n: number, features = 4, seed = 3): Float32Array {
  const rnd = seeded(seed);
  return Float32Array.from({ length: n * features }, () => rnd() * 2 - 1);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) throw new Error(`value ${i}: ${actual[i]} != ${expected[i]}`);
  }
}

/** True while the worker's event loop is inside a session run (onnxruntime-node runs on the main thread). */
export async function busy(c: { status(): Promise<unknown> }): Promise<boolean> {
  const status = c.status().then(() => false, () => false);
  return Promise.race([status, new Promise<boolean>((r) => setTimeout(() => r(true), 100))]);
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
