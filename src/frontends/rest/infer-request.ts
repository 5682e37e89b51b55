// Reads POST /v1/infer into selection fields and one QueryInput: a JSON body (selection fields with `inputs` or
// `images`), raw float32 bytes or one image (selection fields in the query string). Only own properties count,
// and every field must be known: `constructor`, `__proto__` or a misspelt field is refused, never ignored.

import type { FastifyRequest } from 'fastify';
import { excerpt, invalid } from '../../core/errors.ts';
import { checkBatchSize, type QueryInput } from '../../api/query-input.ts';
import { SELECTION_FIELDS, isSelectionField } from '../../api/query-spec.ts';
import type { ImageDecoder } from '../../image/image-decoder.ts';

const INPUT_FIELDS = ['inputs', 'images'];
const TENSOR_FIELDS = ['shape', 'data'];
/** A character outside standard and URL-safe base64 (whitespace is allowed, as Buffer.from skips it). */
const NOT_BASE64 = /[^A-Za-z0-9+/_\-=\s]/;

export function readInferRequest(req: FastifyRequest, decoder: ImageDecoder): { fields: Record<string, unknown>; input: QueryInput } {
  // The query string holds selection fields only (the route's rules refuse any other).
  const query = Object.fromEntries(Object.entries((req.query ?? {}) as Record<string, unknown>));
  const body = req.body;
  if (Buffer.isBuffer(body)) {
    const ct = String(req.headers['content-type'] ?? '');
    const input: QueryInput = ct.startsWith('image/') ? { kind: 'images', images: [body], decoder } : { kind: 'raw', bytes: body };
    return { fields: query, input };
  }
  if (body === undefined || body === null) throw invalid('request body is empty: send JSON with inputs or images, raw float32 bytes, or an image');
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('request body must be a JSON object with the query fields and inputs or images');
  const b = body as Record<string, unknown>;
  const keys = Object.keys(b);
  const unknown = keys.filter((k) => !isSelectionField(k) && !INPUT_FIELDS.includes(k));
  if (unknown.length) {
    throw invalid(`unknown field(s) ${list(unknown)} in the request body: it takes ${[...SELECTION_FIELDS, ...INPUT_FIELDS].join(', ')}; see docs/api.md`);
  }
  const twice = keys.filter((k) => Object.hasOwn(query, k));
  if (twice.length) throw invalid(`field(s) ${list(twice)} given both in the query string and in the body: give each once`);
  const fields = { ...query, ...Object.fromEntries(keys.filter(isSelectionField).map((k) => [k, b[k]])) };
  const inputs = b.inputs;
  const images = b.images;
  if (inputs !== undefined && images !== undefined) throw invalid('send either inputs or images, not both');
  if (images !== undefined) return { fields, input: { kind: 'images', images: readImages(images), decoder } };
  if (inputs === undefined) throw invalid('the request has no inputs: send "inputs" (arrays of numbers) or "images" (base64 PNG/JPEG)');
  if (Array.isArray(inputs)) return { fields, input: { kind: 'samples', samples: inputs } };
  if (typeof inputs === 'object' && inputs !== null) {
    const t = inputs as Record<string, unknown>;
    const extra = Object.keys(t).filter((k) => !TENSOR_FIELDS.includes(k));
    if (extra.length) throw invalid(`unknown field(s) ${list(extra)} in inputs: it takes shape and data`);
    if (Object.hasOwn(t, 'data')) return { fields, input: { kind: 'tensor', shape: t.shape, data: t.data } };
  }
  throw invalid('inputs must be an array of samples or an object {shape, data}');
}

function readImages(images: unknown): Uint8Array[] {
  if (!Array.isArray(images)) throw invalid('images must be an array of base64-encoded PNG or JPEG strings');
  checkBatchSize(images.length);
  return images.map((s, i) => {
    if (typeof s !== 'string' || NOT_BASE64.test(s)) throw invalid(`images[${i}] is not a base64 string (a PNG or JPEG, base64-encoded)`);
    return Buffer.from(s, 'base64');
  });
}

function list(keys: string[]): string {
  return keys.slice(0, 5).map((k) => excerpt(k, 32)).join(', ') + (keys.length > 5 ? `, … (${keys.length} in all)` : '');
}
