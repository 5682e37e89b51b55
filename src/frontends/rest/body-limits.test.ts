// Registration uploads and body limits over real HTTP on loopback: a malformed multipart body is a 400 saying why;
// a declared body over its limit is refused before it is read, a streamed one as soon as it passes the limit, and
// the 413 quotes the limit that applies (the registration's for multipart registrations, maxBodyBytes otherwise).
// The test kit's limits: bodies 1 MiB, files 2 MiB, so a registration may carry 3 MiB.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sendStreamed, startRestKit, type RestKit } from '../../testing/rest-api.ts';

const MiB = 1024 * 1024;
const B = 'xYz0boundary';
const MP = { 'content-type': `multipart/form-data; boundary=${B}` };
const field = (name: string, value: string) => Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
const fileHead = (name: string) => Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
const END = Buffer.from(`--${B}--\r\n`);
const form = (...parts: Buffer[]) => Buffer.concat(parts);
const withFile = (name: string, bytes: Buffer) => form(fileHead(name), bytes, Buffer.from('\r\n'));
const REQUIRED = form(field('task', 'classification'), field('dataset', 'tiny'), field('arch', 'a1'));

/** `total` bytes of `size`-byte chunks. */
function* chunks(total: number, size = 64 * 1024): Generator<Buffer> {
  const chunk = Buffer.alloc(size, 7);
  for (let sent = 0; sent < total; sent += size) yield chunk;
}

describe('registration uploads and body limits', () => {
  let kit: RestKit;
  before(async () => (kit = await startRestKit()));
  after(() => kit.close());

  const register = async (body: Buffer, headers: Record<string, string> = MP) => {
    const r = await fetch(`${kit.url}/v1/models`, { method: 'POST', headers, body: new Uint8Array(body) });
    return { status: r.status, json: (await r.json()) as { code: string; error: string; registration?: unknown } };
  };

  it('accepts a well-formed registration and passes its fields and files on', async () => {
    const r = await register(form(REQUIRED, field('replace', 'true'), withFile('model', Buffer.from('onnx bytes')), withFile('profile', Buffer.from('{"accuracy":1}')), END));
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const got = kit.registered.at(-1)!;
    assert.deepEqual([got.task, got.dataset, got.arch, got.replace, Buffer.from(got.model).toString()], ['classification', 'tiny', 'a1', true, 'onnx bytes']);
    assert.deepEqual(got.profile, { accuracy: 1 });
  });

  it('answers a body without a boundary, a cut-off body or garbage with 400 saying why', async () => {
    const whole = form(REQUIRED, withFile('model', Buffer.from('m')), END);
    const noBoundary = await register(whole, { 'content-type': 'multipart/form-data' });
    assert.equal(noBoundary.status, 400, JSON.stringify(noBoundary.json));
    assert.match(noBoundary.json.error, /^malformed multipart\/form-data body: its Content-Type gives no boundary/);
    for (const body of [whole.subarray(0, whole.length - 20), whole.subarray(0, 70), Buffer.from('hello world')]) {
      const r = await register(body);
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.match(r.json.error, /^malformed multipart\/form-data body: it ends before the closing boundary/);
    }
  });

  it('refuses unknown, built-in-named and repeated fields, and a replace that is not a boolean', async () => {
    const cases: Array<[Buffer, RegExp]> = [
      [field('color', 'red'), /^unknown field "color" \(expected: task, dataset, arch, description, precision, replace, model, validation, profile, labels\)/],
      [withFile('weights', Buffer.from('w')), /^unknown file field "weights"/],
      [field('constructor', 'x'), /^a form field is named after a built-in property/],
      [field('__proto__', 'x'), /^a form field is named after a built-in property/],
      [field('task', 'again'), /^field "task" is given twice/],
      [field('replace', 'yes'), /^replace must be true or false \(got "yes"\)/],
    ];
    for (const [extra, pattern] of cases) {
      const r = await register(form(REQUIRED, extra, withFile('model', Buffer.from('m')), END));
      assert.equal(r.status, 400, `${pattern}: ${JSON.stringify(r.json)}`);
      assert.match(r.json.error, pattern);
    }
  });

  it('refuses a text field over its limit instead of cutting it silently', async () => {
    const r = await register(form(REQUIRED, field('description', 'd'.repeat(MiB + 1)), withFile('model', Buffer.from('m')), END));
    assert.equal(r.status, 413, JSON.stringify(r.json));
    assert.match(r.json.error, /^field "description" is longer than the limit of 1048576 bytes/);
  });

  it('refuses a declared 2.5 GiB registration before reading it, quoting the registration limit, and closes', async () => {
    const r = await sendStreamed(`${kit.url}/v1/models`, { headers: { ...MP, 'content-length': String(2.5 * 1024 * MiB) }, chunks: [REQUIRED], end: false });
    assert.equal(r.status, 413);
    assert.match(r.json!.error, /^registration of 2684354560 bytes is larger than the limit of 3145728 bytes \(maxModelBytes 2097152 for the model \+ maxBodyBytes 1048576 for the rest of the form\)/);
    assert.equal(r.headers.connection, 'close');
  });

  it('stops reading a streamed file as soon as it passes maxModelBytes, quoting that limit', async () => {
    const total = 512 * MiB;
    const r = await sendStreamed(`${kit.url}/v1/models`, { headers: { ...MP, 'transfer-encoding': 'chunked' }, chunks: [REQUIRED, fileHead('model'), ...chunks(total)] });
    assert.equal(r.status, 413, JSON.stringify(r));
    assert.match(r.json!.error, /^file "model" is larger than the limit of 2097152 bytes \(maxModelBytes\)/);
    assert.ok(r.written < 64 * MiB, `the client wrote ${r.written} bytes of ${total} before the server stopped it`);
  });

  it('stops reading a streamed form as soon as it passes the registration limit', async () => {
    const r = await sendStreamed(`${kit.url}/v1/models`, {
      headers: { ...MP, 'transfer-encoding': 'chunked' },
      chunks: [REQUIRED, fileHead('model'), ...chunks(2 * MiB - 65536), Buffer.from('\r\n'), fileHead('validation'), ...chunks(512 * MiB)],
    });
    assert.equal(r.status, 413, JSON.stringify(r));
    assert.match(r.json!.error, /^registration is larger than the limit of 3145728 bytes/);
    assert.ok(r.written < 64 * MiB, `the client wrote ${r.written} bytes`);
  });

  it('refuses other bodies over maxBodyBytes, declared or streamed, quoting that limit', async () => {
    const declared = await sendStreamed(`${kit.url}/v1/infer`, { headers: { 'content-type': 'application/json', 'content-length': String(2.5 * 1024 * MiB) }, chunks: [Buffer.from('{"inputs":[')], end: false });
    assert.equal(declared.status, 413);
    assert.match(declared.json!.error, /^request body of 2684354560 bytes is larger than the limit of 1048576 bytes \(maxBodyBytes\)/);
    const streamed = await sendStreamed(`${kit.url}/v1/infer?variant=x`, { headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, chunks: chunks(512 * MiB) });
    assert.equal(streamed.status, 413, JSON.stringify(streamed));
    assert.match(streamed.json!.error, /^request body is larger than the limit of 1048576 bytes \(maxBodyBytes\)/);
    assert.ok(streamed.written < 64 * MiB, `the client wrote ${streamed.written} bytes`);
  });
});
