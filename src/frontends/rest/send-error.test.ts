// Error replies never carry the server's filesystem paths or stack traces: the path scrubber alone, and the whole
// REST edge over real HTTP on loopback, with errors that name a data dir, a socket dir and source files.

import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfaasError } from '../../core/errors.ts';
import { startRestKit, type RestKit } from '../../testing/rest-api.ts';
import { PATH_PLACEHOLDER, pathScrubber } from './send-error.ts';

test('the scrubber replaces a private path and what lies under it, never a longer name or a relative path', () => {
  const scrub = pathScrubber(['/srv/infaas/data', '/', 'relative/dir', '/run/infaas-sock']);
  assert.equal(scrub("cannot open '/srv/infaas/data/models/m.onnx'"), `cannot open '${PATH_PLACEHOLDER}/models/m.onnx'`);
  assert.equal(scrub('dir /srv/infaas/data is full'), `dir ${PATH_PLACEHOLDER} is full`);
  assert.equal(scrub('/srv/infaas/database and /srv/infaas/data.bak'), '/srv/infaas/database and /srv/infaas/data.bak');
  assert.equal(scrub('connect ENOENT /run/infaas-sock/w1.sock'), `connect ENOENT ${PATH_PLACEHOLDER}/w1.sock`);
  assert.equal(scrub('relative/dir stays; / stays'), 'relative/dir stays; / stays');
});

test('the scrubber knows a private path by its real path too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-scrub-'));
  try {
    const link = join(dir, 'link');
    symlinkSync(join(dir), link);
    const scrub = pathScrubber([link]);
    assert.equal(scrub(`${dir}/x and ${link}/y`), `${PATH_PLACEHOLDER}/x and ${PATH_PLACEHOLDER}/y`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('error replies at the REST edge', () => {
  const dataDir = '/var/lib/infaas-test-data';
  const socketDir = join(tmpdir(), 'infaas-Ab12');
  let kit: RestKit;
  let next: Error;
  before(async () => {
    kit = await startRestKit({ rest: { privatePaths: [dataDir, socketDir] }, registryGetError: () => next });
  });
  after(() => kit.close());

  const get = async () => {
    const r = await fetch(`${kit.url}/v1/registrations/r1`);
    return { status: r.status, text: await r.text() };
  };

  it('replaces private paths in the message and in details, and drops stacks', async () => {
    next = new InfaasError('UNAVAILABLE', `worker w1 at ${socketDir}/w1.sock is gone; registration record ${dataDir}/registrations/r1.json`, {
      file: `${dataDir}/models/a/fp32-x.onnx`,
      stack: `Error: boom\n    at read (${process.cwd()}/src/x.ts:1:1)`,
      nested: { tried: [`${socketDir}/w2.sock`], retryAfterMs: 1500 },
    });
    const r = await get();
    assert.equal(r.status, 503);
    assert.ok(!r.text.includes(dataDir) && !r.text.includes(tmpdir()) && !r.text.includes(process.cwd()), r.text);
    const body = JSON.parse(r.text);
    assert.equal(body.error, `worker w1 at ${PATH_PLACEHOLDER}/w1.sock is gone; registration record ${PATH_PLACEHOLDER}/registrations/r1.json`);
    assert.deepEqual(body.details, { file: `${PATH_PLACEHOLDER}/models/a/fp32-x.onnx`, nested: { tried: [`${PATH_PLACEHOLDER}/w2.sock`], retryAfterMs: 1500 } });
  });

  it('names no absolute path at all in a server failure, nor its stack', async () => {
    next = new Error(`ENOENT: no such file or directory, open '/opt/secret/state.json'\n    at open (${process.cwd()}/src/y.ts:2:2)`);
    const r = await get();
    assert.equal(r.status, 500);
    assert.equal(JSON.parse(r.text).error, `ENOENT: no such file or directory, open '${PATH_PLACEHOLDER}'`);
  });

  it('cuts a message of unbounded length', async () => {
    next = new InfaasError('NOT_FOUND', `no registration ${'r'.repeat(100_000)}`, { id: 'i'.repeat(100_000) });
    const r = await get();
    assert.equal(r.status, 404);
    assert.ok(r.text.length < 4000, `${r.text.length} characters`);
    assert.match(JSON.parse(r.text).error, /… \(100016 characters\)$/);
  });
});
