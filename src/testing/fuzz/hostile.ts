// Fuzzing: hostile primitive values (strings, numbers, JSON) that the structured generators mix into valid-looking
// requests and files — prototype keys, numbers that overflow float32, control characters, very long text.

import fc from 'fast-check';

/** Keys that an object check written with `in` or a plain `{}` lookup gets wrong. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'] as const;

/** Numbers at the edges: zero signs, float32 overflow, subnormals, integers past 2^53. */
export const EDGE_NUMBERS = [
  0, -0, 1, -1, 0.5, 1e-45, 1.4e-45, 5e-324, 3.4028234663852886e38, 3.4028235e38, 3.5e38, 1e39, -1e39, 1e308,
  Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 2 ** 31, 2 ** 32, -(2 ** 31), 65535, 65536, 4096, 4097,
  1e21, 0.1 + 0.2, 100, 100.0000001, -1e-300,
] as const;

/** Number literals JSON.stringify cannot produce, written into raw JSON text. */
export const NON_JSON_NUMBERS = ['NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '0x10', '01', '.5', '+1', '1.', '1e', '--1'] as const;

/** A number, mostly ordinary, often at an edge. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true, min: -2, max: 2 }) },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 1, arbitrary: fc.integer({ min: -1000, max: 100_000 }) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** Strings a client may send as a name: ordinary names, path traversal, control characters, unicode, very long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '', ' ', '.', '..', '../../etc/passwd', '..%2F..%2Fetc', '/etc/passwd', 'C:\\Windows', 'a/b', 'a\\b', '%00', 'a\u0000b', '\r\nX-Injected: 1',
      '${HOME}', '$(id)', '`id`', '<script>', "'; DROP TABLE", 'null', 'undefined', 'true', 'NaN', '-1', '1e999', '☃', '\u202e', '\ud800', 'é'.normalize('NFD'),
      'fmnist-linear', 'fmnist-linear.fp32.t1.b8.all', 'classification', 'fashion-mnist',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 201, max: 70_000 }).map((n) => 'x'.repeat(n)) },
);

/** A JSON value of any type, shallow; keys sometimes prototype names. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    hostileNumber,
    hostileString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileString, fc.constantFrom(...PROTOTYPE_KEYS)), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Text of `depth` nested arrays (or objects): parsers that recurse may overflow the stack. */
export function deepNesting(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** JSON.stringify, then swap some number literals for ones JSON cannot hold (NaN, 1e999, ...). */
export function withNonJsonNumbers(text: string, pick: number): string {
  const lit = NON_JSON_NUMBERS[pick % NON_JSON_NUMBERS.length];
  let n = 0;
  return text.replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/g, (m) => (n++ % 7 === pick % 7 ? lit : m));
}

/** `arb` one time in `oneIn`, else null (a mutation applied to a minority of cases). */
export function rarely<T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}
