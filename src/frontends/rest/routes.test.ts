// What every route of the REST server takes, checked over real HTTP on loopback: unknown query-string fields and
// bodies sent to routes that take none are refused with a clear 400 (never ignored), path parameters and URLs are
// bounded and quoted as short excerpts, and framework errors come in the API's error format.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { sendStreamed, startRestKit, KIT_VARIANT, type RestKit } from '../../testing/rest-api.ts';

/** Writes `text` on a new connection and returns all the server sent back until it closed the connection. */
function rawExchange(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let got = '';
    const socket = connect(Number(port), hostname, () => socket.write(text));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (got += d));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

describe('routes: query strings, bodies and path parameters', () => {
  let kit: RestKit;
  before(async () => (kit = await startRestKit()));
  after(() => kit.close());

  const call = async (method: string, path: string, init: RequestInit = {}) => {
    const r = await fetch(`${kit.url}${path}`, { method, ...init });
    return { status: r.status, json: (await r.json()) as { code: string; error: string; details?: Record<string, unknown> } };
  };
  const expect400 = (r: Awaited<ReturnType<typeof call>>, pattern: RegExp) => {
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.code, 'INVALID_ARGUMENT');
    assert.match(r.json.error, pattern);
  };
  const load = `/v1/variants/${KIT_VARIANT.name}/load`;
  const json = (body: unknown): RequestInit => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('refuses unknown query-string fields on every route, saying which it takes', async () => {
    expect400(await call('GET', '/v1/health?verbose=1'), /^unknown query parameter\(s\) "verbose" for GET \/v1\/health: it takes none$/);
    expect400(await call('GET', '/v1/usecases?constructor=1'), /^unknown query parameter\(s\) "constructor" for GET \/v1\/usecases/);
    expect400(await call('GET', `/v1/variants/${KIT_VARIANT.name}?__proto__=1`), /^unknown query parameter\(s\) "__proto__"/);
    expect400(await call('POST', `${load}?wroker=w1`), /^unknown query parameter\(s\) "wroker" for POST \/v1\/variants\/:name\/load: it takes worker; give the worker as \?worker=ID$/);
    expect400(await call('POST', `/v1/variants/${KIT_VARIANT.name}/unload?worker=w1`), /for POST \/v1\/variants\/:name\/unload: it takes none/);
    expect400(await call('POST', '/v1/models?replace=true'), /for POST \/v1\/models: it takes none/);
    const many = await call('GET', `/v1/workers?${Array.from({ length: 9 }, (_, i) => `f${i}=1`).join('&')}`);
    expect400(many, /"f0", "f1", "f2", "f3", "f4", … \(9 in all\)/);
    assert.equal((await call('GET', '/v1/health')).status, 200);
  });

  it('refuses a body sent to a route that takes none, instead of ignoring it', async () => {
    expect400(await call('POST', load, json({ worker: 'w1' })), /^POST \/v1\/variants\/:name\/load takes no request body; give the worker as \?worker=ID$/);
    expect400(await call('POST', `/v1/variants/${KIT_VARIANT.name}/unload`, { headers: { 'content-type': 'application/octet-stream' }, body: 'abc' }), /^POST \/v1\/variants\/:name\/unload takes no request body$/);
    const chunkedGet = await sendStreamed(`${kit.url}/v1/health`, { method: 'GET', headers: { 'transfer-encoding': 'chunked' }, chunks: [Buffer.alloc(1024)], end: false });
    assert.equal(chunkedGet.status, 400);
    assert.match(chunkedGet.json!.error, /^GET requests take no body/);
    assert.equal(chunkedGet.headers.connection, 'close');
    const ok = await call('POST', `${load}?worker=w1`);
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
  });

  it('checks ?worker= of a load: once, bounded, quoted short', async () => {
    expect400(await call('POST', `${load}?worker=w1&worker=w2`), /^worker must be given once/);
    const long = await call('POST', `${load}?worker=${'w'.repeat(5000)}`);
    expect400(long, /^worker "w{64}…" \(5000 characters\) is not a worker id/);
    const unknown = await call('POST', `${load}?worker=w9`);
    assert.equal(unknown.status, 404);
  });

  it('bounds path parameters and URLs, and answers framework errors in the API format', async () => {
    expect400(await call('GET', `/v1/variants/${'v'.repeat(300)}`), /^a name in the URL path is too long: names are at most 256 characters$/);
    expect400(await call('GET', '/v1/variants/%ZZ'), /^malformed URL: its path is not valid percent-encoding$/);
    const missing = await call('GET', `/v1/variants/${'v'.repeat(250)}`);
    assert.equal(missing.status, 404);
    assert.match(missing.json.error, /^unknown variant "v{64}…" \(250 characters\)/);
    const noRoute = await call('GET', `/v2/${'z'.repeat(8000)}`);
    assert.equal(noRoute.status, 404);
    assert.ok(noRoute.json.error.length < 200, noRoute.json.error);
    assert.equal(noRoute.json.code, 'NOT_FOUND');
    const huge = await call('GET', `/v1/variants/${'v'.repeat(20_000)}`);
    assert.equal(huge.status, 431);
    assert.equal(huge.json.code, 'PAYLOAD_TOO_LARGE');
    assert.match(huge.json.error, /^request headers \(the URL included\) are larger than the limit of \d+ bytes$/);
    const garbage = await rawExchange(kit.url, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.deepEqual(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)), { code: 'INVALID_ARGUMENT', error: 'malformed HTTP request' });
    const arch = await call('GET', `/v1/usecases/${'t'.repeat(200)}/d/architectures`);
    assert.equal(arch.status, 404);
    assert.match(arch.json.error, /^unknown use case "t{64}…" \(202 characters\)/);
  });
});
