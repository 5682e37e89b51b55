// Fuzzing: the files a client or an operator hands the server — validation sets (.valset), precomputed profile
// files (JSON) and infaas.json — valid ones, structured mutations of them, and broken bytes.

import fc from 'fast-check';
import { encodeValidationSet } from '../../core/validation-set.ts';
import { hostileJson, withNonJsonNumbers } from './hostile.ts';
import { describeEdits, mutatedJson } from './json-mutate.ts';

export interface FileCase {
  label: string;
  bytes: Uint8Array;
}

// ---- validation sets ----

const valsetHeaderArb = fc.record({
  shape: fc.oneof({ weight: 4, arbitrary: fc.constant<number[]>([1, 28, 28]) }, { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }) }),
  count: fc.integer({ min: 1, max: 6 }),
  classes: fc.integer({ min: 1, max: 10 }),
  named: fc.boolean(),
  seed: fc.nat(),
});

function goodValset(h: { shape: number[]; count: number; classes: number; named: boolean; seed: number }): Uint8Array {
  const per = h.shape.reduce((a, b) => a * b, 1);
  const inputs = new Float32Array(h.count * per).map((_, i) => ((i * 7919 + h.seed) % 256) / 255);
  const labels = new Int32Array(h.count).map((_, i) => (i + h.seed) % h.classes);
  return encodeValidationSet({ shape: h.shape, count: h.count, inputs, labels, ...(h.named ? { classNames: Array.from({ length: h.classes }, (_, i) => `c${i}`) } : {}) });
}

/** Rewrites the header of a valset (keeping its data), optionally lying about the header's length. */
function withHeader(bytes: Uint8Array, header: string, lenDelta: number): Uint8Array {
  const b = Buffer.from(bytes);
  const oldLen = b.readUInt32LE(8);
  const dataStart = Math.ceil((12 + oldLen) / 4) * 4;
  const h = Buffer.from(header, 'utf8');
  const start = Math.ceil((12 + h.length) / 4) * 4;
  const out = Buffer.alloc(start + b.length - dataStart);
  b.copy(out, 0, 0, 8);
  out.writeUInt32LE((h.length + lenDelta) >>> 0, 8);
  h.copy(out, 12);
  b.copy(out, start, dataStart);
  return out;
}

export function valsetArb(): fc.Arbitrary<FileCase> {
  const valid = valsetHeaderArb.map((h): FileCase => ({ label: `valset [${h.shape}] x${h.count}`, bytes: goodValset(h) }));
  const headerMutated = fc.tuple(valsetHeaderArb, mutatedJson(valsetHeaderArb.map((h) => ({ shape: h.shape, count: h.count })), 2), fc.constantFrom(0, 0, 0, 1, -1, 1e6, 2 ** 32 - 13)).map(([h, m, delta]): FileCase => ({
    label: `valset header ${describeEdits(m.edits) || 'kept'}${delta ? `, length field ${delta > 0 ? '+' : ''}${delta}` : ''}`,
    bytes: withHeader(goodValset(h), JSON.stringify(m.doc) ?? 'null', delta),
  }));
  const dataPoisoned = fc.tuple(valsetHeaderArb, fc.constantFrom(NaN, Infinity, -Infinity, 3.5e38), fc.nat(), fc.integer({ min: -5, max: 100 })).map(([h, bad, at, label]): FileCase => {
    const b = Buffer.from(goodValset(h));
    const hlen = b.readUInt32LE(8);
    const dataStart = Math.ceil((12 + hlen) / 4) * 4;
    const per = h.shape.reduce((a, c) => a * c, 1);
    b.writeFloatLE(bad, dataStart + 4 * (at % (per * h.count)));
    b.writeInt32LE(label, b.length - 4);
    return { label: `valset with input ${bad} and last label ${label}`, bytes: b };
  });
  const broken = fc.tuple(valsetHeaderArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.option(fc.nat(), { freq: 2 }), fc.uint8Array({ maxLength: 9 })).map(([h, flips, cut, extra]): FileCase => {
    const b = Buffer.from(goodValset(h));
    for (const [at, v] of flips) b[at % b.length] = v;
    const out = Buffer.concat([cut === null ? b : b.subarray(0, cut % (b.length + 1)), extra]);
    return { label: `valset ${flips.length} flips${cut === null ? '' : ', cut'}, +${extra.length} bytes`, bytes: out };
  });
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 4, arbitrary: headerMutated },
    { weight: 2, arbitrary: dataPoisoned },
    { weight: 3, arbitrary: broken },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): FileCase => ({ label: `${bytes.length} random bytes`, bytes })) },
  );
}

// ---- precomputed profile files ----

export const profileDocArb = fc
  .record({
    accuracy: fc.double({ min: 0, max: 100, noNaN: true }),
    variants: fc.uniqueArray(fc.record({ threads: fc.integer({ min: 1, max: 2 }), maxBatch: fc.constantFrom(1, 4, 8, 32), optLevel: fc.constantFrom('basic', 'all') }), {
      minLength: 1, maxLength: 3, selector: (c) => `${c.threads}.${c.maxBatch}.${c.optLevel}`,
    }),
    p50: fc.double({ min: 0.01, max: 50, noNaN: true }),
  })
  .map(({ accuracy, variants, p50 }) => ({
    accuracy,
    variants: variants.map((c) => ({
      config: { backend: 'ort-cpu', ...c },
      profile: {
        loadMs: 20, memoryMB: 12,
        latency: [...new Set([1, c.maxBatch])].map((batch) => ({ batch, p50: p50 * batch, p95: p50 * batch * 1.3 })),
      },
    })),
  }));

/** A profile file's text: valid, structurally mutated, with non-JSON numbers, or not JSON at all. */
export function profileTextArb(): fc.Arbitrary<{ label: string; text: string }> {
  return fc.oneof(
    { weight: 2, arbitrary: profileDocArb.map((d) => ({ label: 'valid profile', text: JSON.stringify(d) })) },
    { weight: 6, arbitrary: mutatedJson(profileDocArb, 3).map((m) => ({ label: `profile ${describeEdits(m.edits)}`, text: JSON.stringify(m.doc) ?? '' })) },
    { weight: 1, arbitrary: fc.tuple(profileDocArb, fc.nat()).map(([d, pick]) => ({ label: 'profile with a non-JSON number', text: withNonJsonNumbers(JSON.stringify(d), pick) })) },
    { weight: 1, arbitrary: fc.tuple(profileDocArb, fc.nat()).map(([d, cut]) => { const t = JSON.stringify(d); return { label: 'profile cut short', text: t.slice(0, cut % t.length) }; }) },
    { weight: 1, arbitrary: hostileJson.map((v) => ({ label: 'any JSON', text: JSON.stringify(v) ?? 'null' })) },
  );
}

// ---- infaas.json ----

export const configDocArb = fc.record(
  {
    port: fc.constantFrom(0, 8080),
    host: fc.constantFrom('127.0.0.1', '0.0.0.0', 'localhost'),
    workerClasses: fc.constant([{ name: 'cpu-1', threads: 1, memoryMB: 1024, pricePerHour: 0.048 }, { name: 'cpu-2', threads: 2, memoryMB: 2048, pricePerHour: 0.096 }]),
    initialWorkers: fc.record({ workerClass: fc.constantFrom('cpu-1', 'cpu-2'), count: fc.integer({ min: 1, max: 2 }) }),
    profiling: fc.constant({ threads: [1], maxBatch: [1, 8], optLevels: ['all'], runs: 5, warmup: 1 }),
    maxBodyBytes: fc.constantFrom(1024, 16 * 1024 * 1024),
    maxModelBytes: fc.constantFrom(1024 * 1024, 256 * 1024 * 1024),
    workerTimeoutMs: fc.constantFrom(1000, 30_000),
    autoscaling: fc.record({ policy: fc.constantFrom('off', 'ours', 'infaas'), maxWorkers: fc.integer({ min: 2, max: 4 }), idleUnloadMs: fc.constantFrom(1000, 30_000) }, { requiredKeys: ['policy'] }),
    provisioner: fc.record({ kind: fc.constantFrom('local', 'none'), localTransport: fc.constantFrom('unix', 'tcp') }, { requiredKeys: ['kind'] }),
    leaseMs: fc.constantFrom(500, 5000),
  },
  { requiredKeys: [] },
);

/** infaas.json text: valid, structurally mutated, broken JSON, other top-level types. */
export function configTextArb(): fc.Arbitrary<{ label: string; text: string }> {
  return fc.oneof(
    { weight: 2, arbitrary: configDocArb.map((d) => ({ label: 'valid config', text: JSON.stringify(d) })) },
    { weight: 7, arbitrary: mutatedJson(configDocArb, 3).map((m) => ({ label: `config ${describeEdits(m.edits)}`, text: JSON.stringify(m.doc) ?? '' })) },
    { weight: 1, arbitrary: fc.tuple(configDocArb, fc.nat()).map(([d, pick]) => ({ label: 'config with a non-JSON number', text: withNonJsonNumbers(JSON.stringify(d), pick) })) },
    { weight: 1, arbitrary: fc.constantFrom('', '\ufeff{}', 'null', '[]', '5', '"x"', '{', '{"port": 80,}', '{"port":1}{"port":2}').map((text) => ({ label: `config text ${JSON.stringify(text)}`, text })) },
    { weight: 1, arbitrary: hostileJson.map((v) => ({ label: 'any JSON', text: JSON.stringify(v) ?? 'null' })) },
  );
}
