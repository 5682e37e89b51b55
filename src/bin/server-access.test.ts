// The default server refuses what a hostile web page could send it (docs/security.md), over real HTTP on
// loopback: a DNS-rebinding request (Host: evil.example) and a cross-origin one (Origin: http://evil.example) get
// 403 before any route runs, while the CLI, requests without Host and the allowed origin's preflights pass.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from './server.ts';

const CLI = fileURLToPath(new URL('../../bin/infaas.mjs', import.meta.url));

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One request with exactly these headers (fetch would set Host and Origin itself). */
function send(url: string, method: string, path: string, headers: Record<string, string>): Promise<Reply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP/1.0 request with no Host header at all, as a bare client may send. */
function sendWithoutHost(url: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(`GET ${path} HTTP/1.0\r\n\r\n`));
    let text = '';
    socket.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve(text)).on('error', reject);
  });
}

function infaas(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}

describe('access from browsers', () => {
  let dataDir: string;
  let server: RunningServer;
  let port: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'infaas-access-'));
    server = await startServer({ dataDir, demo: false, config: { port: 0, autoscaling: { policy: 'off', maxWorkers: 1 } }, allowedOrigins: ['https://app.example.com'], env: { INFAAS_ALLOWED_HOSTS: 'infaas.test' } });
    port = new URL(server.url).port;
  });
  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a DNS-rebinding page (Host and Origin evil.example) before unload or registration runs', async () => {
    const evil = { host: `evil.example:${port}`, origin: `http://evil.example:${port}` };
    const unload = await send(server.url, 'POST', '/v1/variants/some-variant/unload', evil);
    assert.equal(unload.status, 403, unload.body);
    assert.deepEqual(Object.keys(JSON.parse(unload.body)).sort(), ['code', 'details', 'error']);
    assert.equal(JSON.parse(unload.body).code, 'PERMISSION_DENIED');
    assert.match(JSON.parse(unload.body).error, /^request for host "evil\.example:\d+" refused/);
    const register = await send(server.url, 'POST', '/v1/models', { ...evil, 'content-type': 'multipart/form-data; boundary=x' });
    assert.equal(register.status, 403, register.body);
    // The same request naming this server reaches the route (which knows no such variant).
    const mine = await send(server.url, 'POST', '/v1/variants/some-variant/unload', { host: `127.0.0.1:${port}` });
    assert.equal(mine.status, 404, mine.body);
  });

  it('refuses a cross-origin page (CSRF) and answers the allowed origin with CORS', async () => {
    const csrf = await send(server.url, 'POST', '/v1/variants/some-variant/unload', { host: `127.0.0.1:${port}`, origin: 'http://evil.example' });
    assert.equal(csrf.status, 403, csrf.body);
    assert.match(JSON.parse(csrf.body).error, /^cross-origin request from "http:\/\/evil\.example" refused/);
    const preflight = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' };
    const refused = await send(server.url, 'OPTIONS', '/v1/infer', { host: `localhost:${port}`, origin: 'http://evil.example', ...preflight });
    assert.equal(refused.status, 403);
    const allowed = await send(server.url, 'OPTIONS', '/v1/infer', { host: `localhost:${port}`, origin: 'https://app.example.com', ...preflight });
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
    const call = await send(server.url, 'GET', '/v1/workers', { host: `localhost:${port}`, origin: 'https://app.example.com' });
    assert.equal(call.status, 200);
    assert.equal(call.headers['access-control-allow-origin'], 'https://app.example.com');
    // An error reply to the allowed origin is readable by its page too.
    const missing = await send(server.url, 'GET', '/v1/variants/none', { host: `localhost:${port}`, origin: 'https://app.example.com' });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['access-control-allow-origin'], 'https://app.example.com');
  });

  it('serves clients that are not browsers: the CLI (by address and by localhost), requests without Host, allowed host names', async () => {
    for (const url of [server.url, `http://localhost:${port}`]) {
      const workers = await infaas('workers', '--server', url, '--json');
      assert.equal(workers.code, 0, workers.stderr);
      assert.equal(JSON.parse(workers.stdout).workers.length, 1);
    }
    assert.match(await sendWithoutHost(server.url, '/v1/health'), /^HTTP\/1\.[01] 200/);
    const named = await send(server.url, 'GET', '/v1/health', { host: `infaas.test:${port}` });
    assert.equal(named.status, 200, named.body);
  });
});
