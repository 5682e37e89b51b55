// The validation-set file format (`.valset`): labelled float32 samples used to measure an artifact's accuracy.
//
// Layout (little-endian): 8-byte magic "INFVAL1\n" · uint32 header length H · H bytes of UTF-8 JSON header
// {"shape":[1,28,28],"count":N,"labels":["T-shirt",...]?} · zero padding to a multiple of 4 ·
// N*prod(shape) float32 samples · N int32 class indices.

import { excerpt, invalid } from './errors.ts';
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

/** Largest header accepted, bytes (a header holds a shape, a count and class names). */
const MAX_HEADER_BYTES = 4 * 1024 * 1024;
/** Highest rank of a sample, and most values in one sample (2^26 float32, 256 MiB). */
const MAX_RANK = 8;
const MAX_SAMPLE_VALUES = 2 ** 26;
const HEADER_FIELDS = new Set(['shape', 'count', 'labels']);

/**
 * Parses a `.valset` file. Throws INVALID_ARGUMENT naming the first problem: bad magic, a header that is not a JSON
 * object of known fields, a shape or count out of range (checked against the file's size before anything is
 * allocated), a non-finite sample value or a negative class index.
 */
export function decodeValidationSet(bytes: Uint8Array): ValidationSet {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw invalid('validation set: not a .valset file (bad magic)');
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) throw invalid('validation set: truncated header');
  if (hlen > MAX_HEADER_BYTES) throw invalid(`validation set: header of ${hlen} bytes is larger than the limit of ${MAX_HEADER_BYTES}`);
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + hlen));
  } catch {
    throw invalid('validation set: header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalid('validation set: header must be a JSON object {"shape","count","labels"?}');
  const unknown = Object.keys(header).filter((k) => !HEADER_FIELDS.has(k));
  if (unknown.length) throw invalid(`validation set: unknown header field ${excerpt(unknown[0], 32)} (expected shape, count, labels)`);
  const own = (k: string): unknown => (Object.hasOwn(header as object, k) ? (header as Record<string, unknown>)[k] : undefined);
  const shape = own('shape');
  const count = own('count');
  const labels = own('labels');
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw invalid(`validation set: header.shape must be 1 to ${MAX_RANK} positive integers`);
  }
  const per = sizeOf(shape as number[]);
  if (per > MAX_SAMPLE_VALUES) throw invalid(`validation set: samples of shape [${shape}] have ${per} values; at most ${MAX_SAMPLE_VALUES} are accepted`);
  if (!Number.isSafeInteger(count) || (count as number) <= 0) throw invalid('validation set: header.count must be a positive integer');
  if (labels !== undefined && (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string'))) throw invalid('validation set: header.labels must be an array of strings');
  const n = count as number;
  const dataStart = Math.ceil((12 + hlen) / 4) * 4;
  // Compared before allocating: the header's figures are the client's, the file's size is not.
  const need = dataStart + n * (per + 1) * 4;
  if (buf.length !== need) throw invalid(`validation set: a header of ${n} samples of shape [${shape}] needs ${need} bytes, the file has ${buf.length}`);
  const copy = new Uint8Array(buf.subarray(dataStart)); // aligned copy
  const inputs = new Float32Array(copy.buffer, 0, n * per);
  const classes = new Int32Array(copy.buffer, n * per * 4, n);
  for (let i = 0; i < inputs.length; i++) {
    if (!Number.isFinite(inputs[i])) throw invalid(`validation set: sample ${Math.floor(i / per)} has a non-finite value (${inputs[i]}) at index ${i % per}`);
  }
  for (let i = 0; i < n; i++) if (classes[i] < 0) throw invalid(`validation set: sample ${i} has a negative class index (${classes[i]})`);
  return { shape: shape as number[], count: n, inputs, labels: classes, classNames: labels as string[] | undefined };
}
