// Fuzzing: requests to POST /v1/infer in every form — JSON with samples, {shape,data} or base64 images; raw
// float32; image/png and image/jpeg bodies — plus broken JSON, odd content types and lying Content-Lengths.

import fc from 'fast-check';
import { deepNesting, rarely, withNonJsonNumbers } from './hostile.ts';
import { json, queryString, type FuzzWorld, type HttpCase } from './http-case.ts';
import { imageArb, type ImageArbOptions } from './image-arbs.ts';
import { inputsArb, rawArb, selectionArb, type SelectionCase } from './input-arbs.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

function toQuery(fields: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v))]);
}

function mustReject(sel: SelectionCase, poison?: string): string | undefined {
  if (poison) return `non-finite or out-of-range input ${poison}`;
  if (sel.unknownKey) return `unknown field ${sel.unknownKey}`;
  return undefined;
}

export function inferCaseArb(world: FuzzWorld, images: ImageArbOptions = {}): fc.Arbitrary<HttpCase> {
  const sel = selectionArb(world.variants, world.archs, world.useCase);
  const jsonInputs = fc.tuple(sel, inputsArb()).map(([s, inp]): HttpCase => {
    const body = { ...s.fields, inputs: inp.inputs };
    return {
      target: 'infer json', label: `${s.label}; ${inp.label}`, method: 'POST', path: '/v1/infer', headers: JSON_HEADERS, body: json(body), validJson: true,
      mustAccept: s.sound && inp.valid && !s.unknownKey, mustReject: mustReject(s, inp.poison),
    };
  });
  const jsonImages = fc.tuple(sel, fc.array(imageArb({ ...images, bombWeight: images.bombWeight ?? 0 }), { minLength: 0, maxLength: 3 }), rarely(fc.constantFrom<unknown>('!!!', 5, null, [1], ''), 6)).map(([s, imgs, junk]): HttpCase => {
    const list: unknown[] = imgs.map((i) => Buffer.from(i.bytes).toString('base64'));
    if (junk !== null) list.push(junk);
    return {
      target: 'infer images (base64)', label: `${s.label}; images ${imgs.map((i) => i.label).join(' | ')}${junk !== null ? ` + ${JSON.stringify(junk)}` : ''}`,
      method: 'POST', path: '/v1/infer', headers: JSON_HEADERS, body: json({ ...s.fields, images: list }), validJson: true, heavy: imgs.some((i) => i.heavy),
      mustReject: s.unknownKey ? `unknown field ${s.unknownKey}` : imgs.some((i) => i.truncated) ? 'a PNG whose pixel data is shorter than its header declares' : undefined,
    };
  });
  const raw = fc.tuple(sel, rawArb(), rarely(fc.constantFrom('foo', 'inputs', 'constructor', 'toString', 'Variant'), 4), fc.constantFrom('application/octet-stream', 'application/octet-stream; charset=binary', 'Application/Octet-Stream')).map(([s, r, extra, ct]): HttpCase => {
    const pairs = toQuery(s.fields);
    if (extra) pairs.push([extra, '1']);
    return {
      target: 'infer raw float32', label: `${s.label}; ${r.label}${extra ? `; query field ${extra}` : ''}; ${ct}`, method: 'POST', path: `/v1/infer${queryString(pairs)}`,
      headers: { 'content-type': ct }, body: r.bytes,
      mustAccept: s.sound && r.valid && !extra && !s.unknownKey && ct === 'application/octet-stream',
      mustReject: mustReject(s, r.poison) ?? (extra ? `unknown query field ${extra}` : undefined),
    };
  });
  const imageBody = fc.tuple(sel, imageArb(images), fc.constantFrom('image/png', 'image/jpeg')).map(([s, img, ct]): HttpCase => ({
    target: 'infer image body', label: `${s.label}; ${img.label} as ${ct}`, method: 'POST', path: `/v1/infer${queryString(toQuery(s.fields))}`,
    headers: { 'content-type': ct }, body: img.bytes, heavy: img.heavy,
    mustReject: s.unknownKey ? `unknown field ${s.unknownKey}` : img.truncated ? 'a PNG whose pixel data is shorter than its header declares' : undefined,
  }));
  const brokenJson = fc.tuple(sel, fc.nat(), fc.constantFrom('cut', 'nonjson', 'deep-array', 'deep-object', 'trailing', 'bom', 'empty', 'utf16')).map(([s, n, how]): HttpCase => {
    const text = JSON.stringify({ ...s.fields, inputs: [new Array(784).fill(0.5)] });
    const bodies: Record<string, string> = {
      cut: text.slice(0, n % text.length),
      nonjson: withNonJsonNumbers(text, n),
      'deep-array': `{"variant":"x","inputs":${deepNesting(1000 + (n % 100_000), 'array')}}`,
      'deep-object': deepNesting(1000 + (n % 100_000), 'object'),
      trailing: `${text} {}`,
      bom: `\ufeff${text}`,
      empty: '',
      utf16: text,
    };
    const body = how === 'utf16' ? Buffer.from(bodies[how], 'utf16le') : Buffer.from(bodies[how], 'utf8');
    let validJson = false;
    try {
      JSON.parse(body.toString('utf8'));
      validJson = true;
    } catch {
      /* not JSON */
    }
    return { target: 'infer json (broken)', label: `${s.label}; ${how} body of ${body.length} bytes`, method: 'POST', path: '/v1/infer', headers: JSON_HEADERS, body, validJson: validJson && how !== 'deep-object' };
  });
  const contentTypes = fc.tuple(sel, fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'image/gif', '', 'application/json, image/png', 'application/jsonx')).map(([s, ct]): HttpCase => ({
    target: 'infer content types', label: `${s.label}; content-type ${JSON.stringify(ct)}`, method: 'POST', path: '/v1/infer',
    headers: ct ? { 'content-type': ct } : {}, body: json({ ...s.fields, inputs: [new Array(784).fill(0.5)] }),
  }));
  const lying = fc.tuple(sel, fc.constantFrom(-5, 10, 1 << 20, 2.5 * 2 ** 30), fc.boolean()).map(([s, delta, raw]): HttpCase => ({
    target: 'infer lying Content-Length', label: `${s.label}; Content-Length ${delta > 0 ? '+' : ''}${delta}${raw ? ' (raw)' : ''}`, method: 'POST',
    path: raw ? `/v1/infer${queryString(toQuery(s.fields))}` : '/v1/infer', headers: raw ? { 'content-type': 'application/octet-stream' } : JSON_HEADERS,
    body: raw ? new Uint8Array(4 * 784) : json({ ...s.fields, inputs: [new Array(784).fill(0.5)] }), lengthDelta: delta,
    ...(delta > 16 * 2 ** 20 ? { expectEarly413: true } : {}),
  }));
  return fc.oneof(
    { weight: 6, arbitrary: jsonInputs },
    { weight: 3, arbitrary: jsonImages },
    { weight: 4, arbitrary: raw },
    { weight: 3, arbitrary: imageBody },
    { weight: 2, arbitrary: brokenJson },
    { weight: 1, arbitrary: contentTypes },
    { weight: 1, arbitrary: lying },
  );
}
