// The `infaas` CLI as a user runs it (a real child process) against the real server (real workers, real ORT):
// register with profiling, browse, query at each level with an image, and the error paths' exit codes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../bin/server.ts';
import { ZOO_DIR, readZooManifest } from '../zoo/manifest.ts';

const CLI = new URL('../../bin/infaas.mjs', import.meta.url).pathname;
const EXAMPLES = new URL('../../examples/fashion-mnist/', import.meta.url).pathname;

/** Runs the CLI asynchronously (the server lives in this process, so a blocking spawn would deadlock it). */
function infaas(server: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args, '--server', server], { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('CLI against the real server', () => {
  let dataDir: string;
  let server: RunningServer;
  const uc = readZooManifest().useCases.find((u) => u.dataset === 'fashion-mnist')!;
  const cnn = uc.architectures.find((a) => a.name === 'fmnist-cnn-s')!;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'infaas-cli-'));
    server = await startServer({ dataDir, demo: false, config: { port: 0, profiling: { threads: [1], maxBatch: [1, 4], optLevels: ['all'], runs: 5, warmup: 1 } } });
  });
  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('registers a model, profiles it, and prints SUCCEEDED with the variant table', async () => {
    const r = await infaas(
      server.url, 'register', join(ZOO_DIR, cnn.artifacts[0].file), '--task', 'classification', '--dataset', 'fashion-mnist',
      '--arch', 'fmnist-cnn-s', '--validation', join(ZOO_DIR, uc.validation), '--labels', join(ZOO_DIR, uc.labels),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /SUCCEEDED/);
    assert.match(r.stdout, /fmnist-cnn-s\.fp32\.t1\.b4\.all/);
    const again = await infaas(server.url, 'register', join(ZOO_DIR, cnn.artifacts[0].file), '--task', 'classification', '--dataset', 'fashion-mnist', '--arch', 'fmnist-cnn-s', '--validation', join(ZOO_DIR, uc.validation));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already registered/);
  });

  it('browses with modarch and modinfo (text and --json)', async () => {
    const modarch = await infaas(server.url, 'modarch', 'classification', 'fashion-mnist', '--json');
    assert.equal(modarch.code, 0, modarch.stderr);
    assert.deepEqual(JSON.parse(modarch.stdout).architectures.map((a: { name: string }) => a.name), ['fmnist-cnn-s']);
    const modinfo = await infaas(server.url, 'modinfo', 'fmnist-cnn-s');
    assert.equal(modinfo.code, 0, modinfo.stderr);
    assert.match(modinfo.stdout, /fmnist-cnn-s\.fp32\.t1\.b1\.all/);
  });

  it('queries at all three levels with images and reports labels, variant and timing', async () => {
    const levels = [
      ['-v', 'fmnist-cnn-s.fp32.t1.b4.all'],
      ['-a', 'fmnist-cnn-s', '-l', '1000'],
      ['-t', 'classification', '-D', 'fashion-mnist', '-A', '50', '-l', '1000'],
    ];
    for (const level of levels) {
      const r = await infaas(server.url, 'query', '-i', join(EXAMPLES, 'ankle-boot.png'), '-i', join(EXAMPLES, 'trouser.png'), ...level, '--json');
      assert.equal(r.code, 0, `${level}: ${r.stderr}`);
      const reply = JSON.parse(r.stdout);
      assert.equal(reply.batch, 2);
      assert.equal(reply.arch, 'fmnist-cnn-s');
      assert.equal(reply.predictions[0][0].label, 'Ankle boot');
      assert.equal(reply.predictions[1][0].label, 'Trouser');
      assert.ok(reply.timing.totalMs > 0);
    }
  });

  it('exits non-zero with a clear message for an impossible SLO and an unknown model', async () => {
    const slo = await infaas(server.url, 'query', '-i', join(EXAMPLES, 'ankle-boot.png'), '-t', 'classification', '-D', 'fashion-mnist', '-A', '99.9', '-l', '1');
    assert.equal(slo.code, 1);
    assert.match(slo.stderr, /error: .*99\.9%/);
    const unknown = await infaas(server.url, 'modinfo', 'no-such-arch');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown architecture "no-such-arch"/);
  });
});
