// End-to-end tests of the `infaas` CLI: real child processes (`node bin/infaas.mjs …`) against a real HTTP server on
// 127.0.0.1 — the stand-in of src/cli/testing/stand-in-server.ts, not the real INFaaS server (written in parallel).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { encodePng } from '../image/encode-image.ts';
import { startStandIn, type StandIn } from './testing/stand-in-server.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'infaas.mjs');

let server: StandIn;
let dir: string;

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, INFAAS_URL: server.url, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function fill(v: number): Float32Array {
  return new Float32Array(784).fill(v);
}

/** A minimal ONNX model whose only input is float [N,1,28,28] (enough for the CLI to read the input shape). */
function tinyOnnx(): Uint8Array {
  const { onnx } = onnxProto;
  const dim = [{ dimParam: 'N' }, { dimValue: 1 }, { dimValue: 28 }, { dimValue: 28 }];
  return onnx.ModelProto.encode({
    irVersion: 8,
    graph: { name: 'g', input: [{ name: 'input', type: { tensorType: { elemType: 1, shape: { dim } } } }] },
  }).finish();
}

before(async () => {
  server = await startStandIn();
  dir = mkdtempSync(join(tmpdir(), 'infaas-cli-'));
  writeFileSync(join(dir, 'bright.png'), encodePng(fill(1), [1, 28, 28]));
  writeFileSync(join(dir, 'dark.png'), encodePng(fill(0), [1, 28, 28]));
  writeFileSync(join(dir, 'sample.f32'), Buffer.from(fill(0.5).buffer));
  writeFileSync(join(dir, 'model.onnx'), tinyOnnx());
  for (const [cls, v] of [['Trouser', 0.2], ['Bag', 0.8]] as const) {
    mkdirSync(join(dir, 'val', cls), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, 'val', cls, `${i}.png`), encodePng(fill(v), [1, 28, 28]));
  }
  writeFileSync(join(dir, 'labels.txt'), 'T-shirt/top\nTrouser\nPullover\nDress\nCoat\nSandal\nShirt\nSneaker\nBag\nAnkle boot\n');
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('browse: usecases, modarch, modinfo (text and --json), workers', async () => {
  const u = await cli(['usecases']);
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stdout, /classification\/fashion-mnist\s+classification\s+fashion-mnist\s+\[1,28,28\]\s+10\s+1/);

  const m = await cli(['modarch', 'classification', 'fashion-mnist', '--json']);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(JSON.parse(m.stdout).architectures[0].name, 'fmnist-cnn-m');

  const i = await cli(['modinfo', 'fmnist-cnn-m', '--server', server.url]);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /input shape\s+\[1,28,28\]/);
  assert.match(i.stdout, /fmnist-cnn-m\.fp32\.t2\.b16\.all\s+2\s+16\s+all\s+89\.25\s+21\.5\s+0\.412\s+0\.533\s+1\.56/);

  const w = await cli(['workers']);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, /w1\s+fmnist-cnn-m\.fp32\.t1\.b8\.all\s+active/);
});

test('a server error is "error: <message>" on stderr with exit code 1', async () => {
  const r = await cli(['modinfo', 'nope']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'error: architecture nope not found\n');
});

test('query with a PNG at the use-case level prints variant, worker, timing and top-k labels', async () => {
  const r = await cli(['query', '-i', join(dir, 'bright.png'), '-i', join(dir, 'dark.png'), '-t', 'classification', '-D', 'fashion-mnist', '-A', '85', '-l', '5', '--top-k', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^variant\s+fmnist-cnn-m\.fp32\.t1\.b8\.all \(architecture fmnist-cnn-m\)$/m);
  assert.match(r.stdout, /^worker\s+w1$/m);
  assert.match(r.stdout, /^cold start\s+yes$/m);
  assert.match(r.stdout, /queue 0\.012 ms · load 25\.0 ms · inference 0\.410 ms · total 0\.600 ms/);
  assert.match(r.stdout, /\[1\] bright\.png\n\s+Ankle boot\s+0\.910\n/);
  assert.match(r.stdout, /\[2\] dark\.png\n\s+T-shirt\/top\s+0\.910\n/);
  const sent = server.seen.infers.at(-1);
  assert.equal(sent?.batch, 2, 'two images decoded by the server');
  assert.deepEqual([sent?.body?.task, sent?.body?.dataset, sent?.body?.minAccuracy, sent?.body?.latencyMs, sent?.body?.topK], ['classification', 'fashion-mnist', 85, 5, 2]);
});

test('an unsatisfiable SLO (422) prints the alternatives and exits 1; --json also prints the error body', async () => {
  const r = await cli(['online-query', '-i', join(dir, 'bright.png'), '-a', 'fmnist-cnn-m', '-l', '0.1', '--json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: no variant of fmnist-cnn-m meets 0\.1 ms\nalternatives:\n/);
  assert.match(r.stderr, /fastest variant meeting the accuracy:\s+fmnist-cnn-m\.fp32\.t1\.b8\.all \(p95 0\.533 ms, accuracy 89\.25%\)/);
  assert.match(r.stderr, /most accurate variant meeting the latency: fmnist-mlp-s\.fp32\.t1\.b8\.all \(p95 0\.210 ms, accuracy 84\.50%\)/);
  assert.equal(JSON.parse(r.stdout).code, 'SLO_UNSATISFIABLE');
});

test('a raw float32 input goes as application/octet-stream with the selection in the query string; raw outputs print without labels', async () => {
  const r = await cli(['query', '-i', join(dir, 'sample.f32'), '-v', 'x-nolabels.fp32.t1.b1.all', '--max-cost', '0.01']);
  assert.equal(r.code, 0, r.stderr);
  const sent = server.seen.infers.at(-1);
  assert.equal(sent?.contentType, 'application/octet-stream');
  assert.deepEqual({ ...sent?.query }, { variant: 'x-nolabels.fp32.t1.b1.all', maxCostPer1k: '0.01' });
  assert.match(r.stdout, /\[1\] sample\.f32\n\s+probs \[10\]: 0\.01 0\.01 0\.01 0\.01 0\.01 0\.91 0\.01 0\.01 0\.01 0\.01$/m);
});

test('register --validation DIR converts class folders to a .valset, follows progress, prints SUCCEEDED and the variants', async () => {
  const r = await cli(['register', join(dir, 'model.onnx'), '--task', 'classification', '--dataset', 'fashion-mnist', '--arch', 'my-cnn',
    '--validation', join(dir, 'val'), '--labels', join(dir, 'labels.txt'), '--description', 'tiny CNN']);
  assert.equal(r.code, 0, r.stderr);
  const reg = server.seen.registrations.at(-1);
  assert.deepEqual(reg?.fields, { task: 'classification', dataset: 'fashion-mnist', arch: 'my-cnn', description: 'tiny CNN' });
  assert.deepEqual(Object.keys(reg?.files ?? {}).sort(), ['labels', 'model', 'validation']);
  assert.equal(reg?.validationCount, 6);
  assert.deepEqual(reg?.validationClasses, [8, 8, 8, 1, 1, 1], 'Bag = 8 and Trouser = 1 from --labels, folders in sorted order');
  assert.match(r.stderr, /validation: 6 images from .* decoded to \[1,28,28\]/);
  assert.match(r.stderr, /progress \[#####\.\.\.\.\.\] 2\/4 profiling t1 all b8\n/, 'plain progress lines when stderr is not a TTY');
  assert.match(r.stdout, /^SUCCEEDED\nVARIANT\s+THREADS\s+MAX_BATCH\s+OPT\s+ACC_%/);
  assert.match(r.stdout, /my-cnn\.fp32\.t1\.b8\.all\s+1\s+8\s+all\s+89\.25/);
});

test('register: 409 without --replace and a FAILED registration both exit 1 with the reason', async () => {
  const valset = join(dir, 'val');
  const dup = await cli(['register', join(dir, 'model.onnx'), '--task', 'classification', '--dataset', 'fashion-mnist', '--arch', 'fmnist-cnn-m', '--validation', valset]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /error: architecture fmnist-cnn-m already exists \(use --replace\)/);
  const failed = await cli(['register', join(dir, 'model.onnx'), '--task', 'classification', '--dataset', 'fashion-mnist', '--arch', 'broken', '--validation', valset, '--json']);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /error: registration r\d+ failed: profiling crashed: out of memory/);
  assert.equal(JSON.parse(failed.stdout).registration.state, 'FAILED', 'stdout is one JSON document: the registration');
});

test('an unreachable server exits 3 with a hint to start it; usage errors exit 2 before any request', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const down = await cli(['usecases'], { INFAAS_URL: `http://127.0.0.1:${port}` });
  assert.equal(down.code, 3);
  assert.match(down.stderr, new RegExp(`^error: cannot reach the INFaaS server at http://127\\.0\\.0\\.1:${port} .*start it with \`infaas serve\` or \`infaas demo\``));

  const before = server.seen.infers.length;
  const bad = await cli(['query', '-i', join(dir, 'bright.png'), '-a', 'fmnist-cnn-m', '--frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: unknown option --frobnicate for `infaas query`\n\(see `infaas query --help`\)\n$/);
  assert.equal(server.seen.infers.length, before, 'nothing was sent');
});
