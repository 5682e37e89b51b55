// Turns the input forms a query may carry (nested arrays, shaped flat data, raw float32 bytes, images) into one
// batch tensor of the use case's input shape, with errors that say exactly what was wrong.

import { InfaasError, invalid } from '../core/errors.ts';
import { sizeOf, type Tensor } from '../core/types.ts';
import { decodeImage } from '../image/decode-image.ts';

export type QueryInput =
  /** One entry per sample: a nested array of the sample shape, or a flat array of its size. */
  | { kind: 'samples'; samples: unknown[] }
  /** A whole batch: shape [B, ...sampleShape] (or just the sample shape for B = 1) and flat row-major data. */
  | { kind: 'tensor'; shape: unknown; data: unknown }
  /** Raw little-endian float32 bytes, a whole number of samples. */
  | { kind: 'raw'; bytes: Uint8Array }
  /** Encoded PNG/JPEG images, one per sample. */
  | { kind: 'images'; images: Uint8Array[] };

/** Largest batch a single query may carry. */
export const MAX_QUERY_BATCH = 1024;

export function toBatchTensor(input: QueryInput, sampleShape: readonly number[]): Tensor {
  const per = sizeOf(sampleShape);
  const shapeText = `[${sampleShape.join(',')}]`;
  switch (input.kind) {
    case 'samples': {
      const n = input.samples.length;
      if (n === 0) throw invalid('inputs is empty: send at least one sample');
      checkBatch(n);
      const data = new Float32Array(n * per);
      input.samples.forEach((s, i) => {
        const flat = flattenSample(s, sampleShape, i);
        data.set(flat, i * per);
      });
      return { shape: [n, ...sampleShape], data };
    }
    case 'tensor': {
      const { shape, data } = input;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) throw invalid('inputs.shape must be an array of positive integers');
      const full = shape.length === sampleShape.length ? [1, ...shape] : shape;
      if (full.length !== sampleShape.length + 1 || full.slice(1).some((d, i) => d !== sampleShape[i])) {
        throw invalid(`inputs.shape [${shape.join(',')}] does not match the model input [B,${sampleShape.join(',')}]`);
      }
      checkBatch(full[0]);
      if (!Array.isArray(data) && !ArrayBuffer.isView(data)) throw invalid('inputs.data must be an array of numbers');
      const arr = data as ArrayLike<unknown>;
      if (arr.length !== sizeOf(full)) throw invalid(`inputs.data has ${arr.length} values but shape [${full.join(',')}] needs ${sizeOf(full)}`);
      const out = new Float32Array(arr.length);
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`inputs.data[${i}] is not a finite number`);
        out[i] = v;
      }
      return { shape: full, data: out };
    }
    case 'raw': {
      const bytes = input.bytes;
      if (bytes.byteLength === 0) throw invalid('request body is empty: send raw float32 samples');
      if (bytes.byteLength % (per * 4) !== 0) {
        throw invalid(`raw input is ${bytes.byteLength} bytes, not a whole number of float32 samples of shape ${shapeText} (${per * 4} bytes each)`);
      }
      const n = bytes.byteLength / (per * 4);
      checkBatch(n);
      const data = new Float32Array(n * per);
      new Uint8Array(data.buffer).set(bytes);
      return { shape: [n, ...sampleShape], data };
    }
    case 'images': {
      const n = input.images.length;
      if (n === 0) throw invalid('images is empty: send at least one image');
      checkBatch(n);
      const data = new Float32Array(n * per);
      input.images.forEach((img, i) => {
        try {
          data.set(decodeImage(img, [...sampleShape]), i * per);
        } catch (e) {
          if (e instanceof InfaasError && n > 1) throw new InfaasError(e.code, `image ${i}: ${e.message}`, e.details);
          throw e;
        }
      });
      return { shape: [n, ...sampleShape], data };
    }
  }
}

function checkBatch(n: number): void {
  if (n > MAX_QUERY_BATCH) throw new InfaasError('PAYLOAD_TOO_LARGE', `batch of ${n} samples is larger than the limit of ${MAX_QUERY_BATCH}`);
}

/** Accepts a nested array of exactly the sample shape, or a flat array of its size. */
function flattenSample(s: unknown, shape: readonly number[], index: number): Float32Array {
  const per = sizeOf(shape);
  const out = new Float32Array(per);
  if (!Array.isArray(s)) throw invalid(`inputs[${index}] must be an array (a sample of shape [${shape.join(',')}])`);
  if (s.length === per && shape.length > 1 && s.every((v) => typeof v === 'number')) {
    fillNumbers(s, out, 0, index);
    return out;
  }
  let pos = 0;
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`inputs[${index}]${path} is not a finite number`);
      out[pos++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      const got = Array.isArray(v) ? `length ${v.length}` : typeof v;
      throw invalid(`inputs[${index}]${path} has ${got}, expected an array of length ${shape[depth]} (sample shape [${shape.join(',')}], or a flat array of ${per} numbers)`);
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${path}[${i}]`);
  };
  walk(s, 0, '');
  return out;
}

function fillNumbers(src: unknown[], out: Float32Array, offset: number, index: number): void {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`inputs[${index}][${i}] is not a finite number`);
    out[offset + i] = v;
  }
}
