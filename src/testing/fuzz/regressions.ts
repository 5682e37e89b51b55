// Fuzzing: the minimal input of every failure the harness found, kept as a permanent regression case and judged by
// the same oracle. A case whose `known` id is still listed in known-failures.ts runs as a todo; it becomes strict
// once that entry is deleted.

import { loadConfig } from '../../config/config.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQuerySpec } from '../../api/query-spec.ts';
import { toBatchTensor } from '../../api/query-input.ts';
import { json, type FuzzWorld, type HttpCase } from './http-case.ts';
import { pngBytes, pngPixels } from './image-bytes.ts';
import { decodeImage } from '../../image/decode-image.ts';
import { multipartBody } from './register-cases.ts';
import { judgeThrown, type Verdict } from './oracle.ts';
import { checkConfig, checkFloat32 } from './result-checks.ts';

export interface HttpRegression {
  name: string;
  known?: string;
  request(w: FuzzWorld): HttpCase;
}

export interface LocalRegression {
  name: string;
  known?: string;
  /** The verdict on the input (undefined: it passes). */
  run(): Verdict | undefined | Promise<Verdict | undefined>;
}

const sample = () => new Array(784).fill(0.5);
const raw = (first: number) => {
  const f = new Float32Array(784).fill(0.5);
  f[0] = first;
  return new Uint8Array(f.buffer);
};
const req = (target: string, label: string, c: Omit<HttpCase, 'target' | 'label'>): HttpCase => ({ target, label, ...c });
const JSON_CT = { 'content-type': 'application/json' };

export const HTTP_REGRESSIONS: HttpRegression[] = [
  { name: 'a valid exact-variant query is answered', request: (w) => req('infer json', 'valid', { method: 'POST', path: '/v1/infer', headers: JSON_CT, body: json({ variant: w.variants[0], inputs: [sample()] }), mustAccept: true, validJson: true }) },
  { name: 'multipart without a boundary: 400, not 500', request: () => req('register multipart', 'no boundary', { method: 'POST', path: '/v1/models', headers: { 'content-type': 'multipart/form-data' }, body: Buffer.from('--x\r\nContent-Disposition: form-data; name="task"\r\n\r\nt\r\n--x--\r\n') }) },
  { name: 'multipart cut before its closing boundary: 400, not 500', request: () => req('register multipart', 'truncated', { method: 'POST', path: '/v1/models', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: multipartBody('x', [{ name: 'task', data: Buffer.from('t') }], { noClose: true }) }) },
  { name: 'raw float32 NaN is refused', request: (w) => req('infer raw float32', 'NaN', { method: 'POST', path: `/v1/infer?variant=${encodeURIComponent(w.variants[0])}`, headers: { 'content-type': 'application/octet-stream' }, body: raw(NaN), mustReject: 'non-finite or out-of-range input NaN' }) },
  { name: 'JSON 1e39 (beyond float32) is refused', request: (w) => req('infer json', '1e39', { method: 'POST', path: '/v1/infer', headers: JSON_CT, body: json({ variant: w.variants[0], inputs: { shape: [1, 1, 28, 28], data: [1e39, ...sample().slice(1)] } }), mustReject: 'non-finite or out-of-range input 1e39', validJson: true }) },
  { name: 'an unknown query-string field is refused', request: (w) => req('infer raw float32', 'foo=1', { method: 'POST', path: `/v1/infer?variant=${encodeURIComponent(w.variants[0])}&foo=1`, headers: { 'content-type': 'application/octet-stream' }, body: raw(0.5), mustReject: 'unknown query field foo' }) },
  { name: 'a body field named toString is refused', request: (w) => req('infer json', 'toString', { method: 'POST', path: '/v1/infer', headers: JSON_CT, body: json({ variant: w.variants[0], inputs: [sample()], toString: 1 }), mustReject: 'unknown field toString', validJson: true }) },
  { name: '__proto__ in valid JSON is an unknown field, not malformed JSON', request: (w) => req('infer json', '__proto__', { method: 'POST', path: '/v1/infer', headers: JSON_CT, body: Buffer.from(`{"variant":${JSON.stringify(w.variants[0])},"inputs":[${JSON.stringify(sample())}],"__proto__":{}}`), mustReject: 'unknown field __proto__', validJson: true }) },
  { name: 'a 1,000-character latencyMs is not echoed whole', request: (w) => req('infer json', 'long latencyMs', { method: 'POST', path: '/v1/infer', headers: JSON_CT, body: json({ arch: w.archs[0], latencyMs: 'x'.repeat(1000), inputs: [sample()] }), validJson: true }) },
  { name: 'a 20,000-character path gets a JSON {code, error} answer', request: () => req('route /v1/variants/:name', 'long name', { method: 'GET', path: `/v1/variants/${'v'.repeat(20_000)}`, headers: {}, body: new Uint8Array(0) }) },
  { name: 'bytes after a body shorter than its Content-Length get a JSON {code, error} answer', request: (w) => req('infer lying Content-Length', 'Content-Length -5', { method: 'POST', path: '/v1/infer', headers: JSON_CT, body: json({ variant: w.variants[0], inputs: [sample()] }), lengthDelta: -5 }) },
  { name: 'a 2.5 GiB Content-Length is refused with 413 before the body', request: () => req('register multipart', '2.5 GiB', { method: 'POST', path: '/v1/models', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: Buffer.from('--x\r\n'), lengthDelta: 2.5 * 2 ** 30, expectEarly413: true }) },
  { name: 'a 4096x4096 16-bit PNG does not stall GET /v1/health', request: (w) => req('infer image body', '4096x4096 16-bit RGBA zeros', { method: 'POST', path: `/v1/infer?variant=${encodeURIComponent(w.variants[0])}`, headers: { 'content-type': 'image/png' }, body: pngBytes({ width: 4096, height: 4096, bitDepth: 16, colorType: 6 }), heavy: true }) },
  { name: 'an SLO the worker cannot meet is refused early, not with 504', request: (w) => req('infer raw float32', 'latencyMs 0.5', { method: 'POST', path: `/v1/infer?task=${w.useCase.task}&dataset=${w.useCase.dataset}&minAccuracy=0&latencyMs=0.5`, headers: { 'content-type': 'application/octet-stream' }, body: raw(0.5) }) },
];

function withConfig(text: string): Verdict | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-fuzz-regression-'));
  try {
    writeFileSync(join(dir, 'infaas.json'), text);
    const c = loadConfig(dir);
    const bad = checkConfig(c);
    return bad ? { kind: bad, detail: text } : undefined;
  } catch (e) {
    return judgeThrown(e, { privatePaths: [], echoSources: [text] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function thrown(f: () => unknown, echo: string): Verdict | undefined {
  try {
    f();
  } catch (e) {
    return judgeThrown(e, { privatePaths: [], echoSources: [echo] });
  }
  return undefined;
}

export const LOCAL_REGRESSIONS: LocalRegression[] = [
  {
    name: 'a PNG with less pixel data than its header declares is refused',
    run: async () => {
      const png = pngBytes({ width: 65536, height: 1, bitDepth: 8, colorType: 0, raw: pngPixels(4, 4, 8, 0, 1) });
      try {
        await decodeImage(png, [1, 28, 28]);
        return { kind: 'decoded a PNG whose pixel data is shorter than its header declares', detail: '65536x1 gray declared, 4x4 of data' };
      } catch (e) {
        return judgeThrown(e, { privatePaths: [], echoSources: [] });
      }
    },
  },
  { name: 'infaas.json maxBodyBytes -1 is refused', run: () => withConfig('{"maxBodyBytes": -1}') },
  { name: 'infaas.json workerTimeoutMs 0 is refused', run: () => withConfig('{"workerTimeoutMs": 0}') },
  { name: 'infaas.json profiling without runs/warmup keeps the defaults or is refused', run: () => withConfig('{"profiling": {"threads": [1], "maxBatch": [1], "optLevels": ["all"]}}') },
  { name: 'infaas.json profiling thread 1e999 is refused', run: () => withConfig('{"profiling": {"threads": [1e999], "maxBatch": [1], "optLevels": ["all"], "runs": 1, "warmup": 0}}') },
  { name: 'infaas.json: a 1,000-character provisioner.kind is not echoed whole', run: () => withConfig(`{"provisioner": {"kind": "${'x'.repeat(1000)}"}}`) },
  { name: 'parseQuerySpec: a 1,000-character latencyMs is not echoed whole', run: () => thrown(() => parseQuerySpec({ arch: 'a', latencyMs: 'x'.repeat(1000) }), 'x'.repeat(1000)) },
  {
    name: 'toBatchTensor refuses raw NaN',
    run: async () => {
      try {
        const bad = checkFloat32((await toBatchTensor({ kind: 'raw', bytes: raw(NaN) }, [1, 28, 28])).data);
        return bad ? { kind: bad, detail: 'raw NaN' } : undefined;
      } catch (e) {
        return judgeThrown(e, { privatePaths: [], echoSources: [] });
      }
    },
  },
];
