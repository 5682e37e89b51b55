// Fuzzing: a minimal HTTP/1.1 client over a raw socket, so a case can send what fetch refuses to — a lying
// Content-Length, a body cut short, odd paths and headers — and still read the answer (or see the connection close).

import { connect } from 'node:net';
import type { HttpCase } from './http-case.ts';

export interface RawReply {
  /** 0 when the server closed the connection without answering, -1 when `timeoutMs` passed first. */
  status: number;
  headers: Record<string, string>;
  body: string;
  ms: number;
}

/** Parses one response from the bytes read so far (`head`: the answer to HEAD, without a body); undefined while incomplete. Skips 1xx interim responses. */
function parse(buf: Buffer, head = false): { status: number; headers: Record<string, string>; body: Buffer } | undefined {
  let start = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', start);
    if (end < 0) return undefined;
    const lines = buf.subarray(start, end).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      start = bodyStart;
      continue;
    }
    if (headers['transfer-encoding']?.includes('chunked')) {
      const parts: Buffer[] = [];
      let at = bodyStart;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', at);
        if (lineEnd < 0) return undefined;
        const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
        if (size === 0) return { status, headers, body: Buffer.concat(parts) };
        if (buf.length < lineEnd + 2 + size + 2) return undefined;
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    const len = head ? 0 : Number(headers['content-length'] ?? 0);
    if (buf.length < bodyStart + len) return undefined;
    return { status, headers, body: buf.subarray(bodyStart, bodyStart + len) };
  }
}

/**
 * Sends one case to `host:port` on a fresh connection and reads one response. When the case declares more body
 * than it sends (or cuts its body), it waits for an early answer (`earlyMs` when one is due, 200 ms otherwise),
 * then closes its side.
 */
export function send(host: string, port: number, c: HttpCase, o: { timeoutMs: number; earlyMs: number }): Promise<RawReply> {
  const started = performance.now();
  const headers: Record<string, string> = { host: `${host}:${port}`, connection: 'close', ...c.headers };
  if (!('transfer-encoding' in headers) && c.lengthDelta !== undefined) headers['content-length'] = String(Math.max(0, c.body.length + c.lengthDelta));
  else if (!('transfer-encoding' in headers) && (c.body.length || c.method !== 'GET')) headers['content-length'] = String(c.body.length);
  const head = `${c.method} ${c.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  const body = c.cutAt !== undefined ? c.body.subarray(0, c.cutAt) : c.body;
  const incomplete = c.cutAt !== undefined || (c.lengthDelta ?? 0) > 0;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const sock = connect({ host, port });
    const finish = (status: number, h: Record<string, string> = {}, b = '') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(early);
      sock.destroy();
      resolve({ status, headers: h, body: b, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(-1), o.timeoutMs);
    let early: NodeJS.Timeout | undefined;
    sock.on('data', (d) => {
      chunks.push(d);
      const r = parse(Buffer.concat(chunks), c.method === 'HEAD');
      if (r) finish(r.status, r.headers, r.body.toString('utf8'));
    });
    const ended = () => {
      const r = parse(Buffer.concat(chunks), c.method === 'HEAD');
      finish(r?.status ?? 0, r?.headers, r?.body.toString('utf8'));
    };
    sock.on('error', ended);
    sock.on('close', ended);
    sock.on('connect', () => {
      sock.write(head);
      sock.write(body, () => {
        if (incomplete) early = setTimeout(() => sock.end(), c.expectEarly413 ? o.earlyMs : Math.min(o.earlyMs, 200));
      });
    });
  });
}

/** GET /v1/health on a fresh connection: its status and how long it took (status -1 on timeout). */
export async function health(host: string, port: number, timeoutMs: number): Promise<{ status: number; ms: number }> {
  const r = await send(host, port, { target: 'health', label: 'health', method: 'GET', path: '/v1/health', headers: {}, body: new Uint8Array(0) }, { timeoutMs, earlyMs: 0 });
  return { status: r.status, ms: r.ms };
}
