// How every error leaves the REST server: the code as an HTTP status, and a message and details that never carry
// the server's own filesystem paths (they are replaced by a placeholder), stack traces, or unbounded strings;
// Retry-After when the error says when to come back; `Connection: close` when the request body was not read to
// its end, so a refused upload is not read in full just to keep the connection open (the connection lingers
// briefly, unread, so that a client still sending gets the reply rather than a reset).

import { isAbsolute, resolve } from 'node:path';
import { realpathSync } from 'node:fs';
import { STATUS_CODES, maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { InfaasError } from '../../core/errors.ts';
import { HTTP_STATUS } from './errors.ts';

/** What replaces a private path in a message. */
export const PATH_PLACEHOLDER = '<server path>';

/** Longest message sent, and longest string in details, in characters. */
const MAX_MESSAGE = 2000;
const MAX_DETAIL_STRING = 1000;

export interface ErrorSender {
  (reply: FastifyReply, e: InfaasError): FastifyReply;
  /** Drops the connections still lingering after a refused body (at server close). */
  dropLingering(): void;
}

export function errorSender(privatePaths: readonly string[]): ErrorSender {
  const scrub = pathScrubber(privatePaths);
  const lingering = new Set<Socket>();
  const send = (reply: FastifyReply, e: InfaasError): FastifyReply => {
    const status = HTTP_STATUS[e.code] ?? 500;
    // Overload and unavailability may say when to come back (RFC 9110 Retry-After, whole seconds).
    const retryAfterMs = e.details?.retryAfterMs;
    if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    if (!reply.request.raw.complete) {
      reply.header('connection', 'close');
      lingerThenClose(reply.request.raw.socket, lingering);
    }
    const text = (s: string, max: number) => cut(status === 500 ? scrubAnyPath(scrub(s)) : scrub(s), max);
    const details = e.details ? (clean(e.details, (s) => text(s, MAX_DETAIL_STRING), 0) as Record<string, unknown>) : undefined;
    return reply.code(status).send({ code: e.code, error: text(dropStack(e.message), MAX_MESSAGE), ...(details ? { details } : {}) });
  };
  return Object.assign(send, { dropLingering: () => lingering.forEach((s) => s.destroy()) });
}

/**
 * Fastify's clientErrorHandler: Node's HTTP parser refused a request before any route saw it (headers over
 * Node's limit, malformed HTTP, too slow). The answer comes in the API's format too, then the connection closes.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, error] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'PAYLOAD_TOO_LARGE', `request headers (the URL included) are larger than the limit of ${maxHeaderSize} bytes`]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'DEADLINE_EXCEEDED', 'the request was not received in time']
        : [400, 'INVALID_ARGUMENT', 'malformed HTTP request'];
  const body = JSON.stringify({ code, error });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** How long a connection whose request body was refused half-way stays open after the reply, ms. */
const LINGER_MS = 2000;

/**
 * Node closes a `Connection: close` socket as soon as the reply is written (`destroySoon`); with the client still
 * sending, that is a reset, which can destroy the reply before the client reads it. Instead: read nothing more,
 * send the reply and a FIN, and drop the connection after LINGER_MS (or when the client closes it).
 */
function lingerThenClose(socket: Socket | null | undefined, lingering: Set<Socket>): void {
  if (!socket || socket.destroyed) return;
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.pause();
    this.end();
    lingering.add(this);
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    this.once('close', () => {
      clearTimeout(timer);
      lingering.delete(this);
    });
  };
}

/**
 * Replaces each of `paths` (and its real path, when it resolves to another) where it appears as a whole path or a
 * path's beginning, by PATH_PLACEHOLDER. `/` and relative paths are ignored.
 */
export function pathScrubber(paths: readonly string[]): (text: string) => string {
  const prefixes = new Set<string>();
  for (const p of paths) {
    if (!p || !isAbsolute(p)) continue;
    prefixes.add(resolve(p));
    try {
      prefixes.add(realpathSync(p));
    } catch {
      // not there (any more): its name alone is scrubbed
    }
  }
  const list = [...prefixes].filter((p) => p !== '/' && p.length > 1).sort((a, b) => b.length - a.length);
  if (!list.length) return (t) => t;
  const re = new RegExp(`(?:${list.map(escapeRegExp).join('|')})(?![A-Za-z0-9._~+@-])`, 'g');
  return (t) => t.replace(re, PATH_PLACEHOLDER);
}

/** Server-side failures (500) name no path at all: any absolute path of two or more parts is replaced. */
function scrubAnyPath(t: string): string {
  return t.replace(/(?<![\w.:/~-])\/(?:[\w.@+~-]+\/)+[\w.@+~-]*/g, PATH_PLACEHOLDER);
}

function dropStack(message: string): string {
  const at = message.search(/\n\s+at /);
  return at >= 0 ? message.slice(0, at) : message;
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

function clean(v: unknown, text: (s: string) => string, depth: number): unknown {
  if (typeof v === 'string') return text(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= 8) return '…';
  if (Array.isArray(v)) return v.map((x) => clean(x, text, depth + 1));
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'stack').map(([k, x]) => [k, clean(x, text, depth + 1)]));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
