// Who may call the REST API from a browser (docs/security.md): a Fastify onRequest hook that refuses, with 403
// PERMISSION_DENIED, a request naming a host this server is not (DNS rebinding: a web page whose name now resolves
// to this machine) and a request a web page of another origin sends (cross-site request forgery), and answers
// CORS preflights for the origins allowed. Clients that are not browsers (the CLI, curl, SDKs) send no Origin and
// name the server by the URL they were given, so they pass.
//
// Hosts allowed: `localhost`, any IP address (a page cannot rebind a name onto an IP literal: its origin would be
// that address, which the attacker does not serve), the listen address, this machine's name when listening beyond
// loopback, and `allowedHosts`. Origins allowed: the request's own (Origin naming the Host it was sent to) and
// `allowedOrigins`.

import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InfaasError, excerpt } from '../../core/errors.ts';

export interface AccessOptions {
  /** The address the server listens on (`--host`); allowed as a host name unless it is a wildcard. */
  listenHost: string;
  /**
   * More names requests may give in their Host header: `name` (exactly), `.domain` (the domain and its
   * subdomains), or `*` (any: turns the host check off, which gives up the protection against DNS rebinding).
   */
  allowedHosts?: readonly string[];
  /** Origins whose web pages may call the API (`https://app.example.com`, scheme://host[:port]), or `*` (any). */
  allowedOrigins?: readonly string[];
}

const WILDCARDS = new Set(['', '0.0.0.0', '::']);
const SEE = 'see docs/security.md';

/** The onRequest hook enforcing `o`. */
export function accessCheck(o: AccessOptions): (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const { allowed: hostAllowed, names } = hostMatcher(o);
  const answersTo = `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  const origins = new Set(o.allowedOrigins ?? []);
  return async (req, reply) => {
    const host = req.headers.host;
    // No Host: not a browser (they always send one), so not a rebinding.
    if (host !== undefined && !hostAllowed(hostName(host))) {
      throw new InfaasError('PERMISSION_DENIED', `request for host ${excerpt(host)} refused: this server answers to ${answersTo}; to reach it by that name, add it to server.allowedHosts (--allowed-hosts, INFAAS_ALLOWED_HOSTS); ${SEE}`, { host });
    }
    const origin = req.headers.origin;
    if (origin === undefined) {
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site') throw new InfaasError('PERMISSION_DENIED', `cross-site request refused (Sec-Fetch-Site: cross-site): web pages of other sites may not call this server; ${SEE}`);
      return undefined;
    }
    if (host !== undefined && originHost(origin) === host.toLowerCase()) return undefined; // same origin
    if (!origins.has(origin) && !origins.has('*')) {
      throw new InfaasError('PERMISSION_DENIED', `cross-origin request from ${excerpt(origin)} refused: web pages of other origins may call this server only when server.allowedOrigins (--allowed-origins, INFAAS_ALLOWED_ORIGINS) lists them; ${SEE}`, { origin });
    }
    reply.header('access-control-allow-origin', origin).header('vary', 'Origin').header('access-control-expose-headers', 'retry-after');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      // A CORS preflight: the methods and headers the API takes.
      const headers = req.headers['access-control-request-headers'];
      await reply.code(204).header('access-control-allow-methods', 'GET, POST').header('access-control-allow-headers', typeof headers === 'string' ? headers : 'content-type').header('access-control-max-age', '600').send();
      return reply;
    }
    return undefined;
  };
}

/** Whether a host name is allowed, and the names allowed besides allowedHosts (for messages). */
function hostMatcher(o: AccessOptions): { allowed: (name: string) => boolean; names: string[] } {
  const exact = new Set(['localhost']);
  const listen = bare(o.listenHost);
  if (!WILDCARDS.has(listen) && isIP(listen) === 0) exact.add(listen);
  if (WILDCARDS.has(listen) || !isLoopback(listen)) exact.add(bare(hostname()));
  const names = ['localhost', 'its IP addresses', ...[...exact].filter((n) => n !== 'localhost')];
  const suffixes: string[] = [];
  let any = false;
  for (const h of o.allowedHosts ?? []) {
    if (h === '*') any = true;
    else if (h.startsWith('.')) suffixes.push(bare(h));
    else exact.add(bare(h));
  }
  return { allowed: (name) => any || exact.has(name) || isIP(name) !== 0 || suffixes.some((s) => name === s.slice(1) || name.endsWith(s)), names };
}

/** The name in a Host header, without port or brackets, lower case, without a final dot. */
function hostName(header: string): string {
  const h = header.trim();
  if (h.startsWith('[')) return bare(h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined));
  const colon = h.indexOf(':');
  return bare(colon >= 0 && colon === h.lastIndexOf(':') ? h.slice(0, colon) : h);
}

function bare(name: string): string {
  return name.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
}

/** Whether a host name or address (without brackets or port) is this machine's loopback. */
export function isLoopback(name: string): boolean {
  return name === 'localhost' || name === '::1' || /^127\./.test(name);
}

/** `host[:port]` of an Origin (default ports left out, as in a Host header); undefined when it is not a URL. */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}
