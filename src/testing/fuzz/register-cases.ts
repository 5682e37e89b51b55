// Fuzzing: registrations (POST /v1/models) as multipart bodies written by hand — hostile fields and files (ONNX,
// validation sets, profile files, labels), and broken framing: boundaries missing, wrong or odd, truncated bodies,
// bare LF line ends, parts without names, too many parts, lying Content-Lengths.

import fc from 'fast-check';
import { hostileString, rarely } from './hostile.ts';
import type { HttpCase } from './http-case.ts';
import { profileTextArb, valsetArb } from './file-arbs.ts';
import { onnxArb } from './onnx-arbs.ts';

export interface Part {
  name?: string;
  filename?: string;
  contentType?: string;
  data: Uint8Array;
}

/** A multipart/form-data body; `lf` writes bare LF line ends, `noClose` leaves out the closing boundary. */
export function multipartBody(boundary: string, parts: Part[], o: { lf?: boolean; noClose?: boolean } = {}): Buffer {
  const nl = o.lf ? '\n' : '\r\n';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disp = ['form-data', ...(p.name !== undefined ? [`name="${p.name}"`] : []), ...(p.filename !== undefined ? [`filename="${p.filename}"`] : [])].join('; ');
    const head = `--${boundary}${nl}Content-Disposition: ${disp}${nl}${p.contentType ? `Content-Type: ${p.contentType}${nl}` : ''}${nl}`;
    chunks.push(Buffer.from(head, 'utf8'), Buffer.from(p.data), Buffer.from(nl));
  }
  if (!o.noClose) chunks.push(Buffer.from(`--${boundary}--${nl}`));
  return Buffer.concat(chunks);
}

const text = (name: string, v: string): Part => ({ name, data: Buffer.from(v, 'utf8') });
const file = (name: string, data: Uint8Array, filename = `${name}.bin`): Part => ({ name, filename, contentType: 'application/octet-stream', data });

const labelsArb = fc.oneof(
  fc.constant(Array.from({ length: 10 }, (_, i) => `class-${i}`).join('\n')),
  fc.constantFrom('', '\n\n', 'a\r\nb\r\n', '\u0000\u0001', 'x'.repeat(100_000)),
  fc.array(hostileString, { maxLength: 12 }).map((xs) => xs.join('\n')),
  fc.integer({ min: 1000, max: 50_000 }).map((n) => Array.from({ length: n }, (_, i) => `l${i}`).join('\n')),
);

/** The fields and files of one registration, before framing. */
const registrationArb = fc.record({
  task: fc.oneof({ weight: 4, arbitrary: fc.constant('fuzzing') }, { weight: 1, arbitrary: fc.constant('classification') }, { weight: 2, arbitrary: hostileString }),
  dataset: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('fz-a', 'fz-b') }, { weight: 1, arbitrary: fc.constant('fashion-mnist') }, { weight: 2, arbitrary: hostileString }),
  arch: fc.oneof({ weight: 4, arbitrary: fc.nat(200).map((n) => `fz-${n}`) }, { weight: 2, arbitrary: hostileString }),
  precision: fc.option(fc.oneof(fc.constantFrom('fp32', 'int8'), hostileString), { freq: 2 }),
  replace: rarely(fc.constantFrom('true', '1', 'false', 'yes', ''), 3),
  description: rarely(hostileString, 3),
  model: fc.option(onnxArb(), { freq: 12 }),
  evidence: fc.constantFrom('profile', 'profile', 'validation', 'both', 'none'),
  profile: profileTextArb(),
  validation: valsetArb(),
  labels: rarely(labelsArb, 3),
  extra: rarely(fc.constantFrom('constructor', 'toString', '__proto__', 'foo', 'weights', 'task'), 8),
  modelAsText: fc.boolean(),
});

type Registration = typeof registrationArb extends fc.Arbitrary<infer T> ? T : never;

function partsOf(r: Registration): Part[] {
  const parts: Part[] = [text('task', r.task), text('dataset', r.dataset), text('arch', r.arch)];
  if (r.precision !== null) parts.push(text('precision', r.precision));
  if (r.replace !== null) parts.push(text('replace', r.replace));
  if (r.description !== null) parts.push(text('description', r.description));
  if (r.model) parts.push(r.modelAsText ? { name: 'model', data: r.model.bytes } : file('model', r.model.bytes, 'model.onnx'));
  if (r.evidence === 'profile' || r.evidence === 'both') parts.push(file('profile', Buffer.from(r.profile.text, 'utf8'), 'profile.json'));
  if (r.evidence === 'validation' || r.evidence === 'both') parts.push(file('validation', r.validation.bytes, 'val.valset'));
  if (r.labels !== null) parts.push(file('labels', Buffer.from(r.labels, 'utf8'), 'labels.txt'));
  if (r.extra !== null) parts.push(r.extra === 'task' ? text('task', 'duplicate') : text(r.extra, '1'));
  return parts;
}

function describe(r: Registration): string {
  const ev = r.evidence === 'profile' ? r.profile.label : r.evidence === 'validation' ? r.validation.label : r.evidence;
  return `${JSON.stringify(r.task).slice(0, 30)}/${JSON.stringify(r.dataset).slice(0, 30)} arch ${JSON.stringify(r.arch).slice(0, 30)}; model ${r.model?.label ?? 'missing'}; ${ev}${r.extra ? `; extra field ${r.extra}` : ''}`;
}

const framingArb = fc.record({
  boundary: fc.oneof(fc.constant('----fuzzBoundary7MA4YWxkTrZu0gW'), fc.constantFrom('x', 'a'.repeat(70), 'a'.repeat(200), 'b"q', 'sp ace', '--', 'é')),
  header: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'no-boundary', 'quoted', 'other-boundary', 'empty-boundary', 'form-urlencoded'),
  body: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'ok', 'cut', 'lf', 'no-close', 'nameless', 'many-parts', 'preamble-only'),
  cut: fc.nat(),
  lengthDelta: rarely(fc.constantFrom(-3, 100, 2.5 * 2 ** 30), 12),
});

export function registerCaseArb(): fc.Arbitrary<HttpCase> {
  return fc.tuple(registrationArb, framingArb).map(([r, f]): HttpCase => {
    let parts = partsOf(r);
    if (f.body === 'nameless') parts = [{ data: Buffer.from('who am i') }, ...parts];
    if (f.body === 'many-parts') parts = [...parts, ...Array.from({ length: 40 }, (_, i) => text('description', `d${i}`))];
    let body = multipartBody(f.boundary, parts, { lf: f.body === 'lf', noClose: f.body === 'no-close' });
    if (f.body === 'cut') body = body.subarray(0, f.cut % (body.length + 1));
    if (f.body === 'preamble-only') body = Buffer.from('this is only a preamble\r\n');
    const ct: Record<string, string> = {
      ok: `multipart/form-data; boundary=${f.boundary}`,
      'no-boundary': 'multipart/form-data',
      quoted: `multipart/form-data; boundary="${f.boundary}"`,
      'other-boundary': 'multipart/form-data; boundary=not-the-one-used',
      'empty-boundary': 'multipart/form-data; boundary=',
      'form-urlencoded': 'application/x-www-form-urlencoded',
    };
    const framingOk = f.header === 'ok' && f.body === 'ok' && f.lengthDelta === null;
    return {
      target: 'register multipart',
      label: `${describe(r)}; framing ${f.header}/${f.body}${f.lengthDelta !== null ? `, Content-Length ${f.lengthDelta > 0 ? '+' : ''}${f.lengthDelta}` : ''}`,
      method: 'POST', path: '/v1/models', headers: { 'content-type': ct[f.header] }, body,
      ...(f.lengthDelta !== null ? { lengthDelta: f.lengthDelta } : {}),
      ...(f.lengthDelta !== null && f.lengthDelta > 256 * 2 ** 20 ? { expectEarly413: true } : {}),
      ...(framingOk && r.extra && r.extra !== 'task' ? { mustReject: `unknown field ${r.extra}` } : {}),
      followUp: 'query-registered',
    };
  });
}
