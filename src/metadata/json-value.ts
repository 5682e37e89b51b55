// Key and value rules shared by every MetadataStore implementation: validation and the JSON round trip
// that gives each caller its own deep copy (the same text a Redis backend would store).

import { invalid, unavailable } from '../core/errors.ts';

/** Rejects anything that is not a non-empty string key. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw invalid('metadata key must be a non-empty string', { key: String(key) });
}

/** Rejects a prefix that is not a string (the empty prefix lists everything). */
export function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string') throw invalid('metadata list prefix must be a string');
}

/**
 * Serialises a value to JSON text, the stored form. Rejects values JSON cannot represent at the top level
 * (undefined, functions, symbols), BigInt and cycles, with INVALID_ARGUMENT.
 */
export function encodeValue(key: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw invalid(`metadata value for '${key}' is not JSON-serialisable: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof text !== 'string') throw invalid(`metadata value for '${key}' is not JSON-serialisable (${typeof value})`);
  return text;
}

/** Parses stored JSON text into a fresh value. */
export function decodeValue<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** The error every call on a closed store rejects with. */
export const closedError = () => unavailable('metadata store is closed');

/** Every entry of a key -> encoded-value map whose key starts with `prefix`, decoded, sorted by key. */
export function listDecoded<T>(data: ReadonlyMap<string, string>, prefix: string): Array<{ key: string; value: T }> {
  checkPrefix(prefix);
  const out: Array<{ key: string; value: T }> = [];
  for (const [key, text] of data) if (key.startsWith(prefix)) out.push({ key, value: decodeValue<T>(text) });
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
