// The .valset reader against hostile files: every bad header or body is INVALID_ARGUMENT, refused before allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from './errors.ts';
import { decodeValidationSet, encodeValidationSet } from './validation-set.ts';

const good = () => ({ shape: [2, 2], count: 3, inputs: Float32Array.from({ length: 12 }, (_, i) => i / 12), labels: Int32Array.of(0, 1, 2), classNames: ['a', 'b', 'c'] });

/** A file with this header text and `body` bytes after it (header padded to 4 bytes as the format says). */
function file(header: string, body = 0): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const start = Math.ceil((12 + h.length) / 4) * 4;
  const out = Buffer.alloc(start + body);
  out.write('INFVAL1\n', 0, 'latin1');
  out.writeUInt32LE(h.length, 8);
  h.copy(out, 12);
  return out;
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeValidationSet(bytes), (e: unknown) => {
    assert.ok(e instanceof InfaasError, String(e));
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, pattern);
    assert.ok(e.message.length < 200, e.message);
    return true;
  });
}

test('round trip', () => {
  const v = decodeValidationSet(encodeValidationSet(good()));
  assert.deepEqual(v.shape, [2, 2]);
  assert.deepEqual([...v.labels], [0, 1, 2]);
  assert.deepEqual(v.classNames, ['a', 'b', 'c']);
  assert.deepEqual([...v.inputs], [...good().inputs]);
});

test('a header that is not an object of known fields is refused, not a crash', () => {
  refused(file('null'), /header must be a JSON object/);
  refused(file('[1,2]'), /header must be a JSON object/);
  refused(file('7'), /header must be a JSON object/);
  refused(file('{"shape":[1],"count":1,"colour":"red"}', 8), /unknown header field "colour"/);
  refused(file(`{"shape":[1],"count":1,"${'k'.repeat(500)}":1}`, 8), /unknown header field "k{32}…" \(500 characters\)/);
  refused(file('{"shape":[1],"count":1,"labels":[1,{}]}', 8), /labels must be an array of strings/);
  refused(file('{"count":1}', 8), /shape must be 1 to 8 positive integers/);
  refused(file('{"shape":[],"count":1}', 8), /shape must be 1 to 8 positive integers/);
  refused(file('{"shape":[1,1,1,1,1,1,1,1,1],"count":1}', 8), /shape must be 1 to 8 positive integers/);
  refused(file('{"shape":[1e300],"count":1}', 8), /shape must be/);
  refused(file('{"shape":[1],"count":1e300}', 8), /count must be a positive integer/);
});

test('huge dimensions or counts declared in a small file are refused before allocating', () => {
  refused(file('{"shape":[65536,65536],"count":1}', 8), /have 4294967296 values; at most 67108864/);
  refused(file('{"shape":[4096,4096],"count":1000000}', 8), /a header of 1000000 samples of shape \[4096,4096\] needs \d+ bytes, the file has \d+/);
  const big = Buffer.alloc(16);
  big.write('INFVAL1\n', 0, 'latin1');
  big.writeUInt32LE(0xffffffff, 8);
  refused(big, /truncated header/);
});

test('non-finite sample values and negative class indices are refused', () => {
  const nan = good();
  nan.inputs[5] = NaN;
  refused(encodeValidationSet(nan), /sample 1 has a non-finite value \(NaN\) at index 1/);
  const inf = good();
  inf.inputs[11] = -Infinity;
  refused(encodeValidationSet(inf), /sample 2 has a non-finite value \(-Infinity\) at index 3/);
  const neg = good();
  neg.labels[1] = -4;
  refused(encodeValidationSet(neg), /sample 1 has a negative class index \(-4\)/);
});
