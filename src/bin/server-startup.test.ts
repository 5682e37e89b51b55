// `infaas serve` / `infaas demo` that cannot start, as a user runs them (real child processes): each failure exits
// non-zero with one `error:` line saying what to change, and leaves no process, lock file or socket behind; so
// does a SIGINT while the demo is still registering its zoo (exit 0).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type SpawnOptions } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedStore } from '../metadata/embedded/log-store.ts';

const CLI = fileURLToPath(new URL('../../bin/infaas.mjs', import.meta.url));
/** Root ignores file permissions: the runs that need an unwritable directory run as `nobody` then. */
const AS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

interface Run { code: number | null; stderr: string }

/** Runs the CLI to its end. One that never exits (a handle left open) is killed after HANG_MS and fails the test. */
const HANG_MS = 120_000;

function infaas(args: string[], opts: SpawnOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let stderr = '';
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, HANG_MS);
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      if (hung) reject(new Error(`infaas ${args.join(' ')} did not exit after failing:\n${stderr}`));
      else resolve({ code, stderr });
    });
  });
}

function listen(port = 0): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer().listen(port, '127.0.0.1', () => resolve(s));
  });
}
const portOf = (s: Server) => (s.address() as { port: number }).port;
const close = (s: Server) => new Promise((r) => s.close(r));

/** Processes (other than this one) whose command line names `dir`: the server's workers and profiling children do. */
function processesUsing(dir: string): string[] {
  if (!existsSync('/proc/self/cmdline')) return [];
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid).flatMap((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ');
      return cmd.includes(dir) ? [`${p}: ${cmd}`] : [];
    } catch {
      return [];
    }
  });
}

/** Lock and socket files under `dir`. */
function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /(^|\/)meta\.lock$|\.sock$|(^|\/)run$/.test(f));
}

function assertFailedCleanly(run: Run, message: RegExp, dataDir: string, o: { keep?: string[]; label?: string } = {}): void {
  const what = `${o.label ?? ''}\n${run.stderr}`;
  assert.notEqual(run.code, 0, what);
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(errors.length, 1, what);
  assert.match(errors[0], message, what);
  assert.deepEqual(processesUsing(dataDir), [], what);
  assert.deepEqual(leftovers(dataDir).filter((f) => !o.keep?.includes(f)), [], what);
}

/** Starts the CLI, sends `signal` once its stderr matches `when`, and runs it to its end. */
function interrupt(args: string[], when: RegExp, signal: NodeJS.Signals): Promise<Run & { sent: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr, sent });
    });
  });
}

describe('a server that cannot start, or is stopped while starting', () => {
  const root = mkdtempSync(join(tmpdir(), 'infaas-startup-'));
  chmodSync(root, 0o755); // `nobody` reaches the directories made below it
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const dataDir = () => join(root, `d${++n}`);

  it('port in use: says so before starting any worker', async () => {
    const taken = await listen();
    try {
      for (const command of ['serve', 'demo']) {
        const dir = dataDir();
        const run = await infaas([command, '--port', String(portOf(taken)), '--data-dir', dir]);
        assertFailedCleanly(run, new RegExp(`^error: port ${portOf(taken)} on 127\\.0\\.0\\.1 is already in use .*--port`), dir, { label: command });
      }
    } finally {
      await close(taken);
    }
  });

  it('invalid or unreadable infaas.json: names the file and what is wrong', async () => {
    const cases: Array<[string, (dir: string) => void, RegExp]> = [
      ['malformed JSON', (d) => writeFileSync(join(d, 'infaas.json'), '{"port": 80'), /^error: config file .*infaas\.json is not valid JSON/],
      ['a value of the wrong type', (d) => writeFileSync(join(d, 'infaas.json'), '{"workerClasses": "cpu-2"}'), /^error: config file .*infaas\.json: workerClasses must be an array, got string$/],
      ['not an object', (d) => writeFileSync(join(d, 'infaas.json'), '[1, 2]'), /^error: config file .*infaas\.json must hold a JSON object of settings, got array$/],
      ['an invalid setting', (d) => writeFileSync(join(d, 'infaas.json'), '{"autoscaling": {"policy": "fast"}}'), /^error: config: autoscaling\.policy must be one of off, ours, infaas, got "fast"$/],
      ['unreadable (a directory)', (d) => mkdirSync(join(d, 'infaas.json')), /^error: cannot read the config file .*infaas\.json \(EISDIR: .*\)/],
    ];
    for (const [name, spoil, message] of cases) {
      const dir = dataDir();
      mkdirSync(dir);
      spoil(dir);
      const run = await infaas(['serve', '--port', '0', '--data-dir', dir]);
      assertFailedCleanly(run, message, dir, { label: name });
    }
  });

  it('data dir locked by another server: names its pid and leaves its lock alone', async () => {
    const dir = dataDir();
    const holder = await EmbeddedStore.open(dir); // this process holds the lock, as a running server would
    try {
      const run = await infaas(['serve', '--port', '0', '--data-dir', dir]);
      assertFailedCleanly(run, new RegExp(`^error: data dir ${dir} is in use by pid ${process.pid} \\(another infaas server\\?\\): stop it, or give another --data-dir$`), dir, { keep: ['meta.lock'] });
      assert.equal(readFileSync(join(dir, 'meta.lock'), 'utf8').trim(), String(process.pid));
    } finally {
      await holder.close();
    }
  });

  it('data dir not writable, or not creatable', async () => {
    const dir = dataDir();
    mkdirSync(dir, { mode: 0o555 });
    chmodSync(dir, 0o555);
    const run = await infaas(['serve', '--port', '0', '--data-dir', dir], AS_ROOT ? { uid: NOBODY, gid: NOBODY } : {});
    assertFailedCleanly(run, /^error: the data dir .* is not writable by this user \(EACCES: permission denied\): give --data-dir/, dir);
    assert.deepEqual(readdirSync(dir), []);

    const file = join(root, 'a-file');
    writeFileSync(file, '');
    const under = await infaas(['demo', '--port', '0', '--data-dir', join(file, 'data')]);
    assertFailedCleanly(under, /^error: cannot create the data dir .*a-file\/data \(ENOTDIR: not a directory\)/, root);
  });

  it('unreachable Redis (--metadata): says which and gives up', async () => {
    const free = await listen();
    const port = portOf(free);
    await close(free); // nothing listens there now
    const dir = dataDir();
    const run = await infaas(['serve', '--port', '0', '--data-dir', dir, '--metadata', `redis://127.0.0.1:${port}/0`, '--provisioner', 'local']);
    assertFailedCleanly(run, new RegExp(`^error: metadata store \\(redis 127\\.0\\.0\\.1:${port}\\) is unreachable`), dir);
  });

  it('SIGINT while the demo profiles its zoo: stops what started, exits 0, leaves nothing', async () => {
    const dir = dataDir();
    const run = await interrupt(['demo', '--port', '0', '--data-dir', dir, '--autoscale', 'off'], /profiling \d+ zoo artifacts/, 'SIGINT');
    assert.ok(run.sent, run.stderr);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /shutting down/);
    assert.deepEqual(processesUsing(dir), []);
    assert.deepEqual(leftovers(dir), []);
  });

  it('a failure after the workers started (the demo cannot store the zoo) stops them and releases everything', async () => {
    const dir = dataDir();
    const repo = join(root, 'read-only-repository');
    mkdirSync(dir);
    mkdirSync(repo, { mode: 0o555 });
    chmodSync(repo, 0o555);
    if (AS_ROOT) chownSync(dir, NOBODY, NOBODY);
    const run = await infaas(['demo', '--port', '0', '--data-dir', dir, '--repository', repo, '--autoscale', 'off'], AS_ROOT ? { uid: NOBODY, gid: NOBODY } : {});
    assert.match(run.stderr, /worker w1 .* ready/, 'a worker had started');
    assertFailedCleanly(run, /^error: registering the bundled model zoo failed: .*EACCES/, dir);
  });

});
