// Validation of model repository keys and list prefixes, shared by every ModelRepository implementation.

import { invalid } from '../core/errors.ts';

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const MAX_KEY_LENGTH = 1024;

/**
 * Accepts a key made of one or more [A-Za-z0-9._-] segments joined by '/', none of them '.' or '..'
 * (so no leading '/', no empty segment, no trailing '/'); rejects anything else with INVALID_ARGUMENT.
 */
export function checkObjectKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) throw badKey(key);
  for (const seg of key.split('/')) if (!isSegment(seg)) throw badKey(key);
}

/**
 * Accepts a list prefix: '' (everything), or whole key segments each followed by '/', optionally ending in
 * the start of a segment ('models/', 'models/dig'). Rejects '..' segments, a leading '/' and odd characters.
 */
export function checkObjectPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY_LENGTH) throw badPrefix(prefix);
  if (prefix === '') return;
  const segs = prefix.split('/');
  const last = segs.pop()!;
  for (const seg of segs) if (!isSegment(seg)) throw badPrefix(prefix);
  if (last !== '' && !SEGMENT.test(last)) throw badPrefix(prefix);
}

/** The whole segments of a valid prefix ('a/b/c' → ['a', 'b']); a listing need look no higher. */
export function prefixDirSegments(prefix: string): string[] {
  const segs = prefix.split('/');
  segs.pop();
  return segs;
}

/** Whether `name` may be one segment of a key. */
export function isSegment(name: string): boolean {
  return SEGMENT.test(name) && name !== '.' && name !== '..';
}

const badKey = (key: unknown) =>
  invalid(`invalid repository key ${JSON.stringify(key)}: use [A-Za-z0-9._-] segments joined by '/', no '.' or '..' segments`, { key: String(key) });
const badPrefix = (prefix: unknown) => invalid(`invalid repository list prefix ${JSON.stringify(prefix)}`, { prefix: String(prefix) });
