// Fuzzing: the inputs of a query in every form the API takes — samples (nested or flat arrays), {shape, data},
// raw float32 bytes — valid for a [1,28,28] use case, or changed in one place: a value that is not a finite
// float32, a wrong length, a wrong depth, a batch over the limit; and the selection fields beside them.

import fc from 'fast-check';
import { MAX_QUERY_BATCH } from '../../api/query-input.ts';
import { hostileNumber, hostileString, PROTOTYPE_KEYS } from './hostile.ts';
import { short } from './json-mutate.ts';

export const SAMPLE_SHAPE = [1, 28, 28] as const;
const PER = 784;

/** Values that must never reach a float32 tensor: not numbers, not finite, or beyond float32's range. */
const POISON: Array<[string, unknown]> = [
  ['1e39', 1e39], ['-1e39', -1e39], ['3.5e38', 3.5e38], ['MAX_VALUE', Number.MAX_VALUE], ['NaN', NaN], ['Infinity', Infinity], ['null', null],
  ['"0.5"', '0.5'], ['true', true], ['[]', []], ['{}', {}],
];

export interface InputsCase {
  label: string;
  /** The value of "inputs". */
  inputs: unknown;
  /** Exactly right for [N,1,28,28], values in [0,1]. */
  valid: boolean;
  /** Holds a value that must be refused (non-finite or out of float32 range), and which. */
  poison?: string;
}

const pixel = fc.integer({ min: 0, max: 255 }).map((v) => v / 255);

const flatSample = fc.array(pixel, { minLength: PER, maxLength: PER });
const nestedOf = (flat: number[]) => [Array.from({ length: 28 }, (_, r) => flat.slice(r * 28, r * 28 + 28))];

/** Valid samples: 1..4 of them, each flat or nested. */
const validSamples = fc.array(fc.tuple(flatSample, fc.boolean()), { minLength: 1, maxLength: 4 }).map((xs) => xs.map(([f, nested]) => (nested ? nestedOf(f) : f)));

export function inputsArb(): fc.Arbitrary<InputsCase> {
  const valid = validSamples.map((inputs): InputsCase => ({ label: `${inputs.length} valid sample(s)`, inputs, valid: true }));
  const poisoned = fc.tuple(validSamples, fc.nat(), fc.nat(), fc.integer({ min: 0, max: POISON.length - 1 })).map(([samples, s, at, p]): InputsCase => {
    const [name, v] = POISON[p];
    const i = s % samples.length;
    const flat = (samples[i] as unknown[]).length === PER ? [...(samples[i] as number[])] : (samples[i] as number[][][])[0].flat();
    (flat as unknown[])[at % PER] = v;
    const out = samples.slice();
    out[i] = flat;
    return { label: `sample ${i} value ${at % PER} = ${name}`, inputs: out, valid: false, poison: name };
  });
  const tensor = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: POISON.length - 1 })), { freq: 2 })).map(([b, batchDim, poison]): InputsCase => {
    const data: unknown[] = Array.from({ length: b * PER }, (_, i) => (i % 256) / 255);
    if (poison) data[poison[0] % data.length] = POISON[poison[1]][1];
    const shape = batchDim || b > 1 ? [b, ...SAMPLE_SHAPE] : [...SAMPLE_SHAPE];
    return { label: `{shape:[${shape}], data}${poison ? ` with ${POISON[poison[1]][0]}` : ''}`, inputs: { shape, data }, valid: !poison, ...(poison ? { poison: POISON[poison[1]][0] } : {}) };
  });
  const badTensor = fc.record({
    shape: fc.oneof(fc.constantFrom<unknown>([0, 1, 28, 28], [-1, 1, 28, 28], [1.5, 1, 28, 28], ['1', 1, 28, 28], [2 ** 31, 1, 28, 28], [MAX_QUERY_BATCH + 1, 1, 28, 28], [1, 784], [], null, 'x', {}), fc.array(hostileNumber, { maxLength: 5 })),
    data: fc.oneof(fc.constantFrom<unknown>([], null, 'abc', {}, { length: 784 }), fc.array(hostileNumber, { maxLength: 10 }), fc.constant(new Array(784).fill(0.5))),
  }).map((inputs): InputsCase => ({ label: `tensor ${short(inputs.shape)} / ${short(inputs.data, 30)}`, inputs, valid: false }));
  const badShape = fc.oneof(
    fc.constantFrom<unknown>([], [[]], [null], [1], ['x'], [{}], new Array(783).fill(0), 5, 'abc', true, {}),
    fc.integer({ min: 1, max: 3 }).map((extra) => [new Array(PER + extra).fill(0)]),
    fc.constant([[[new Array(28).fill(0)]]]),
    fc.constant([Array.from({ length: 28 }, () => new Array(28).fill(0))]),
    fc.array(hostileNumber, { maxLength: 8 }).map((xs) => [xs]),
  ).map((inputs): InputsCase => ({ label: `inputs ${short(inputs, 40)}`, inputs, valid: false }));
  const tooMany = fc.constant<InputsCase>({ label: `${MAX_QUERY_BATCH + 1} samples`, inputs: new Array(MAX_QUERY_BATCH + 1).fill(new Array(PER).fill(0)), valid: false });
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 4, arbitrary: poisoned },
    { weight: 3, arbitrary: tensor },
    { weight: 2, arbitrary: badTensor },
    { weight: 2, arbitrary: badShape },
    { weight: 1, arbitrary: tooMany },
  );
}

export interface RawCase {
  label: string;
  bytes: Uint8Array;
  valid: boolean;
  poison?: string;
}

/** Raw little-endian float32 bodies: whole samples, with a NaN/Inf/huge value, ragged, empty, too many. */
export function rawArb(): fc.Arbitrary<RawCase> {
  const samples = (n: number) => {
    const f = new Float32Array(n * PER);
    for (let i = 0; i < f.length; i++) f[i] = (i % 256) / 255;
    return f;
  };
  return fc.oneof(
    fc.integer({ min: 1, max: 4 }).map((n): RawCase => ({ label: `${n} raw sample(s)`, bytes: new Uint8Array(samples(n).buffer), valid: true })),
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.nat(), fc.constantFrom(['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]) as fc.Arbitrary<[string, number]>).map(([n, at, [name, v]]): RawCase => {
      const f = samples(n);
      f[at % f.length] = v;
      return { label: `${n} raw sample(s), value ${at % f.length} = ${name}`, bytes: new Uint8Array(f.buffer), valid: false, poison: name };
    }),
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.nat(), fc.integer({ min: 0, max: 0xffffffff })).map(([n, at, bits]): RawCase => {
      const f = samples(n);
      new DataView(f.buffer).setUint32(4 * (at % f.length), bits, true);
      const v = f[at % f.length];
      return { label: `raw sample bits 0x${bits.toString(16)}`, bytes: new Uint8Array(f.buffer), valid: Number.isFinite(v), ...(Number.isFinite(v) ? {} : { poison: String(v) }) };
    }),
    fc.integer({ min: 0, max: 4 * PER * 2 + 3 }).filter((n) => n % (4 * PER) !== 0).map((n): RawCase => ({ label: `${n} raw bytes (ragged)`, bytes: new Uint8Array(n), valid: false })),
    fc.constant<RawCase>({ label: 'empty raw body', bytes: new Uint8Array(0), valid: false }),
    fc.constant<RawCase>({ label: `${MAX_QUERY_BATCH + 1} raw samples`, bytes: new Uint8Array(4 * PER * (MAX_QUERY_BATCH + 1)), valid: false }),
  );
}

/** The selection fields of a query, aimed at the fixtures, often changed in one field. */
export interface SelectionCase {
  label: string;
  fields: Record<string, unknown>;
  /** A valid exact-variant or architecture query of a fixture: must be answered. */
  sound: boolean;
  /** A field the API does not know (own-property checks must catch prototype names). */
  unknownKey?: string;
}

export function selectionArb(variants: string[], archs: string[], useCase: { task: string; dataset: string }): fc.Arbitrary<SelectionCase> {
  const exact = fc.constantFrom(...variants).map((variant): SelectionCase => ({ label: `variant ${variant}`, fields: { variant }, sound: true }));
  const arch = fc.constantFrom(...archs).map((a): SelectionCase => ({ label: `arch ${a} latencyMs 5000`, fields: { arch: a, latencyMs: 5000 }, sound: true }));
  const usecase = fc.record({ minAccuracy: fc.constantFrom(0, 50, 99.9), latencyMs: fc.constantFrom(0.001, 1, 5000) }).map((f): SelectionCase => ({ label: `use case ${JSON.stringify(f)}`, fields: { ...useCase, ...f }, sound: false }));
  const base = fc.oneof(exact, arch, usecase);
  const FIELDS = ['variant', 'arch', 'task', 'dataset', 'minAccuracy', 'latencyMs', 'maxCostPer1k', 'topK'];
  const changed = fc.tuple(base, fc.constantFrom(...FIELDS), fc.oneof(hostileNumber, hostileString, fc.constantFrom<unknown>(null, true, [], {}, '5', '1e999', ' 5 '))).map(([b, k, v]): SelectionCase => ({
    label: `${b.label}, ${k} = ${short(v, 40)}`, fields: { ...b.fields, [k]: v }, sound: false,
  }));
  const unknown = fc.tuple(base, fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.constantFrom('Variant', 'latency', 'input', 'image', 'foo'))).map(([b, k]): SelectionCase => ({
    label: `${b.label} + unknown field ${k}`, fields: { ...b.fields, [k]: 1 }, sound: false, unknownKey: k,
  }));
  return fc.oneof({ weight: 4, arbitrary: base }, { weight: 3, arbitrary: changed }, { weight: 1, arbitrary: unknown });
}
