// `serve` / `demo` flags for who may call the server: --allowed-hosts and --allowed-origins as comma-separated lists.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from '../args.ts';
import { demoCommand, serveCommand, serverOptions } from './serve.ts';

test('--allowed-hosts and --allowed-origins become lists; an empty one is a usage error', () => {
  const o = serverOptions(parseCommand(serveCommand.spec, ['--host', '0.0.0.0', '--allowed-hosts', 'infaas.lan, .corp.example', '--allowed-origins', 'https://app.example.com']), false, 'serve');
  assert.deepEqual(o.allowedHosts, ['infaas.lan', '.corp.example']);
  assert.deepEqual(o.allowedOrigins, ['https://app.example.com']);
  const demo = serverOptions(parseCommand(demoCommand.spec, []), true, 'demo');
  assert.equal(demo.allowedHosts, undefined);
  assert.equal(demo.allowedOrigins, undefined);
  assert.throws(() => serverOptions(parseCommand(serveCommand.spec, ['--allowed-hosts', ' , ']), false, 'serve'), /--allowed-hosts needs at least one entry/);
});
