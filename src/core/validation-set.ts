// The validation-set file format (`.valset`): labelled float32 samples used to measure an artifact's accuracy.
//
// Layout (little-endian): 8-byte magic "INFVAL1\n" · uint32 header length H · H bytes of UTF-8 JSON header
// {"shape":[1,28,28],"count":N,"labels":["T-shirt",...]?} · zero padding to a multiple of 4 ·
// N*prod(shape) float32 samples · N int32 class indices.

import { invalid } from './errors.ts';
import { sizeOf } from './types.ts';

export interface ValidationSet {
  /** Per-sample shape, without the batch dimension. */
  shape: number[];
  count: number;
  inputs: Float32Array;
  labels: Int32Array;
  /** Class names, when known. */
  classNames?: string[];
}

const MAGIC = 'INFVAL1\n';

export function encodeValidationSet(v: ValidationSet): Uint8Array {
  const per = sizeOf(v.shape);
  if (v.inputs.length !== per * v.count) throw invalid(`validation set: ${v.inputs.length} values for ${v.count} samples of shape [${v.shape}]`);
  if (v.labels.length !== v.count) throw invalid(`validation set: ${v.labels.length} labels for ${v.count} samples`);
  const header = Buffer.from(JSON.stringify({ shape: v.shape, count: v.count, ...(v.classNames ? { labels: v.classNames } : {}) }), 'utf8');
  const headEnd = 8 + 4 + header.length;
  const dataStart = Math.ceil(headEnd / 4) * 4;
  const out = Buffer.alloc(dataStart + v.inputs.byteLength + v.labels.byteLength);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  Buffer.from(v.inputs.buffer, v.inputs.byteOffset, v.inputs.byteLength).copy(out, dataStart);
  Buffer.from(v.labels.buffer, v.labels.byteOffset, v.labels.byteLength).copy(out, dataStart + v.inputs.byteLength);
  return out;
}

export function decodeValidationSet(bytes: Uint8Array): ValidationSet {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw invalid('validation set: not a .valset file (bad magic)');
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) throw invalid('validation set: truncated header');
  let header: { shape?: unknown; count?: unknown; labels?: unknown };
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + hlen));
  } catch {
    throw invalid('validation set: header is not valid JSON');
  }
  const shape = header.shape;
  const count = header.count;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) throw invalid('validation set: header.shape must be positive integers');
  if (!Number.isInteger(count) || (count as number) <= 0) throw invalid('validation set: header.count must be a positive integer');
  const n = count as number;
  const per = sizeOf(shape as number[]);
  const dataStart = Math.ceil((12 + hlen) / 4) * 4;
  const need = dataStart + n * per * 4 + n * 4;
  if (buf.length !== need) throw invalid(`validation set: expected ${need} bytes, got ${buf.length}`);
  const copy = new Uint8Array(buf.subarray(dataStart)); // aligned copy
  const inputs = new Float32Array(copy.buffer, 0, n * per);
  const labels = new Int32Array(copy.buffer, n * per * 4, n);
  const classNames = Array.isArray(header.labels) ? header.labels.map(String) : undefined;
  return { shape: shape as number[], count: n, inputs, labels, classNames };
}
