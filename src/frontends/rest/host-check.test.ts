// The access check on its own: which Host, Origin and Sec-Fetch-Site headers pass, CORS headers and preflights,
// through Fastify's request pipeline with the REST frontend's error mapping.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import Fastify from 'fastify';
import { InfaasError } from '../../core/errors.ts';
import { HTTP_STATUS } from './errors.ts';
import { accessCheck, type AccessOptions } from './host-check.ts';

async function app(o: AccessOptions) {
  const a = Fastify();
  a.addHook('onRequest', accessCheck(o));
  a.setErrorHandler((e, _req, reply) => (e instanceof InfaasError ? reply.code(HTTP_STATUS[e.code]).send(e.toJSON()) : reply.code(500).send({ error: (e as Error).message })));
  a.get('/v1/health', async () => ({ ok: true }));
  a.post('/v1/variants/:name/unload', async () => ({ unloaded: true }));
  await a.ready();
  return a;
}

const LOOPBACK: AccessOptions = { listenHost: '127.0.0.1' };

describe('access check', () => {
  it('passes the loopback names and IP addresses, with or without a port', async () => {
    const a = await app(LOOPBACK);
    for (const host of ['localhost', 'localhost:8080', 'LOCALHOST:8080', 'localhost.:8080', '127.0.0.1', '127.0.0.1:8080', '[::1]', '[::1]:8080', '10.1.2.3:8080', '[fe80::1]:80']) {
      const r = await a.inject({ method: 'POST', url: '/v1/variants/x/unload', headers: { host } });
      assert.equal(r.statusCode, 200, `${host}: ${r.body}`);
    }
  });

  it('refuses other host names (DNS rebinding) with 403 PERMISSION_DENIED saying what to set', async () => {
    const a = await app(LOOPBACK);
    for (const host of ['evil.example:8080', 'evil.example', 'localhost.evil.example', 'example.localhost', hostname() === 'localhost' ? 'not-this-host' : hostname()]) {
      const r = await a.inject({ method: 'POST', url: '/v1/variants/x/unload', headers: { host } });
      assert.equal(r.statusCode, 403, host);
      assert.equal(r.json().code, 'PERMISSION_DENIED');
      assert.match(r.json().error, /^request for host ".*" refused: this server answers to localhost and its IP addresses; .*server\.allowedHosts \(--allowed-hosts, INFAAS_ALLOWED_HOSTS\); see docs\/security\.md$/);
    }
  });

  it('passes the listen address, this machine\'s name beyond loopback, and allowedHosts (exact, .domain, *)', async () => {
    const named = await app({ listenHost: 'infaas.lan' });
    assert.equal((await named.inject({ url: '/v1/health', headers: { host: 'infaas.lan:8080' } })).statusCode, 200);
    const wildcard = await app({ listenHost: '0.0.0.0', allowedHosts: ['api.internal', '.corp.example'] });
    for (const [host, status] of [[`${hostname()}:8080`, 200], ['api.internal', 200], ['corp.example', 200], ['a.b.corp.example:80', 200], ['xcorp.example', 403], ['api.internal.evil', 403]] as const) {
      assert.equal((await wildcard.inject({ url: '/v1/health', headers: { host } })).statusCode, status, host);
    }
    const refused = await wildcard.inject({ url: '/v1/health', headers: { host: 'evil.example' } });
    assert.match(refused.json().error, new RegExp(`this server answers to localhost, its IP addresses and ${hostname().toLowerCase().replaceAll('.', '\\.')}; `));
    const namedRefused = await named.inject({ url: '/v1/health', headers: { host: 'evil.example' } });
    assert.match(namedRefused.json().error, new RegExp(`this server answers to localhost, its IP addresses, infaas\\.lan and ${hostname().toLowerCase().replaceAll('.', '\\.')}; `));
    const any = await app({ listenHost: '0.0.0.0', allowedHosts: ['*'] });
    assert.equal((await any.inject({ url: '/v1/health', headers: { host: 'evil.example' } })).statusCode, 200);
  });

  it('refuses cross-origin browser requests (CSRF) and cross-site fetches without Origin', async () => {
    const a = await app(LOOPBACK);
    const cases: Array<[Record<string, string>, number, RegExp | undefined]> = [
      [{ host: '127.0.0.1:8080', origin: 'http://evil.example' }, 403, /^cross-origin request from "http:\/\/evil\.example" refused: .*server\.allowedOrigins/],
      [{ host: '127.0.0.1:8080', origin: 'null' }, 403, /cross-origin request from "null" refused/],
      [{ host: '127.0.0.1:8080', origin: 'http://localhost:3000' }, 403, /cross-origin/],
      [{ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8081' }, 403, /cross-origin/],
      [{ host: '127.0.0.1:8080', 'sec-fetch-site': 'cross-site' }, 403, /^cross-site request refused/],
      [{ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-origin' }, 200, undefined], // a page of this server
      [{ host: 'localhost', origin: 'http://localhost' }, 200, undefined],
      [{ host: '127.0.0.1:8080', 'sec-fetch-site': 'none' }, 200, undefined], // typed in the address bar
      [{ host: '127.0.0.1:8080', 'sec-fetch-mode': 'cors' }, 200, undefined], // Node's fetch (the CLI)
    ];
    for (const [headers, status, message] of cases) {
      const r = await a.inject({ method: 'POST', url: '/v1/variants/x/unload', headers });
      assert.equal(r.statusCode, status, `${JSON.stringify(headers)}: ${r.body}`);
      if (message) assert.match(r.json().error, message);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
  });

  it('lets allowed origins call, with CORS headers, and answers their preflights only', async () => {
    const a = await app({ ...LOOPBACK, allowedOrigins: ['https://app.example.com'] });
    const ok = await a.inject({ method: 'POST', url: '/v1/variants/x/unload', headers: { host: '127.0.0.1:8080', origin: 'https://app.example.com' } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(ok.headers.vary, 'Origin');
    const pre = { method: 'OPTIONS', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' };
    const preflight = await a.inject({ method: 'OPTIONS', url: '/v1/variants/x/unload', headers: { host: '127.0.0.1:8080', origin: 'https://app.example.com', ...pre } });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(preflight.headers['access-control-allow-methods'], 'GET, POST');
    assert.equal(preflight.headers['access-control-allow-headers'], 'content-type');
    const refused = await a.inject({ method: 'OPTIONS', url: '/v1/variants/x/unload', headers: { host: '127.0.0.1:8080', origin: 'https://evil.example', ...pre } });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    const any = await app({ ...LOOPBACK, allowedOrigins: ['*'] });
    const anyOk = await any.inject({ method: 'POST', url: '/v1/variants/x/unload', headers: { host: 'localhost:8080', origin: 'https://whatever.example' } });
    assert.equal(anyOk.statusCode, 200);
    assert.equal(anyOk.headers['access-control-allow-origin'], 'https://whatever.example');
  });
});
