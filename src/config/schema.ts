// A small declarative schema for JSON settings: each value's JSON type, what it must be (said in messages) and, for
// objects, their keys. Checked in two passes: a file's types and keys as read (defaults fill what it leaves out),
// then the merged result's values, ranges and required keys. Messages name the key path (`profiling.threads[0]`).

import { excerpt, invalid } from '../core/errors.ts';

export type JsonType = 'string' | 'number' | 'boolean' | 'array' | 'object';

interface RuleBase {
  /** What a value must be, after "must be" in a message ("an integer from 0 to 65535"). */
  must: string;
  /** May be absent from the merged settings (no default). */
  optional?: boolean;
}
export interface LeafRule extends RuleBase {
  /** 'structure': a JSON object checked as a whole by `check`. */
  type: 'string' | 'number' | 'boolean' | 'structure';
  ok(value: never): boolean;
  /** Checks of their own (a nested structure validated elsewhere); throws an InfaasError naming `path`. */
  check?(value: unknown, path: string): void;
}
export interface ArrayRule extends RuleBase { type: 'array'; of: Rule; nonEmpty: boolean }
export interface ObjectRule extends RuleBase { type: 'object'; keys: Record<string, Rule> }
/** An object with keys of the user's choosing (a map), each value checked by `of`. */
export interface RecordRule extends RuleBase { type: 'record'; of: Rule }
export type Rule = LeafRule | ArrayRule | ObjectRule | RecordRule;

export const leaf = <T>(type: LeafRule['type'], must: string, ok: (value: T) => boolean, check?: LeafRule['check']): LeafRule =>
  ({ type, must, ok: ok as (value: never) => boolean, ...(check ? { check } : {}) });
export const int = (min: number, max = Number.MAX_SAFE_INTEGER): LeafRule =>
  leaf('number', max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, (v: number) => Number.isInteger(v) && v >= min && v <= max);
export const oneOf = (values: readonly string[]): LeafRule => leaf('string', `one of ${values.join(', ')}`, (v: string) => values.includes(v));
export const text = (must: string, ok: (v: string) => boolean = (v) => v.length > 0): LeafRule => leaf('string', must, ok);
export const array = (of: Rule, must: string, nonEmpty = true): ArrayRule => ({ type: 'array', of, must, nonEmpty });
export const record = (of: Rule, must: string): RecordRule => ({ type: 'record', of, must });
/** An object with exactly the keys of T (the compiler checks that none is forgotten). */
export const object = <T>(keys: { [K in keyof Required<T>]: Rule }, must = 'an object'): ObjectRule => ({ type: 'object', keys, must });
export const optional = <R extends Rule>(rule: R): R => ({ ...rule, optional: true });

const kindOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
const jsonType = (r: Rule): JsonType => (r.type === 'record' || r.type === 'structure' ? 'object' : r.type);
const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

/** A value as a message shows it: strings quoted and cut (excerpt), numbers as they are, structures by kind. */
export function shown(v: unknown): string {
  if (typeof v === 'string') return excerpt(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return Array.isArray(v) && !v.length ? '[]' : article(kindOf(v));
}

const plainKey = (key: string) => key.length <= 64 && /^[A-Za-z_$][\w$]*$/.test(key);

/** `parent.key`, or `parent["odd key"]` (cut) for a key that is not a short plain name. */
export function keyPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (plainKey(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${excerpt(key, 40)}]`;
}

/** The known key closest to `key` (a typo or a different case), if one is close. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key.slice(0, 64), k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(1, Math.floor((best?.length ?? 0) / 3)) ? best : undefined;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function unknownKey(path: string, key: string, rule: ObjectRule, prefix: string): never {
  const known = Object.keys(rule.keys);
  const near = closest(key, known);
  const takes = path ? `${path} takes` : 'the settings are';
  const which = plainKey(key) ? `"${keyPath(path, key)}"` : `${excerpt(key, 40)}${path ? ` in ${path}` : ''}`;
  throw invalid(`${prefix}unknown setting ${which}${near ? ` (did you mean "${keyPath(path, near)}"?)` : `; ${takes} ${known.join(', ')}`}`);
}

/**
 * What is read from a file: every value has its key's JSON type and every key is known; absent keys are fine.
 * @throws InfaasError INVALID_ARGUMENT: "<prefix><path> must be an array, got string", "<prefix>unknown setting …".
 */
export function checkTypes(value: unknown, rule: Rule, path: string, prefix: string): void {
  const want = jsonType(rule);
  if (kindOf(value) !== want) throw invalid(`${prefix}${path} must be ${article(want)}, got ${kindOf(value)}`);
  if (rule.type === 'array') (value as unknown[]).forEach((v, i) => checkTypes(v, rule.of, keyPath(path, i), prefix));
  else if (rule.type === 'record') for (const [k, v] of Object.entries(value as object)) checkTypes(v, rule.of, keyPath(path, k), prefix);
  else if (rule.type === 'object') {
    for (const [k, v] of Object.entries(value as object)) {
      if (!Object.hasOwn(rule.keys, k)) unknownKey(path, k, rule, prefix);
      if (v !== undefined) checkTypes(v, rule.keys[k], keyPath(path, k), prefix);
    }
  }
}

/**
 * The merged settings: types, values and ranges, non-empty arrays, every key present unless optional, no unknown key.
 * @throws InfaasError INVALID_ARGUMENT: "<prefix><path> must be <rule.must>, got <value>" and the like.
 */
export function checkValues(value: unknown, rule: Rule, path: string, prefix: string): void {
  const bad = () => invalid(`${prefix}${path} must be ${rule.must}, got ${shown(value)}`);
  if (kindOf(value) !== jsonType(rule)) throw bad();
  switch (rule.type) {
    case 'array':
      if (rule.nonEmpty && !(value as unknown[]).length) throw bad();
      (value as unknown[]).forEach((v, i) => checkValues(v, rule.of, keyPath(path, i), prefix));
      return;
    case 'record':
      for (const [k, v] of Object.entries(value as object)) checkValues(v, rule.of, keyPath(path, k), prefix);
      return;
    case 'object':
      for (const k of Object.keys(value as object)) if (!Object.hasOwn(rule.keys, k)) unknownKey(path, k, rule, prefix);
      for (const [k, r] of Object.entries(rule.keys)) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined && !r.optional) throw invalid(`${prefix}${keyPath(path, k)} is missing: it must be ${r.must}`);
        if (v !== undefined) checkValues(v, r, keyPath(path, k), prefix);
      }
      return;
    default:
      if (!rule.ok(value as never)) throw bad();
      rule.check?.(value, path);
  }
}

/** Every key path the schema defines (`profiling.threads`, `workerClasses[].name`), for documentation checks. */
export function keyPaths(rule: Rule, path = ''): string[] {
  if (rule.type === 'array') return [path, ...keyPaths(rule.of, `${path}[]`).filter((p) => p !== `${path}[]`)];
  if (rule.type === 'object') {
    return [...(path ? [path] : []), ...Object.entries(rule.keys).flatMap(([k, r]) => keyPaths(r, path ? `${path}.${k}` : k))];
  }
  return [path];
}

/**
 * `over` laid on `base` key by key, at every depth of plain objects (arrays and other values replace); undefined
 * values in `over` are skipped. Keys are defined as own properties, so "__proto__" stays a key (and is refused).
 */
export function mergeSettings(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (kindOf(base) !== 'object' || kindOf(over) !== 'object') return over;
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown) => Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  for (const [k, v] of Object.entries(base as object)) put(k, v);
  for (const [k, v] of Object.entries(over as object)) put(k, mergeSettings(Object.hasOwn(out, k) ? out[k] : undefined, v));
  return out;
}
