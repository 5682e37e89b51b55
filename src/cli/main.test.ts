// In-process tests of the CLI dispatcher: help on every command, usage errors (exit 2) and serve/demo wiring.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliContext, ServerOptions } from './cli-context.ts';
import type { WorkerOptions } from '../provisioner/worker-options.ts';
import { COMMANDS, runCli } from './main.ts';

function fakeCtx(env: Record<string, string> = {}) {
  const out = { stdout: '', stderr: '', served: [] as ServerOptions[], workers: [] as WorkerOptions[] };
  const ctx: CliContext = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    stderrIsTTY: false,
    env,
    loadServer: async () => async (opts) => void out.served.push(opts),
    loadWorker: async () => async (opts) => void out.workers.push(opts),
  };
  return { ctx, out };
}

async function run(argv: string[]) {
  const { ctx, out } = fakeCtx();
  const code = await runCli(argv, ctx);
  return { code, ...out };
}

test('`infaas help` and `--help` list every command; no command prints help to stderr with exit 2', async () => {
  for (const argv of [['help'], ['--help'], ['-h']]) {
    const r = await run(argv);
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^ {2}${c.spec.name}\\s`, 'm'));
  }
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: infaas <command>/);
});

test('every command has --help with a usage line and an example', async () => {
  for (const c of COMMANDS) {
    const r = await run([c.spec.name, '--help']);
    assert.equal(r.code, 0, c.spec.name);
    assert.match(r.stdout, new RegExp(`^usage: infaas ${c.spec.name}`), c.spec.name);
    assert.match(r.stdout, /\nexamples:\n {2}infaas /, c.spec.name);
    if (c.spec.client) assert.match(r.stdout, /--server URL/);
  }
  const viaHelp = await run(['help', 'online-query']);
  assert.match(viaHelp.stdout, /^usage: infaas query -i INPUT/);
});

test('unknown commands and options are usage errors (exit 2) with a pointer to help', async () => {
  const cmd = await run(['modarh', 'a', 'b']);
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /^error: unknown command "modarh" — did you mean `modarch`\?/);
  const opt = await run(['workers', '--verbose']);
  assert.equal(opt.code, 2);
  assert.equal(opt.stderr, 'error: unknown option --verbose for `infaas workers`\n(see `infaas workers --help`)\n');
  const missing = await run(['query', '-i']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: option -i, --input needs a value/);
  const positional = await run(['modarch', 'classification']);
  assert.equal(positional.code, 2);
  assert.match(positional.stderr, /missing arguments: usage: infaas modarch <task> <dataset>/);
  const extra = await run(['modinfo', 'a', 'b']);
  assert.match(extra.stderr, /unexpected argument "b"/);
  const server = await run(['usecases', '--server', 'ftp://x']);
  assert.equal(server.code, 2);
  assert.match(server.stderr, /--server must be an http\(s\) URL/);
});

test('register flags: required fields, exactly one of --validation / --profile, precision, shape', async () => {
  const cases: [string[], RegExp][] = [
    [['register', 'm.onnx', '--dataset', 'd', '--arch', 'a', '--profile', 'p.json'], /missing --task/],
    [['register', 'm.onnx', '--task', 't', '--dataset', 'd', '--arch', 'a'], /give --validation FILE\|DIR .* or --profile FILE/],
    [['register', 'm.onnx', '--task', 't', '--dataset', 'd', '--arch', 'a', '--validation', 'v', '--profile', 'p'], /either --validation or --profile, not both/],
    [['register', 'm.onnx', '--task', 't', '--dataset', 'd', '--arch', 'a', '--profile', 'p', '--precision', 'fp16'], /--precision must be fp32 or int8/],
    [['register', 'm.onnx', '--task', 't', '--dataset', 'd', '--arch', 'a', '--validation', 'v', '--shape', '1,x,28'], /--shape must be positive integers/],
    [['register', '/nonexistent/m.onnx', '--task', 't', '--dataset', 'd', '--arch', 'a', '--profile', 'p'], /cannot read model \/nonexistent\/m\.onnx: ENOENT/],
    [['register', '--task', 't', '--dataset', 'd', '--arch', 'a', '--profile', 'p'], /missing arguments/],
  ];
  for (const [argv, re] of cases) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, re, argv.join(' '));
  }
});

test('query flags: missing level, mixed levels, bad numbers, missing inputs', async () => {
  const cases: [string[], RegExp][] = [
    [['query', '-i', 'x.png'], /say what to run: one of: -v VARIANT \| -a ARCH -l MS/],
    [['query', '-i', 'x.png', '-v', 'v1', '-t', 'classification'], /choose one selection level, not -v and -t\/-D\/-A/],
    [['query', '-i', 'x.png', '-a', 'arch'], /-a ARCH needs a latency SLO: add -l MS/],
    [['query', '-i', 'x.png', '-t', 'c', '-D', 'd', '-l', '5'], /missing -A PCT/],
    [['query', '-i', 'x.png', '-t', 'c', '-A', '80'], /missing -D DATASET, -l MS/],
    [['query', '-i', 'x.png', '-a', 'arch', '-l', 'fast'], /--latency must be a number, got "fast"/],
    [['query', '-i', 'x.png', '-a', 'arch', '-l', '0'], /--latency must be greater than 0/],
    [['query', '-i', 'x.png', '-t', 'c', '-D', 'd', '-A', '120', '-l', '5'], /--accuracy must be at most 100/],
    [['query', '-i', 'x.png', '-v', 'v1', '--top-k', '1.5'], /--top-k must be a whole number/],
    [['query', '-i', 'x.png', '-v', 'v1', '--max-cost', '-1'], /--max-cost/],
    [['query', '-v', 'v1', '-l', '5'], /-l\/--latency does not apply to an exact variant/],
    [['query', '-v', 'v1'], /give at least one input with -i FILE/],
    [['query', '-v', 'v1', '-i', '/nonexistent.png'], /cannot read input \/nonexistent\.png: ENOENT/],
  ];
  for (const [argv, re] of cases) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, re, argv.join(' '));
  }
});

test('serve and demo call the lazily loaded runServer with the parsed options', async () => {
  const a = await run(['serve', '--port', '9000', '--host', '0.0.0.0', '--data-dir', '/tmp/x']);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(a.served, [{ demo: false, port: 9000, host: '0.0.0.0', dataDir: '/tmp/x' }]);
  const b = await run(['demo']);
  assert.deepEqual(b.served, [{ demo: true, dataDir: `${process.cwd()}/.infaas` }]);
  const bad = await run(['serve', '--port', '70000']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--port must be at most 65535/);
});

test('serve takes the distributed-mode flags; worker needs a metadata store and parses its flags', async () => {
  const a = await run(['serve', '--metadata', 'redis://r:6379/0', '--repository', 's3://b/p', '--provisioner', 'none', '--id', 'c2']);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(a.served, [{ demo: false, metadata: 'redis://r:6379/0', repository: 's3://b/p', provisioner: 'none', controllerId: 'c2', dataDir: `${process.cwd()}/.infaas` }]);
  const badKind = await run(['serve', '--provisioner', 'docker']);
  assert.equal(badKind.code, 2);
  assert.match(badKind.stderr, /--provisioner must be one of local, kubernetes, none/);
  const w = await run(['worker', '--metadata', 'redis://r:6379/0', '--listen', '0.0.0.0:7171', '--advertise', '10.1.2.3:7171', '--class', 'cpu-1', '--id', 'h1']);
  assert.equal(w.code, 0, w.stderr);
  assert.deepEqual(w.workers, [{ id: 'h1', workerClass: 'cpu-1', listen: { host: '0.0.0.0', port: 7171 }, metadata: 'redis://r:6379/0', advertise: '10.1.2.3:7171' }]);
  const noStore = await run(['worker', '--class', 'cpu-1']);
  assert.equal(noStore.code, 2);
  assert.match(noStore.stderr, /--metadata redis:\/\/HOST:PORT\/DB is required/);
  const badListen = await run(['worker', '--metadata', 'redis://r:6379/0', '--listen', '7070']);
  assert.equal(badListen.code, 2);
  assert.match(badListen.stderr, /--listen must be HOST:PORT/);
});
