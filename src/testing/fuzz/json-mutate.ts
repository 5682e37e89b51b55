// Fuzzing: structured mutations of a JSON document — replace, delete or add a value at a path chosen by the
// generator — so hostile files stay close to valid ones and reach the checks deep inside a parser.

import fc from 'fast-check';
import { hostileJson, PROTOTYPE_KEYS } from './hostile.ts';

export interface JsonEdit {
  /** Child choices from the root; each is taken modulo the number of children there. */
  path: number[];
  action: 'replace' | 'delete' | 'addKey' | 'wrap';
  key: string;
  value: unknown;
}

export const jsonEditArb: fc.Arbitrary<JsonEdit> = fc.record({
  path: fc.array(fc.nat(31), { maxLength: 5 }),
  action: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'addKey', 'wrap'),
  key: fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.stringMatching(/^[a-zA-Z]{1,10}$/)),
  value: hostileJson,
});

const isContainer = (v: unknown): v is Record<string, unknown> | unknown[] => typeof v === 'object' && v !== null;

/** Returns a changed deep copy of `doc` (the original is left alone). */
export function applyJsonEdit(doc: unknown, e: JsonEdit): unknown {
  const root = structuredClone(doc);
  let parent: Record<string, unknown> | unknown[] | undefined;
  let slot: string | number | undefined;
  let here: unknown = root;
  for (const step of e.path) {
    if (!isContainer(here)) break;
    const keys = Object.keys(here);
    if (!keys.length) break;
    const k = keys[step % keys.length];
    parent = here;
    slot = Array.isArray(here) ? Number(k) : k;
    here = (here as Record<string, unknown>)[k];
  }
  const set = (v: unknown): unknown => {
    if (parent === undefined || slot === undefined) return v;
    // defineProperty: a key like __proto__ becomes an own property, as JSON.parse would make it
    Object.defineProperty(parent, slot, { value: v, enumerable: true, writable: true, configurable: true });
    return root;
  };
  switch (e.action) {
    case 'replace':
      return set(e.value);
    case 'wrap':
      return set([here]);
    case 'delete':
      if (parent === undefined || slot === undefined) return {};
      if (Array.isArray(parent)) parent.splice(slot as number, 1);
      else delete parent[slot as string];
      return root;
    case 'addKey':
      if (isContainer(here) && !Array.isArray(here)) {
        Object.defineProperty(here, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
        return root;
      }
      return set({ [e.key]: e.value });
  }
}

/** A document after up to `max` edits. */
export function mutatedJson(base: fc.Arbitrary<unknown>, max = 3): fc.Arbitrary<{ doc: unknown; edits: JsonEdit[] }> {
  return fc.tuple(base, fc.array(jsonEditArb, { maxLength: max })).map(([doc, edits]) => ({ doc: edits.reduce(applyJsonEdit, doc), edits }));
}

/** Describes edits briefly for a report, e.g. "replace @2.0 = 1e39". */
export function describeEdits(edits: JsonEdit[]): string {
  return edits.map((e) => `${e.action} @${e.path.join('.')}${e.action === 'addKey' ? ` ${e.key}` : ''}${e.action === 'replace' || e.action === 'addKey' ? ` = ${short(e.value)}` : ''}`).join('; ');
}

export function short(v: unknown, max = 60): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…(${s.length})` : s;
}
