// POST /v1/infer over real HTTP on loopback (test kit src/testing/rest-api.ts): every input path refuses NaN,
// ±Infinity and numbers float32 cannot hold, naming the index, before the worker sees anything; body and query
// fields are own properties only, and unknown ones are refused (`constructor`, `__proto__` included).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRestKit, KIT_VARIANT, type RestKit } from '../../testing/rest-api.ts';

const VARIANT = KIT_VARIANT.name;
const sample = () => Array.from({ length: 16 }, (_, i) => i / 16);

describe('POST /v1/infer input checks', () => {
  let kit: RestKit;
  before(async () => (kit = await startRestKit()));
  after(() => kit.close());

  const postJson = async (body: unknown, query = '') => {
    const r = await fetch(`${kit.url}/v1/infer${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as { code: string; error: string; details?: Record<string, unknown>; batch?: number } };
  };
  const postRaw = async (floats: number[]) => {
    const r = await fetch(`${kit.url}/v1/infer?variant=${VARIANT}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(Float32Array.from(floats).buffer) });
    return { status: r.status, json: (await r.json()) as { code: string; error: string; details?: Record<string, unknown> } };
  };
  const refused = (r: { status: number; json: { code: string; error: string } }, pattern: RegExp) => {
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.code, 'INVALID_ARGUMENT');
    assert.match(r.json.error, pattern);
  };

  it('answers a valid query (the paths below differ only in the bad value)', async () => {
    const r = await postJson({ variant: VARIANT, inputs: [sample(), sample()] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.batch, 2);
    const raw = await postRaw([...sample(), ...sample()]);
    assert.equal(raw.status, 200, JSON.stringify(raw.json));
  });

  it('refuses numbers outside float32 in JSON samples, nested and flat, naming the index', async () => {
    const calls = kit.worker.calls.length;
    const flat = sample();
    flat[5] = 1e39;
    refused(await postJson({ variant: VARIANT, inputs: [sample(), flat] }), /^inputs\[1\]\[5\] is 1e\+39, outside the float32 range \(\|v\| ≤ 3\.4028234663852886e\+38\)/);
    refused(await postJson(`{"variant":"${VARIANT}","inputs":[[[[0,0,0,0],[0,0,0,0],[0,0,-1e39,0],[0,0,0,0]]]]}`), /^inputs\[0\]\[0\]\[2\]\[2\] is -1e\+39, outside the float32 range/);
    // JSON.parse turns 1e400 into Infinity.
    refused(await postJson(`{"variant":"${VARIANT}","inputs":[[${sample().slice(0, 15).join(',')},1e400]]}`), /^inputs\[0\]\[15\] is Infinity: only finite numbers/);
    // The largest float32 itself is accepted.
    flat[5] = 3.4028234663852886e38;
    assert.equal((await postJson({ variant: VARIANT, inputs: [flat] })).status, 200);
    assert.equal(kit.worker.calls.length, calls + 1, 'only the valid query reached the worker');
  });

  it('refuses them in {shape, data} too', async () => {
    const data = [...sample(), ...sample()];
    data[20] = -3.5e38;
    const r = await postJson({ variant: VARIANT, inputs: { shape: [2, 1, 4, 4], data } });
    refused(r, /^inputs\.data\[20\] is -3\.5e\+38, outside the float32 range/);
    assert.equal(r.json.details?.index, 20);
    refused(await postJson({ variant: VARIANT, inputs: { shape: [1, 4, 4], data: [...sample().slice(1), 'x'] } }), /^inputs\.data\[15\] is a string, not a finite number/);
  });

  it('refuses NaN and ±Infinity in raw float32 bytes, naming value, sample and offset', async () => {
    const calls = kit.worker.calls.length;
    for (const [bad, name] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']] as const) {
      const floats = [...sample(), ...sample()];
      floats[17] = bad;
      const r = await postRaw(floats);
      refused(r, new RegExp(`^raw input value 17 \\(sample 1, byte offset 68\\) is ${name}: only finite float32 values`));
      assert.equal(r.json.details?.index, 17);
    }
    assert.equal(kit.worker.calls.length, calls, 'the worker saw none of them');
  });

  it('refuses body fields that are not own known fields: toString, constructor, __proto__ (never "not valid JSON")', async () => {
    for (const key of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'varaint']) {
      const r = await postJson(`{"variant":"${VARIANT}","inputs":[[${sample()}]],"${key}":{"x":1}}`);
      refused(r, new RegExp(`^unknown field\\(s\\) "${key}" in the request body: it takes variant, arch, task, dataset, minAccuracy, latencyMs, maxCostPer1k, topK, inputs, images`));
    }
    refused(await postJson(`{"variant":"${VARIANT}","inputs":{"shape":[1,4,4],"data":[${sample()}],"__proto__":{"data":[]}}}`), /^unknown field\(s\) "__proto__" in inputs: it takes shape and data/);
    // `data` reached through the prototype chain is not data.
    refused(await postJson(`{"variant":"${VARIANT}","inputs":{"shape":[1,4,4],"constructor":1}}`), /^unknown field\(s\) "constructor" in inputs/);
    refused(await postJson(`{"variant":"${VARIANT}","inputs":{"shape":[1,4,4]}}`), /^inputs must be an array of samples or an object \{shape, data\}/);
  });

  it('refuses unknown query-string fields, listing the allowed ones, and a field given twice', async () => {
    const r = await postJson({ inputs: [sample()] }, `?variant=${VARIANT}&lattency=5`);
    refused(r, /^unknown query parameter\(s\) "lattency" for POST \/v1\/infer: it takes variant, arch, task, dataset, minAccuracy, latencyMs, maxCostPer1k, topK; inputs go in the body/);
    assert.deepEqual(r.json.details?.allowed, ['variant', 'arch', 'task', 'dataset', 'minAccuracy', 'latencyMs', 'maxCostPer1k', 'topK']);
    refused(await postJson({ inputs: [sample()] }, `?variant=${VARIANT}&toString=1`), /^unknown query parameter\(s\) "toString"/);
    refused(await postJson({ variant: VARIANT, inputs: [sample()] }, `?variant=${VARIANT}`), /^field\(s\) "variant" given both in the query string and in the body/);
    refused(await postJson({ inputs: [sample()] }, `?variant=${VARIANT}&variant=${VARIANT}`), /^variant must be a string \(given more than once\?\)/);
    assert.equal((await postJson({ inputs: [sample()] }, `?variant=${VARIANT}`)).status, 200, 'selection in the query string, inputs in the body');
  });

  it('quotes a client value in an error as a short excerpt', async () => {
    const name = 'x'.repeat(512 * 1024);
    const r = await postJson({ variant: name, inputs: [sample()] });
    assert.equal(r.status, 404);
    assert.ok(r.json.error.length < 300, `message of ${r.json.error.length} characters`);
    assert.match(r.json.error, /^unknown variant "x{64}…" \(524288 characters\)/);
    const n = await postJson({ arch: 'tiny', latencyMs: 'y'.repeat(100_000), inputs: [sample()] });
    assert.equal(n.status, 400);
    assert.match(n.json.error, /^latencyMs must be a number \(got "y{64}…" \(100000 characters\)\)$/);
    const img = await postJson({ variant: VARIANT, images: ['not base64!'] });
    refused(img, /^images\[0\] is not a base64 string/);
  });
});
