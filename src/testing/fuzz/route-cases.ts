// Fuzzing: every other route of the REST API with hostile path parameters, query strings, methods, headers and
// bodies: browse routes, variant load/unload, registrations, workers, health, unknown routes.

import fc from 'fast-check';
import { hostileString } from './hostile.ts';
import { encodeComponent, json, queryString, type FuzzWorld, type HttpCase } from './http-case.ts';

/** A path segment: a known name, a hostile string (percent-encoded, or raw bytes as sent by a sloppy client). */
function segmentArb(known: string[]): fc.Arbitrary<{ text: string; wire: string }> {
  return fc.oneof(
    { weight: 2, arbitrary: (known.length ? fc.constantFrom(...known) : fc.constant('none')).map((t) => ({ text: t, wire: encodeComponent(t) })) },
    { weight: 3, arbitrary: hostileString.map((t) => ({ text: t, wire: encodeComponent(t) })) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%00', '..', '%2e%2e', '%2F', '%252F', 'a%0d%0ab', '%ff%fe', '%c0%af').map((w) => ({ text: w, wire: w })) },
  );
}

const methodArb = fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');

export function routeCaseArb(world: FuzzWorld): fc.Arbitrary<HttpCase> {
  const variant = segmentArb(world.variants);
  const arch = segmentArb(world.archs);
  const q = fc.array(fc.tuple(fc.oneof(fc.constantFrom('worker', 'variant', '__proto__', 'constructor', 'x'), hostileString), fc.oneof(fc.constantFrom(...world.workers, 'w-none'), hostileString)), { maxLength: 3 });
  const body = fc.oneof(
    fc.constant<[Record<string, string>, Uint8Array]>([{}, new Uint8Array(0)]),
    fc.constant<[Record<string, string>, Uint8Array]>([{ 'content-type': 'application/json' }, json({ worker: 'w1' })]),
    fc.constant<[Record<string, string>, Uint8Array]>([{ 'content-type': 'application/json' }, Buffer.from('{"a":')]),
    fc.constant<[Record<string, string>, Uint8Array]>([{ 'content-type': 'application/octet-stream' }, new Uint8Array(64)]),
    fc.constant<[Record<string, string>, Uint8Array]>([{ 'content-type': 'text/plain' }, Buffer.from('hello')]),
  );
  const make = (target: string, method: string, path: string, [headers, b]: [Record<string, string>, Uint8Array], label: string): HttpCase => ({
    target, label: `${method} ${label}${b.length ? ` with ${headers['content-type']} body` : ''}`, method, path, headers, body: b,
  });
  return fc.oneof(
    fc.tuple(segmentArb([world.useCase.task]), segmentArb([world.useCase.dataset]), q, body).map(([t, d, qs, b]) =>
      make('route /v1/usecases/:task/:dataset', 'GET', `/v1/usecases/${t.wire}/${d.wire}/architectures${queryString(qs)}`, b, `usecases ${JSON.stringify(t.text).slice(0, 40)}/${JSON.stringify(d.text).slice(0, 40)}`)),
    fc.tuple(arch, q, body).map(([a, qs, b]) => make('route /v1/architectures/:arch', 'GET', `/v1/architectures/${a.wire}${queryString(qs)}`, b, `architecture ${JSON.stringify(a.text).slice(0, 60)}`)),
    fc.tuple(variant, q, body).map(([v, qs, b]) => make('route /v1/variants/:name', 'GET', `/v1/variants/${v.wire}${queryString(qs)}`, b, `variant ${JSON.stringify(v.text).slice(0, 60)}`)),
    fc.tuple(variant, q, body, fc.constantFrom('load', 'unload')).map(([v, qs, b, op]) => make(`route /v1/variants/:name/${op}`, 'POST', `/v1/variants/${v.wire}/${op}${queryString(qs)}`, b, `${op} ${JSON.stringify(v.text).slice(0, 60)} ${JSON.stringify(qs).slice(0, 60)}`)),
    fc.tuple(segmentArb(world.registrationIds), q, body).map(([id, qs, b]) => make('route /v1/registrations/:id', 'GET', `/v1/registrations/${id.wire}${queryString(qs)}`, b, `registration ${JSON.stringify(id.text).slice(0, 60)}`)),
    fc.tuple(fc.constantFrom('/v1/health', '/v1/usecases', '/v1/workers'), q, body).map(([p, qs, b]) => make('route (no params)', 'GET', `${p}${queryString(qs)}`, b, `${p} ${JSON.stringify(qs).slice(0, 60)}`)),
    fc.tuple(methodArb, fc.constantFrom('/v1/infer', '/v1/models', '/v1/health', '/v1/variants/x/load', '/', '/v1', '/v1/', '//v1//health', '/v1/health/', '/V1/HEALTH', '/v1/health?', '/v1/health#x', '*'), body).map(([m, p, b]) =>
      make('route methods and unknown paths', m, p, b, p)),
    fc.tuple(segmentArb([]), fc.integer({ min: 1, max: 4 })).map(([s, n]) => make('route methods and unknown paths', 'GET', `/v1/${new Array(n).fill(s.wire).join('/')}`, [{}, new Uint8Array(0)], `unknown ${JSON.stringify(s.text).slice(0, 60)} x${n}`)),
    fc.constantFrom<Record<string, string>>(
      { host: 'evil.example' }, { origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'x-forwarded-for': '1.2.3.4' },
      { 'content-type': 'application/json', 'content-encoding': 'gzip' }, { 'transfer-encoding': 'chunked' }, { expect: '100-continue' }, { 'content-type': 'application/json', 'x-big': 'h'.repeat(8000) },
    ).map((h) => ({ target: 'route headers', label: `POST unload with headers ${JSON.stringify(h).slice(0, 80)}`, method: 'POST', path: `/v1/variants/${encodeComponent(world.variants[0] ?? 'x')}/unload`, headers: h, body: h['transfer-encoding'] ? Buffer.from('0\r\n\r\n') : h['content-type'] ? json({}) : new Uint8Array(0) })),
  );
}
