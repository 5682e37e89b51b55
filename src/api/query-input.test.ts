// Tests of turning query inputs into a batch tensor: the batch is checked before any value is converted, every
// path refuses values float32 cannot hold, and a batch no variant takes is refused with selection's own answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import { Catalogue } from '../policy/catalogue.ts';
import { makeVariant } from '../policy/fixtures.ts';
import { selectVariant } from '../policy/select-variant.ts';
import { EMPTY_CLUSTER } from '../policy/cluster-view.ts';
import { encodePng } from '../image/encode-image.ts';
import { MAX_QUERY_BATCH, toBatchTensor } from './query-input.ts';
import { FLOAT32_MAX, valueProblem } from './tensor-values.ts';
import { checkBatchFits } from './batch-fit.ts';

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof InfaasError && e.code === c && (!re || re.test(e.message));

test('float32 values: finite and within ±FLOAT32_MAX, numbers only', () => {
  // 3.4028235e38 is float32 max as shortest-decimal encoders print it: it rounds to FLOAT32_MAX
  for (const ok of [0, -0, 1e-45, FLOAT32_MAX, -FLOAT32_MAX, 3.4028235e38, -3.4028235e38]) assert.equal(valueProblem(ok), undefined, String(ok));
  assert.equal(valueProblem(1e39), 'is 1e+39, outside the float32 range (|v| ≤ 3.4028234663852886e+38)');
  assert.equal(valueProblem(3.41e38), 'is 3.41e+38, outside the float32 range (|v| ≤ 3.4028234663852886e+38)');
  assert.equal(valueProblem(NaN), 'is NaN, not a finite number');
  assert.equal(valueProblem(-Infinity), 'is -Infinity: only finite numbers are accepted');
  assert.equal(valueProblem('1'), 'is a string, not a finite number');
  assert.equal(valueProblem(null), 'is null, not a finite number');
  assert.equal(valueProblem([1]), 'is an array, not a finite number');
});

test('the batch is checked before any value is converted or image decoded', async () => {
  const seen: number[] = [];
  const refuse = { checkBatch: (n: number) => { seen.push(n); throw new InfaasError('SLO_UNSATISFIABLE', `no ${n}`); } };
  // Values that would be refused, and bytes that are no image: the batch check answers first.
  await assert.rejects(toBatchTensor({ kind: 'samples', samples: [['x'], ['y']] }, [1], refuse), code('SLO_UNSATISFIABLE', /^no 2$/));
  await assert.rejects(toBatchTensor({ kind: 'tensor', shape: [3, 1], data: ['x', 'y', 'z'] }, [1], refuse), code('SLO_UNSATISFIABLE', /^no 3$/));
  await assert.rejects(toBatchTensor({ kind: 'raw', bytes: new Uint8Array(new Float32Array([NaN, NaN]).buffer) }, [1], refuse), code('SLO_UNSATISFIABLE', /^no 2$/));
  await assert.rejects(toBatchTensor({ kind: 'images', images: [new Uint8Array(3)] }, [1, 2, 2], refuse), code('SLO_UNSATISFIABLE', /^no 1$/));
  assert.deepEqual(seen, [2, 3, 2, 1]);
  const tooMany = Array.from({ length: MAX_QUERY_BATCH + 1 }, () => [0]);
  await assert.rejects(toBatchTensor({ kind: 'samples', samples: tooMany }, [1]), code('PAYLOAD_TOO_LARGE'));
});

test('raw bytes with NaN or ±Infinity are refused, naming the value, its sample and offset', async () => {
  const bytes = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);
  await assert.rejects(toBatchTensor({ kind: 'raw', bytes: bytes([0, 1, 2, Infinity]) }, [2]), code('INVALID_ARGUMENT', /^raw input value 3 \(sample 1, byte offset 12\) is Infinity/));
  const t = await toBatchTensor({ kind: 'raw', bytes: bytes([0, 1, FLOAT32_MAX, -FLOAT32_MAX]) }, [2]);
  assert.deepEqual(t.shape, [2, 2]);
});

test('images decode on the calling thread by default, to the use case shape', async () => {
  const png = encodePng(new Float32Array(16).fill(0.5), [1, 4, 4]);
  const t = await toBatchTensor({ kind: 'images', images: [png, png] }, [1, 4, 4]);
  assert.deepEqual(t.shape, [2, 1, 4, 4]);
  await assert.rejects(toBatchTensor({ kind: 'images', images: [png] }, [16]), code('INVALID_ARGUMENT', /\[C,H,W\]/));
});

test('checkBatchFits gives the answer selection would give, before anything is decoded', () => {
  const cat = new Catalogue([makeVariant({ name: 'm.b4', arch: 'm', maxBatch: 4 }), makeVariant({ name: 'm.b8', arch: 'm', maxBatch: 8 })]);
  const spec = { level: 'arch' as const, arch: 'm', latencyMs: 1000 };
  checkBatchFits(spec, 8, cat);
  const err = (() => { try { checkBatchFits(spec, 9, cat); } catch (e) { return e as InfaasError; } })();
  const sel = (() => { try { selectVariant({ kind: 'arch', arch: 'm', latencyMs: 1000, batch: 9 }, cat, EMPTY_CLUSTER, 0); } catch (e) { return e as InfaasError; } })();
  assert.equal(err?.code, 'SLO_UNSATISFIABLE');
  assert.equal(err?.message, sel?.message);
  assert.throws(() => checkBatchFits({ level: 'variant', variant: 'm.b4' }, 5, cat), code('INVALID_ARGUMENT', /^variant m\.b4 takes at most 4 samples per request \(got 5\)/));
  assert.throws(() => checkBatchFits({ level: 'usecase', task: 'classification', dataset: 'fashion-mnist', minAccuracy: 0, latencyMs: 5 }, 9, cat), code('SLO_UNSATISFIABLE', /use case classification\/fashion-mnist accepts batch 9 \(largest max batch 8\)/));
  checkBatchFits({ level: 'variant', variant: 'unknown' }, 5000, cat); // unknown names are the lookup's to report
});
