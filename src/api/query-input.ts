// Turns the input forms a query may carry (nested arrays, shaped flat data, raw float32 bytes, images) into one
// batch tensor of the use case's input shape, with errors that say exactly what was wrong and where. The batch
// size is checked before any value is converted or any image decoded, and every value must be one the tensor's
// datatype holds (tensor-values.ts): NaN, ±Infinity and out-of-range numbers are refused, naming their index.

import { InfaasError, invalid } from '../core/errors.ts';
import { sizeOf, type Tensor } from '../core/types.ts';
import { checkImageShape } from '../image/decode-image.ts';
import { inlineDecoder, type ImageDecoder } from '../image/image-decoder.ts';
import { firstNonFinite, valueProblem } from './tensor-values.ts';

export type QueryInput =
  /** One entry per sample: a nested array of the sample shape, or a flat array of its size. */
  | { kind: 'samples'; samples: unknown[] }
  /** A whole batch: shape [B, ...sampleShape] (or just the sample shape for B = 1) and flat row-major data. */
  | { kind: 'tensor'; shape: unknown; data: unknown }
  /** Raw little-endian float32 bytes, a whole number of samples. */
  | { kind: 'raw'; bytes: Uint8Array }
  /** Encoded PNG/JPEG images, one per sample, and what decodes them (default: the calling thread). */
  | { kind: 'images'; images: Uint8Array[]; decoder?: ImageDecoder };

export interface BatchOptions {
  /** Called with the batch size before any value is converted or image decoded; throws to refuse the batch. */
  checkBatch?: (batch: number) => void;
}

/** Largest batch a single query may carry. */
export const MAX_QUERY_BATCH = 1024;

/** Refuses a batch of more than MAX_QUERY_BATCH samples (PAYLOAD_TOO_LARGE), before any of them is read. */
export function checkBatchSize(n: number): void {
  if (n > MAX_QUERY_BATCH) throw new InfaasError('PAYLOAD_TOO_LARGE', `batch of ${n} samples is larger than the limit of ${MAX_QUERY_BATCH}`);
}

export async function toBatchTensor(input: QueryInput, sampleShape: readonly number[], opts: BatchOptions = {}): Promise<Tensor> {
  const per = sizeOf(sampleShape);
  const batch = (n: number): void => {
    checkBatchSize(n);
    opts.checkBatch?.(n);
  };
  switch (input.kind) {
    case 'samples': {
      const n = input.samples.length;
      if (n === 0) throw invalid('inputs is empty: send at least one sample');
      batch(n);
      const data = new Float32Array(n * per);
      input.samples.forEach((s, i) => data.set(flattenSample(s, sampleShape, i), i * per));
      return { shape: [n, ...sampleShape], data };
    }
    case 'tensor':
      return shapedTensor(input.shape, input.data, sampleShape, batch);
    case 'raw': {
      const bytes = input.bytes;
      if (bytes.byteLength === 0) throw invalid('request body is empty: send raw float32 samples');
      if (bytes.byteLength % (per * 4) !== 0) {
        throw invalid(`raw input is ${bytes.byteLength} bytes, not a whole number of float32 samples of shape [${sampleShape.join(',')}] (${per * 4} bytes each)`);
      }
      const n = bytes.byteLength / (per * 4);
      batch(n);
      const data = new Float32Array(n * per);
      new Uint8Array(data.buffer).set(bytes);
      const bad = firstNonFinite(data);
      if (bad >= 0) {
        throw invalid(`raw input value ${bad} (sample ${Math.floor(bad / per)}, byte offset ${bad * 4}) is ${data[bad]}: only finite float32 values are accepted`, { index: bad });
      }
      return { shape: [n, ...sampleShape], data };
    }
    case 'images': {
      const n = input.images.length;
      if (n === 0) throw invalid('images is empty: send at least one image');
      batch(n);
      checkImageShape(sampleShape);
      const samples = await (input.decoder ?? inlineDecoder()).decodeAll(input.images, sampleShape);
      const data = new Float32Array(n * per);
      samples.forEach((s, i) => data.set(s, i * per));
      return { shape: [n, ...sampleShape], data };
    }
  }
}

function shapedTensor(shape: unknown, data: unknown, sampleShape: readonly number[], batch: (n: number) => void): Tensor {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) throw invalid('inputs.shape must be an array of positive integers');
  const full = shape.length === sampleShape.length ? [1, ...shape] : shape;
  if (full.length !== sampleShape.length + 1 || full.slice(1).some((d, i) => d !== sampleShape[i])) {
    throw invalid(`inputs.shape [${shape.slice(0, 8).join(',')}${shape.length > 8 ? ',…' : ''}] does not match the model input [B,${sampleShape.join(',')}]`);
  }
  batch(full[0]);
  if (!Array.isArray(data)) throw invalid('inputs.data must be an array of numbers');
  if (data.length !== sizeOf(full)) throw invalid(`inputs.data has ${data.length} values but shape [${full.join(',')}] needs ${sizeOf(full)}`);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const problem = valueProblem(data[i]);
    if (problem) throw invalid(`inputs.data[${i}] ${problem}`, { index: i });
    out[i] = data[i];
  }
  return { shape: full, data: out };
}

/** Accepts a nested array of exactly the sample shape, or a flat array of its size. */
function flattenSample(s: unknown, shape: readonly number[], index: number): Float32Array {
  const per = sizeOf(shape);
  const out = new Float32Array(per);
  if (!Array.isArray(s)) throw invalid(`inputs[${index}] must be an array (a sample of shape [${shape.join(',')}])`);
  if (s.length === per && shape.length > 1 && s.every((v) => typeof v === 'number')) {
    for (let i = 0; i < per; i++) {
      const problem = valueProblem(s[i]);
      if (problem) throw invalid(`inputs[${index}][${i}] ${problem}`, { sample: index, index: i });
      out[i] = s[i];
    }
    return out;
  }
  let pos = 0;
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      const problem = valueProblem(v);
      if (problem) throw invalid(`inputs[${index}]${path} ${problem}`, { sample: index, index: pos });
      out[pos++] = v as number;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      const got = Array.isArray(v) ? `length ${v.length}` : v === null ? 'null' : typeof v;
      throw invalid(`inputs[${index}]${path} has ${got}, expected an array of length ${shape[depth]} (sample shape [${shape.join(',')}], or a flat array of ${per} numbers)`);
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${path}[${i}]`);
  };
  walk(s, 0, '');
  return out;
}
