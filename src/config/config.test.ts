// The server's access settings (server.allowedHosts / allowedOrigins): from infaas.json, the environment and
// overrides, merged field by field, and refused with a message naming the entry when malformed.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromEnv, listOf, loadConfig, type InfaasConfig } from './config.ts';

describe('server access settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const withFile = (json: unknown, overrides: Partial<InfaasConfig> = {}) => {
    writeFileSync(join(dir, 'infaas.json'), JSON.stringify(json));
    return loadConfig(dir, overrides);
  };

  it('default to none; come from the file, the environment, then flags, field by field', () => {
    assert.deepEqual(withFile({}).server, { allowedHosts: [], allowedOrigins: [] });
    const file = { server: { allowedHosts: ['infaas.lan'], allowedOrigins: ['https://app.example.com'] } };
    assert.deepEqual(withFile(file).server, file.server);
    const env = configFromEnv({ INFAAS_ALLOWED_HOSTS: ' a.internal, .corp.example ,' });
    assert.deepEqual(env.server, { allowedHosts: ['a.internal', '.corp.example'] });
    assert.deepEqual(withFile(file, env).server, { allowedHosts: ['a.internal', '.corp.example'], allowedOrigins: ['https://app.example.com'] });
    assert.deepEqual(configFromEnv({ INFAAS_ALLOWED_ORIGINS: '*' }).server, { allowedOrigins: ['*'] });
    assert.equal(configFromEnv({ INFAAS_ALLOWED_HOSTS: ' , ' }).server, undefined);
    assert.equal(listOf(undefined), undefined);
  });

  it('refuse entries that are not host names or origins, saying what to write', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ allowedHosts: 'infaas.lan' }, /server\.allowedHosts must be an array of host names/],
      [{ allowedHosts: ['http://infaas.lan'] }, /server\.allowedHosts: "http:\/\/infaas\.lan" is not a host name: .*no scheme, port or path/],
      [{ allowedHosts: ['infaas.lan:8080'] }, /"infaas\.lan:8080" is not a host name/],
      [{ allowedOrigins: ['https://app.example.com/'] }, /server\.allowedOrigins: "https:\/\/app\.example\.com\/" is not an origin: .*no path, no final \//],
      [{ allowedOrigins: ['app.example.com'] }, /"app\.example\.com" is not an origin/],
      [{ allowedOrigins: ['https://App.example.com'] }, /is not an origin: give scheme:\/\/host\[:port\] in lower case/],
      [{ allowedOrigins: ['ftp://app.example.com'] }, /is not an origin/],
    ];
    for (const [server, message] of bad) assert.throws(() => withFile({ server }), message, JSON.stringify(server));
    assert.throws(() => withFile({ server: [] }), /server must be an object, got array/);
    for (const ok of [['*'], ['.example.com', 'infaas', '10.0.0.2', '[::1]']]) assert.deepEqual(withFile({ server: { allowedHosts: ok } }).server.allowedHosts, ok);
    assert.deepEqual(withFile({ server: { allowedOrigins: ['http://localhost:3000', '*'] } }).server.allowedOrigins, ['http://localhost:3000', '*']);
  });
});
