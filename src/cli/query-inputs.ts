// The input part of `infaas query`: reads -i files (images, JSON samples, raw float32) into one request body.

import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { detectImageFormat } from '../image/image-format.ts';
import { usageError } from './cli-error.ts';

/**
 * What is sent to POST /v1/infer:
 * - `images`: base64 PNG/JPEG strings in the JSON body (`images`);
 * - `json`: the `inputs` field of the JSON body — an array of samples (nested or flat arrays), or one
 *   `{shape, data}` tensor when it is the only input;
 * - `raw`: little-endian float32 bytes sent as application/octet-stream (several files are concatenated).
 */
export type QueryBody =
  | { kind: 'images'; images: string[] }
  | { kind: 'json'; inputs: unknown }
  | { kind: 'raw'; bytes: Uint8Array };

type InputKind = 'image' | 'json' | 'raw';

const RAW_EXT = new Set(['.f32', '.bin', '.raw']);

function kindOf(path: string, bytes: Uint8Array): InputKind {
  if (detectImageFormat(bytes)) return 'image';
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'json';
  if (RAW_EXT.has(ext)) return 'raw';
  if (ext === '.png' || ext === '.jpg' || ext === '.jpeg') throw usageError(`${path} is named like an image but is not a PNG or JPEG`, 'query');
  throw usageError(`${path}: an input must be a PNG/JPEG image, a .json sample or raw float32 (.f32, .bin)`, 'query');
}

interface JsonTensor { shape: number[]; data: number[] }

function isTensor(v: unknown): v is JsonTensor {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Array.isArray((v as JsonTensor).shape) && Array.isArray((v as JsonTensor).data);
}

/** Checks a nested array holds only numbers (any depth). */
function isNumberArray(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  return v.every((x) => (Array.isArray(x) ? isNumberArray(x) : typeof x === 'number' && Number.isFinite(x)));
}

function parseJsonInput(path: string, bytes: Uint8Array): unknown[] | JsonTensor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw usageError(`${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 'query');
  }
  if (isTensor(v)) {
    if (!v.data.every((x) => typeof x === 'number')) throw usageError(`${path}: "data" must be an array of numbers`, 'query');
    return v;
  }
  if (isNumberArray(v)) return v as unknown[];
  throw usageError(`${path}: expected a nested array of numbers (one sample) or {"shape":[...],"data":[...]}`, 'query');
}

/**
 * Reads the -i files into one request body. Every input must be of one kind (all images, all JSON, or all raw).
 * @throws CliError (exit 2) for unreadable files, unknown kinds, mixed kinds, malformed JSON or raw files whose
 *   size is not a multiple of 4 bytes.
 */
export async function loadQueryInputs(paths: string[]): Promise<QueryBody> {
  if (paths.length === 0) throw usageError('give at least one input with -i FILE (a PNG/JPEG, a .json sample or a .f32 file)', 'query');
  const files: { path: string; bytes: Uint8Array; kind: InputKind }[] = [];
  for (const path of paths) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw usageError(`cannot read input ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'query');
    }
    files.push({ path, bytes, kind: kindOf(path, bytes) });
  }
  const kinds = new Set(files.map((f) => f.kind));
  if (kinds.size > 1) {
    throw usageError(`inputs of one query must all be images, all JSON or all raw float32 (got ${[...kinds].join(' and ')}: ${files.map((f) => basename(f.path)).join(', ')})`, 'query');
  }
  const kind = files[0].kind;
  if (kind === 'image') return { kind: 'images', images: files.map((f) => Buffer.from(f.bytes).toString('base64')) };
  if (kind === 'raw') {
    for (const f of files) if (f.bytes.length === 0 || f.bytes.length % 4 !== 0) throw usageError(`${f.path}: ${f.bytes.length} bytes is not a whole number of float32 values`, 'query');
    return { kind: 'raw', bytes: Buffer.concat(files.map((f) => f.bytes)) };
  }
  const parsed = files.map((f) => parseJsonInput(f.path, f.bytes));
  if (parsed.length === 1 && isTensor(parsed[0])) return { kind: 'json', inputs: parsed[0] };
  // Several files: each is one sample; a {shape, data} file contributes its data as a flat sample.
  return { kind: 'json', inputs: parsed.map((p) => (isTensor(p) ? p.data : p)) };
}
