// Fuzzing: the REST API of a real server as one target — each case sent over a raw socket, judged by the oracle
// and by what the case expects (refused, accepted, not called malformed, an early 413, a servable registration),
// with GET /v1/health after every case (and probed during heavy ones: decoding must not stall the server).

import fc from 'fast-check';
import type { FuzzServer } from './fuzz-server.ts';
import type { HttpCase } from './http-case.ts';
import type { ImageArbOptions } from './image-arbs.ts';
import { inferCaseArb } from './infer-cases.ts';
import { judgeResponse, type MessageRules, type Verdict } from './oracle.ts';
import { health, send, type RawReply } from './raw-http.ts';
import { registerCaseArb } from './register-cases.ts';
import { routeCaseArb } from './route-cases.ts';
import type { Target } from './runner.ts';

/** No request may take longer. */
export const REQUEST_LIMIT_MS = 10_000;
/** A health probe during a heavy request slower than this means the event loop stalled. */
export const HEALTH_STALL_MS = 2_000;

export interface HttpTargetOptions {
  images?: ImageArbOptions;
  /** Relative weights of infer, registration and other-route cases (default 6 : 2 : 2). */
  weights?: { infer: number; register: number; routes: number };
}

function echoSources(c: HttpCase): string[] {
  const body = Buffer.from(c.body);
  let path = c.path;
  try {
    path = decodeURIComponent(c.path);
  } catch {
    /* keep it encoded */
  }
  return [body.toString('latin1'), body.toString('utf8'), c.path, path, ...Object.values(c.headers)];
}

/** Probes health every 100 ms until `stop` resolves; the slowest probe, ms. */
async function probeHealth(s: FuzzServer, stop: Promise<unknown>): Promise<number> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  let worst = 0;
  while (!stopped) {
    const h = await health(s.host, s.port, REQUEST_LIMIT_MS);
    worst = Math.max(worst, h.status === 200 ? h.ms : REQUEST_LIMIT_MS);
    await Promise.race([stop, new Promise((r) => setTimeout(r, 100))]);
  }
  return worst;
}

/** After a 201: one query of the registered model with zero inputs of its use case's shape must be answered. */
async function queryRegistered(s: FuzzServer, reply: RawReply): Promise<Verdict | undefined> {
  const reg = (JSON.parse(reply.body) as { registration?: { useCase?: string; variants?: Array<{ name: string }> } }).registration;
  const variant = reg?.variants?.[0]?.name;
  if (!variant) return undefined;
  const ucs = ((await (await fetch(`${s.url}/v1/usecases`)).json()) as { useCases: Array<{ id: string; inputShape: number[] }> }).useCases;
  const shape = ucs.find((u) => u.id === reg.useCase)?.inputShape;
  const size = shape?.reduce((a, b) => a * b, 1) ?? 0;
  if (!shape || size > 1e6) return undefined;
  const r = await fetch(`${s.url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variant, inputs: { shape: [1, ...shape], data: new Array(size).fill(0) } }), signal: AbortSignal.timeout(REQUEST_LIMIT_MS) });
  if (r.ok) return undefined;
  const body = (await r.json().catch(() => ({}))) as { code?: string; error?: string };
  return { kind: `registered model cannot be served: HTTP ${r.status} ${body.code}`, detail: `${variant}: ${String(body.error).slice(0, 300)}` };
}

async function judgeCase(s: FuzzServer, c: HttpCase, r: RawReply, rules: MessageRules): Promise<Verdict | undefined> {
  const incomplete = c.cutAt !== undefined || (c.lengthDelta ?? 0) > 0;
  if (r.status === -1) return { kind: `no answer within ${REQUEST_LIMIT_MS / 1000} s`, detail: c.label };
  if (c.expectEarly413 && r.status !== 413) return { kind: `Content-Length over the limit not refused with 413 before the body (got ${r.status || 'a closed connection'})`, detail: r.body.slice(0, 300) };
  // Node refuses a request head over 16 KiB (431) and closes at once: the answer may be lost with the connection.
  const bigHead = c.path.length + Object.values(c.headers).reduce((a, v) => a + v.length, 0) > 16 * 1024;
  if (r.status === 0) return incomplete || bigHead ? undefined : { kind: 'connection closed without an answer', detail: c.label };
  // The answer to HEAD has no body: only its status can be judged.
  const v = c.method === 'HEAD' ? (r.status >= 500 ? { kind: `HTTP ${r.status} to HEAD`, detail: c.label } : undefined) : judgeResponse(r.status, r.body, rules);
  if (v) return v;
  const ok = r.status >= 200 && r.status < 300;
  if (ok && c.mustReject) return { kind: `accepted: ${c.mustReject.replace(/ \S+$/, ' …')}`, detail: `${c.mustReject}: ${r.body.slice(0, 200)}` };
  if (!ok && c.mustAccept) {
    const code = (() => { try { return (JSON.parse(r.body) as { code?: string }).code; } catch { return '?'; } })();
    return { kind: `refused a valid request: HTTP ${r.status} ${code}`, detail: r.body.slice(0, 300) };
  }
  if (r.status === 400 && c.validJson && /malformed JSON|not valid JSON/i.test(r.body)) return { kind: 'valid JSON called malformed', detail: r.body.slice(0, 300) };
  if (r.status === 201 && c.followUp === 'query-registered') return queryRegistered(s, r);
  return undefined;
}

export function httpTarget(s: FuzzServer, o: HttpTargetOptions = {}): Target<HttpCase> {
  const w = o.weights ?? { infer: 6, register: 2, routes: 2 };
  return {
    name: 'http',
    arb: fc.oneof(
      { weight: w.infer, arbitrary: inferCaseArb(s.world, o.images) },
      { weight: w.register, arbitrary: registerCaseArb() },
      { weight: w.routes, arbitrary: routeCaseArb(s.world) },
    ),
    async run(c) {
      const rules: MessageRules = { privatePaths: s.privatePaths, echoSources: echoSources(c) };
      const reply = send(s.host, s.port, c, { timeoutMs: REQUEST_LIMIT_MS, earlyMs: 1000 });
      const worstHealth = c.heavy ? probeHealth(s, reply) : Promise.resolve(0);
      const r = await reply;
      let verdict = await judgeCase(s, c, r, rules);
      const stall = await worstHealth;
      if (!verdict && stall > HEALTH_STALL_MS) verdict = { kind: `health stalled over ${HEALTH_STALL_MS / 1000} s during the request`, detail: `${Math.round(stall)} ms; ${c.label}` };
      const after = await health(s.host, s.port, REQUEST_LIMIT_MS);
      if (after.status !== 200) verdict = { kind: 'server stopped answering GET /v1/health', detail: `health ${after.status} after ${c.label}; server exit ${s.exited()}\n${s.log().slice(-2000)}` };
      return { row: c.target, verdict };
    },
    describe: (c) => `${c.method} ${c.path.slice(0, 120)} [${c.label.slice(0, 400)}]`,
    size: (c) => c.body.length + c.path.length,
  };
}
