// Configuration: infaas.json merged key by key over the defaults, then the environment and flags; every key checked
// against the schema (types, ranges, unknown keys with a suggestion) with messages naming the key path; docs in step.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_SCHEMA, configFromEnv, defaultConfig, listOf, loadConfig, type InfaasConfig } from './config.ts';
import { keyPaths } from './schema.ts';
import { InfaasError } from '../core/errors.ts';

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
      [{ allowedHosts: 'infaas.lan' }, /infaas\.json: server\.allowedHosts must be an array, got string$/],
      [{ allowedHosts: ['http://infaas.lan'] }, /server\.allowedHosts\[0\] must be a host name .*\(no scheme, port or path\).*, got "http:\/\/infaas\.lan"$/],
      [{ allowedHosts: ['a', 'infaas.lan:8080'] }, /allowedHosts\[1\] must be a host name .*, got "infaas\.lan:8080"$/],
      [{ allowedOrigins: ['https://app.example.com/'] }, /server\.allowedOrigins\[0\] must be an origin: .*\(no path, no final \/\).*, got "https:\/\/app\.example\.com\/"$/],
      [{ allowedOrigins: ['app.example.com'] }, /must be an origin.*, got "app\.example\.com"$/],
      [{ allowedOrigins: ['https://App.example.com'] }, /must be an origin: scheme:\/\/host\[:port\] in lower case/],
      [{ allowedOrigins: ['ftp://app.example.com'] }, /must be an origin/],
    ];
    for (const [server, message] of bad) assert.throws(() => withFile({ server }), message, JSON.stringify(server));
    assert.throws(() => withFile({ server: [] }), /server must be an object, got array/);
    for (const ok of [['*'], ['.example.com', 'infaas', '10.0.0.2', '[::1]']]) assert.deepEqual(withFile({ server: { allowedHosts: ok } }).server.allowedHosts, ok);
    assert.deepEqual(withFile({ server: { allowedOrigins: ['http://localhost:3000', '*'] } }).server.allowedOrigins, ['http://localhost:3000', '*']);
  });
});

describe('infaas.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const load = (text: string, overrides: Partial<InfaasConfig> = {}) => {
    writeFileSync(join(dir, 'infaas.json'), text);
    return loadConfig(dir, overrides);
  };
  const refused = (text: string, message: RegExp, overrides: Partial<InfaasConfig> = {}) => assert.throws(() => load(text, overrides), (e: unknown) => {
    assert.ok(e instanceof InfaasError && e.code === 'INVALID_ARGUMENT', String(e));
    assert.match(e.message, message, text.slice(0, 100));
    return true;
  });

  it('merges objects key by key at every depth; arrays replace the default', () => {
    const defaults = defaultConfig(dir);
    const c = load('{"profiling": {"threads": [1], "maxBatch": [1], "optLevels": ["all"]}, "initialWorkers": {"count": 2}}');
    assert.deepEqual(c.profiling, { threads: [1], maxBatch: [1], optLevels: ['all'], runs: defaults.profiling.runs, warmup: defaults.profiling.warmup });
    assert.deepEqual(c.initialWorkers, { workerClass: 'cpu-2', count: 2 });
    assert.deepEqual(load('{"profiling": {"runs": 3}}', { profiling: { warmup: 0 } as never }).profiling, { ...defaults.profiling, runs: 3, warmup: 0 }, 'flags over the file, key by key');
    assert.deepEqual(load('{"workerClasses": [{"name": "big", "threads": 8, "memoryMB": 8192, "pricePerHour": 0.4}], "initialWorkers": {"workerClass": "big"}}').workerClasses.map((w) => w.name), ['big']);
    const k8s = load('{"provisioner": {"kubernetes": {"workerPort": 7071}}}', { ...configFromEnv({ INFAAS_K8S_NAMESPACE: 'ml' }), metadata: 'redis://r:6379/0' });
    assert.deepEqual(k8s.provisioner, { kind: 'local', kubernetes: { workerPort: 7071, namespace: 'ml' } });
    assert.equal(load('{}').dataDir, dir);
  });

  it('refuses a value out of its range, naming the key path and what it may be', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"maxBodyBytes": -1}', /^config: maxBodyBytes must be an integer >= 1, got -1$/],
      ['{"maxModelBytes": 1.5}', /^config: maxModelBytes must be an integer >= 1, got 1\.5$/],
      ['{"workerTimeoutMs": 0}', /^config: workerTimeoutMs must be > 0, a whole number of ms up to 2147483647, got 0$/],
      ['{"workerTimeoutMs": 3000000000}', /workerTimeoutMs must be > 0, a whole number of ms up to 2147483647, got 3000000000$/],
      ['{"profiling": {"threads": [1e999]}}', /^config: profiling\.threads\[0\] must be an integer from 1 to 1024, got Infinity$/],
      ['{"profiling": {"maxBatch": [1, 0]}}', /^config: profiling\.maxBatch\[1\] must be an integer from 1 to 65536, got 0$/],
      ['{"profiling": {"optLevels": []}}', /^config: profiling\.optLevels must be a non-empty array of "basic" or "all", got \[\]$/],
      ['{"profiling": {"optLevels": ["fast"]}}', /^config: profiling\.optLevels\[0\] must be one of basic, all, got "fast"$/],
      ['{"profiling": {"warmup": -1}}', /profiling\.warmup must be an integer from 0 to 100000, got -1$/],
      ['{"port": 65536}', /^config: port must be an integer from 0 to 65535, got 65536$/],
      ['{"workerClasses": []}', /^config: workerClasses must be a non-empty array of worker classes/],
      ['{"workerClasses": [{"name": "a", "threads": 1, "pricePerHour": 0}]}', /^config: workerClasses\[0\]\.memoryMB is missing: it must be an integer >= 1$/],
      ['{"workerClasses": [{"name": "a b", "threads": 1, "memoryMB": 1, "pricePerHour": 0}]}', /workerClasses\[0\]\.name must be a worker class name: 1-63 letters/],
      ['{"leaseMs": 499}', /^config: leaseMs must be >= 500, a whole number of ms/],
      ['{"imageDecodeThreads": 0}', /^config: imageDecodeThreads must be an integer from 1 to 64, got 0$/],
      ['{"provisioner": {"kubernetes": {"deployments": {"cpu-2": "Workers"}}}}', /^config: provisioner\.kubernetes\.deployments\["cpu-2"\] must be a Deployment name: lower-case/],
      ['{"metadata": "localhost:6379"}', /^config: metadata must be a redis:\/\/ or rediss:\/\/ URL/],
    ];
    for (const [text, message] of cases) refused(text, message);
    refused('{}', /^config: port must be an integer from 0 to 65535, got NaN$/, { port: Number('x') });
  });

  it('refuses wrong JSON types and unknown keys as read, naming the file, with the closest key', () => {
    refused('{"profiling": {"threads": "1,2"}}', /^config file .*infaas\.json: profiling\.threads must be an array, got string$/);
    refused('{"profiling": {"threads": [1, "2"]}}', /infaas\.json: profiling\.threads\[1\] must be a number, got string$/);
    refused('{"profiling": null}', /infaas\.json: profiling must be an object, got null$/);
    refused('{"profiling": {"thread": [1]}}', /infaas\.json: unknown setting "profiling\.thread" \(did you mean "profiling\.threads"\?\)$/);
    refused('{"prot": 8081}', /unknown setting "prot" \(did you mean "port"\?\)$/);
    refused('{"MaxBodyBytes": 1}', /\(did you mean "maxBodyBytes"\?\)$/);
    refused('{"autoscaling": {"zzz": 1}}', /unknown setting "autoscaling\.zzz"; autoscaling takes policy, maxWorkers, idleUnloadMs, schedule$/);
    refused('{"__proto__": {"port": 1}}', /unknown setting "__proto__"; the settings are host, port, /);
    refused('{"dataDir": "/elsewhere"}', /dataDir is not read from infaas\.json .*give --data-dir$/);
    refused('{}', /^config: unknown setting "profiling\.run" \(did you mean "profiling\.runs"\?\)$/, { profiling: { run: 1 } as never });
  });

  it('quotes at most an excerpt of a long value or key', () => {
    const long = 'x'.repeat(1000);
    for (const text of [`{"provisioner": {"kind": "${long}"}}`, `{"${long}": 1}`, `{"provisioner": {"kubernetes": {"deployments": {"${long}": 1}}}}`,
      `{"autoscaling": {"schedule": {"windows": [{"start": "${long}", "durationS": 1, "qps": 1}]}}}`, `{"autoscaling": {"schedule": {"windows": [{"${long}": 1}]}}}`]) {
      assert.throws(() => load(text), (e: unknown) => e instanceof Error && !e.message.includes('x'.repeat(100)) && /\(1000 characters\)/.test(e.message));
    }
  });

  it('checks the keys that depend on each other', () => {
    const two = '{"name": "c", "threads": 2, "memoryMB": 1, "pricePerHour": 0}';
    refused(`{"workerClasses": [${two}, ${two}], "initialWorkers": {"workerClass": "c"}}`, /^config: workerClasses: two classes are named "c"$/);
    refused(`{"workerClasses": [${two}]}`, /^config: initialWorkers\.workerClass "cpu-2" is not one of the workerClasses \(c\)$/);
    refused('{"profiling": {"threads": [1, 8]}}', /^config: profiling\.threads\[1\] is 8, but no worker class has that many threads \(the most is 4\)$/);
    refused('{"initialWorkers": {"count": 3}, "autoscaling": {"maxWorkers": 2}}', /autoscaling\.maxWorkers must be an integer >= initialWorkers\.count \(3\), got 2$/);
  });

  it('every key is documented in docs/configuration.md, and its example loads', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const paths = keyPaths(CONFIG_SCHEMA).filter((p) => p !== 'dataDir');
    const leaves = paths.filter((p) => !paths.some((q) => q.startsWith(`${p}.`) || q.startsWith(`${p}[]`)));
    assert.deepEqual(leaves.filter((p) => !doc.includes(`\`${p}\``)), [], 'keys missing from docs/configuration.md');
    const example = /A complete `<data-dir>\/infaas\.json`[^\n]*\n\n```json\n([\s\S]*?)```/.exec(doc);
    assert.ok(example, 'the example block');
    const c = load(example[1]);
    assert.equal(c.autoscaling.maxWorkers, 4);
  });
});
