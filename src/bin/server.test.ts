// End to end over real HTTP on loopback: a real server with real worker processes, real ONNX Runtime sessions
// and the committed zoo; registration (multipart), browsing, all three query levels, bad input, restart.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './server.ts';
import { ZOO_DIR, readZooManifest } from '../zoo/manifest.ts';
import { encodePng } from '../image/encode-image.ts';
import { decodeValidationSet } from '../core/validation-set.ts';
import * as ort from 'onnxruntime-node';

const FAST_GRID = { threads: [1], maxBatch: [1, 8], optLevels: ['all' as const], runs: 5, warmup: 1 };
const FMNIST = 'fashion-mnist';

function zooFile(rel: string): Buffer {
  return readFileSync(join(ZOO_DIR, rel));
}

function form(fields: Record<string, string>, files: Record<string, Uint8Array>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  for (const [k, v] of Object.entries(files)) f.append(k, new Blob([new Uint8Array(v)]), k);
  return f;
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

async function registerAndWait(base: string, fields: Record<string, string>, files: Record<string, Uint8Array>): Promise<any> {
  const r = await fetch(`${base}/v1/models`, { method: 'POST', body: form(fields, files) });
  const body: any = await r.json();
  assert.ok(r.status === 202 || r.status === 201, `register: ${r.status} ${JSON.stringify(body)}`);
  let reg = body.registration;
  while (reg.state === 'PROFILING') {
    await new Promise((res) => setTimeout(res, 50));
    reg = ((await (await fetch(`${base}/v1/registrations/${reg.id}`)).json()) as any).registration;
  }
  return reg;
}

describe('server end to end', () => {
  let dataDir: string;
  let server: RunningServer;
  let base: string;
  const manifest = readZooManifest();
  const uc = manifest.useCases.find((u) => u.dataset === FMNIST)!;
  const valset = zooFile(uc.validation);
  const labels = zooFile(uc.labels!);
  const val = decodeValidationSet(valset);
  const sample = (i: number) => Array.from(val.inputs.subarray(i * 784, (i + 1) * 784));
  const archFile = (name: string) => zooFile(uc.architectures.find((a) => a.name === name)!.artifacts.find((x) => x.precision === 'fp32')!.file);

  /** The same file run directly in ONNX Runtime: what the server must answer. */
  const rawProbs = async (arch: string, samples: number[][]): Promise<number[]> => {
    const session = await ort.InferenceSession.create(join(ZOO_DIR, uc.architectures.find((a) => a.name === arch)!.artifacts[0].file));
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(samples.flat()), [samples.length, 1, 28, 28]) });
    await session.release();
    return Array.from(out[session.outputNames[0]].data as Float32Array);
  };
  const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'infaas-e2e-'));
    server = await startServer({ dataDir, demo: false, config: { port: 0, profiling: FAST_GRID } });
    base = server.url;
  });
  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('registers models with automatic profiling and lists them', async () => {
    for (const arch of ['fmnist-linear', 'fmnist-cnn-m']) {
      const reg = await registerAndWait(
        base,
        { task: 'classification', dataset: FMNIST, arch },
        { model: archFile(arch), validation: valset, labels },
      );
      assert.equal(reg.state, 'SUCCEEDED', reg.error);
      assert.equal(reg.variants.length, 2);
      const measured = reg.variants[0].profile.accuracy;
      const expected = uc.architectures.find((a) => a.name === arch)!.artifacts[0].accuracy;
      assert.ok(Math.abs(measured - expected) < 0.01, `${arch} accuracy ${measured} vs manifest ${expected}`);
    }
    const modarch: any = await (await fetch(`${base}/v1/usecases/classification/${FMNIST}/architectures`)).json();
    assert.deepEqual(modarch.architectures.map((a: any) => a.name), ['fmnist-cnn-m', 'fmnist-linear']);
    const modinfo: any = await (await fetch(`${base}/v1/architectures/fmnist-cnn-m`)).json();
    assert.equal(modinfo.variants.length, 2);
    assert.deepEqual(modinfo.useCase.inputShape, [1, 28, 28]);
  });

  it('re-registering an existing name is refused without replace', async () => {
    const r = await fetch(`${base}/v1/models`, { method: 'POST', body: form({ task: 'classification', dataset: FMNIST, arch: 'fmnist-linear' }, { model: archFile('fmnist-linear'), validation: valset }) });
    assert.equal(r.status, 409);
    assert.match(((await r.json()) as any).error, /already registered.*--replace/);
  });

  it('answers all three query levels with outputs, labels, variant, worker and timing', async () => {
    const exact = await post(`${base}/v1/infer`, { variant: 'fmnist-cnn-m.fp32.t1.b8.all', inputs: [sample(0), sample(1)] });
    assert.equal(exact.status, 200, JSON.stringify(exact.json));
    assert.equal(exact.json.batch, 2);
    assert.deepEqual(exact.json.outputs[0].shape, [2, 10]);
    const direct = await rawProbs('fmnist-cnn-m', [sample(0), sample(1)]);
    exact.json.outputs[0].data.forEach((v: number, i: number) => assert.ok(Math.abs(v - direct[i]) < 1e-5, `output ${i}: ${v} vs ${direct[i]}`));
    assert.equal(exact.json.predictions[0][0].index, argmax(direct.slice(0, 10)));
    assert.equal(typeof exact.json.predictions[0][0].label, 'string');
    assert.ok(exact.json.timing.totalMs >= exact.json.timing.inferenceMs);

    const arch = await post(`${base}/v1/infer`, { arch: 'fmnist-linear', latencyMs: 1000, inputs: [sample(2)] });
    assert.equal(arch.status, 200, JSON.stringify(arch.json));
    assert.equal(arch.json.arch, 'fmnist-linear');

    // Ask for the accuracy only the more accurate of the two registered architectures reaches.
    const [best] = uc.architectures.filter((a) => ['fmnist-linear', 'fmnist-cnn-m'].includes(a.name)).sort((a, b) => b.artifacts[0].accuracy - a.artifacts[0].accuracy);
    const acc = best.artifacts[0].accuracy;
    const usecase = await post(`${base}/v1/infer`, { task: 'classification', dataset: FMNIST, minAccuracy: acc - 0.01, latencyMs: 5000, inputs: { shape: [1, 1, 28, 28], data: sample(3) } });
    assert.equal(usecase.status, 200, JSON.stringify(usecase.json));
    assert.equal(usecase.json.arch, best.name);
    assert.equal(typeof usecase.json.worker, 'string');
    assert.equal(typeof usecase.json.coldStart, 'boolean');
  });

  it('accepts raw float32 bytes and PNG images', async () => {
    const raw = Buffer.from(new Float32Array([...sample(0), ...sample(5)]).buffer);
    const r = await fetch(`${base}/v1/infer?variant=fmnist-cnn-m.fp32.t1.b8.all`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: raw });
    const j: any = await r.json();
    assert.equal(r.status, 200, JSON.stringify(j));
    assert.equal(j.batch, 2);
    const png = encodePng(Float32Array.from(sample(0)), [1, 28, 28]);
    const r2 = await fetch(`${base}/v1/infer?arch=fmnist-cnn-m&latencyMs=1000`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(png) });
    const j2: any = await r2.json();
    assert.equal(r2.status, 200, JSON.stringify(j2));
    assert.equal(j2.predictions[0][0].index, argmax((await rawProbs('fmnist-cnn-m', [sample(0)])).slice(0, 10)));
  });

  it('rejects bad input with a clear 4xx and keeps serving', async () => {
    const cases: Array<[string, () => Promise<Response>, number, RegExp]> = [
      ['malformed JSON', () => fetch(`${base}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"variant": ' }), 400, /malformed JSON/],
      ['wrong shape', () => fetch(`${base}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variant: 'fmnist-cnn-m.fp32.t1.b8.all', inputs: [[1, 2, 3]] }) }), 400, /expected|shape/],
      ['wrong dtype', () => fetch(`${base}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variant: 'fmnist-cnn-m.fp32.t1.b8.all', inputs: { shape: [1, 1, 28, 28], data: new Array(784).fill('x') } }) }), 400, /not a finite number/],
      ['ragged raw bytes', () => fetch(`${base}/v1/infer?variant=fmnist-cnn-m.fp32.t1.b8.all`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(100) }), 400, /whole number of float32 samples/],
      ['oversized payload', () => fetch(`${base}/v1/infer?variant=fmnist-cnn-m.fp32.t1.b8.all`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(server.config.maxBodyBytes + 16) }), 413, /larger than the limit/],
      ['unknown model', () => fetch(`${base}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variant: 'nope', inputs: [sample(0)] }) }), 404, /unknown variant "nope"/],
      ['impossible SLO', () => fetch(`${base}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'classification', dataset: FMNIST, minAccuracy: 99.9, latencyMs: 0.001, inputs: [sample(0)] }) }), 422, /.+/],
      ['undecodable image', () => fetch(`${base}/v1/infer?arch=fmnist-cnn-m&latencyMs=1000`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from('not a png at all') }), 400, /decode|PNG/],
      ['batch above max', () => fetch(`${base}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variant: 'fmnist-cnn-m.fp32.t1.b1.all', inputs: [sample(0), sample(1)] }) }), 400, /at most 1 sample/],
      ['corrupt ONNX', () => fetch(`${base}/v1/models`, { method: 'POST', body: form({ task: 'classification', dataset: FMNIST, arch: 'broken' }, { model: Buffer.from('garbage bytes, not protobuf'), validation: valset }) }), 400, /ONNX/],
      ['unknown route', () => fetch(`${base}/v1/nothing`), 404, /no route/],
    ];
    for (const [name, call, status, msg] of cases) {
      const r = await call();
      const j: any = await r.json();
      assert.equal(r.status, status, `${name}: ${JSON.stringify(j)}`);
      assert.match(j.error, msg, name);
      assert.equal(typeof j.code, 'string', name);
    }
    const slo: any = await (await fetch(`${base}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'classification', dataset: FMNIST, minAccuracy: 50, latencyMs: 0.0001, inputs: [sample(0)] }) })).json();
    assert.ok(slo.details?.alternatives?.fastestMeetingAccuracy, JSON.stringify(slo));
    const ok = await post(`${base}/v1/infer`, { variant: 'fmnist-cnn-m.fp32.t1.b8.all', inputs: [sample(0)] });
    assert.equal(ok.status, 200);
  });

  it('survives a worker crash: the request fails clearly or is retried, and the worker comes back', async () => {
    const before: any = await (await fetch(`${base}/v1/workers`)).json();
    const victim = before.workers[0];
    assert.ok(victim.pid, 'workers report their pid');
    process.kill(victim.pid, 'SIGKILL');
    const r = await post(`${base}/v1/infer`, { variant: 'fmnist-cnn-m.fp32.t1.b8.all', inputs: [sample(0)] });
    assert.ok(r.status === 200 || r.status === 503, JSON.stringify(r.json));
    if (r.status === 503) assert.match(r.json.error, /worker|restart/);
    let ok = r.status === 200;
    for (let i = 0; i < 100 && !ok; i++) {
      await new Promise((res) => setTimeout(res, 100));
      ok = (await post(`${base}/v1/infer`, { variant: 'fmnist-cnn-m.fp32.t1.b8.all', inputs: [sample(0)] })).status === 200;
    }
    assert.ok(ok, 'serving again after the crash');
    const after: any = await (await fetch(`${base}/v1/workers`)).json();
    assert.equal(after.workers.length, before.workers.length);
    assert.ok(after.workers.every((w: any) => w.pid !== victim.pid));
  });

  it('keeps every registration across a restart', async () => {
    await server.close();
    server = await startServer({ dataDir, demo: false, config: { port: 0, profiling: FAST_GRID } });
    base = server.url;
    const modarch: any = await (await fetch(`${base}/v1/usecases/classification/${FMNIST}/architectures`)).json();
    assert.deepEqual(modarch.architectures.map((a: any) => a.name), ['fmnist-cnn-m', 'fmnist-linear']);
    const r = await post(`${base}/v1/infer`, { arch: 'fmnist-cnn-m', latencyMs: 1000, inputs: [sample(0)] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.coldStart, true);
  });
});
