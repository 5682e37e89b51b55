// The values a query's tensor may hold, by datatype: every number is checked before it is converted, so NaN,
// ±Infinity and numbers the datatype cannot hold (1e39 as float32) are refused instead of answered with `null`s.

/** Largest finite float32, 2^128 - 2^104. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Datatypes of query tensors. Only float32 today; a new one adds its range here. */
export type QueryDtype = 'float32';

/** Whether a finite number rounds to a finite value of the datatype (3.4028235e38, float32 max as JSON encoders print it, does). */
const FITS: Record<QueryDtype, (v: number) => boolean> = { float32: (v) => Number.isFinite(Math.fround(v)) };

/** Why `v` cannot be a value of a `dtype` tensor ("is NaN", "is 1e+39, outside …"), or undefined when it can. */
export function valueProblem(v: unknown, dtype: QueryDtype = 'float32'): string | undefined {
  if (typeof v !== 'number') return `is ${kindOf(v)}, not a finite number`;
  if (Number.isNaN(v)) return 'is NaN, not a finite number';
  if (!Number.isFinite(v)) return `is ${v}: only finite numbers are accepted`;
  if (!FITS[dtype](v)) return `is ${v}, outside the ${dtype} range (|v| ≤ ${FLOAT32_MAX})`;
  return undefined;
}

/** Index of the first NaN or ±Infinity in `data`, or -1 (raw float32 bytes can hold nothing else out of range). */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
