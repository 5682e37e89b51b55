// Checks of the parts of a request a route does not read itself, made the same way for every route: the body size
// against the limit that applies, from Content-Length before anything is read; query-string fields (own
// properties only; unknown ones refused, listing the allowed); a body sent to a route that takes none.
//
// Each route declares what it takes in its config (`RouteRules`); a route that declares nothing takes no query
// fields and no body.

import type { FastifyRequest, onRequestAsyncHookHandler, preValidationAsyncHookHandler } from 'fastify';
import { InfaasError, excerpt, invalid } from '../../core/errors.ts';

export interface RouteRules {
  /** Query-string fields the route reads. */
  query?: readonly string[];
  /** The route reads a body (default: it takes none). */
  body?: boolean;
  /** Added to the refusal of an unknown query field or of a body, e.g. where to put what was sent. */
  hint?: string;
  /** The route takes a registration upload: a multipart body's limit is registrationLimit, not bodyLimit. */
  upload?: boolean;
}

export interface BodyLimits {
  /** Largest request body, bytes (maxBodyBytes). */
  bodyLimit: number;
  /** Largest file of a registration, bytes (maxModelBytes). */
  modelLimit: number;
}

/** A registration carries one file of up to modelLimit and the rest of its form within bodyLimit. */
export function registrationLimit(l: BodyLimits): number {
  return l.modelLimit + l.bodyLimit;
}

export function bodyTooLarge(l: BodyLimits, size?: number): InfaasError {
  const what = size === undefined ? 'request body' : `request body of ${size} bytes`;
  return new InfaasError('PAYLOAD_TOO_LARGE', `${what} is larger than the limit of ${l.bodyLimit} bytes (maxBodyBytes)`, { limit: l.bodyLimit });
}

export function registrationTooLarge(l: BodyLimits, size?: number): InfaasError {
  const limit = registrationLimit(l);
  const what = size === undefined ? 'registration' : `registration of ${size} bytes`;
  return new InfaasError('PAYLOAD_TOO_LARGE', `${what} is larger than the limit of ${limit} bytes (maxModelBytes ${l.modelLimit} for the model + maxBodyBytes ${l.bodyLimit} for the rest of the form)`, { limit });
}

export function fileTooLarge(l: BodyLimits, field: string): InfaasError {
  return new InfaasError('PAYLOAD_TOO_LARGE', `file ${excerpt(field)} is larger than the limit of ${l.modelLimit} bytes (maxModelBytes)`, { limit: l.modelLimit, field });
}

/** Whether a request is a registration upload (multipart to a route whose rules say `upload`). */
function isRegistration(req: FastifyRequest): boolean {
  return ((req.routeOptions.config ?? {}) as RouteRules).upload === true && /^multipart\/form-data\b/i.test(String(req.headers['content-type'] ?? ''));
}

/** onRequest: a declared body over its limit is refused before a byte of it is read. */
export function contentLengthCheck(limits: BodyLimits): onRequestAsyncHookHandler {
  return async (req) => {
    const header = req.headers['content-length'];
    const size = header === undefined ? 0 : Number(header);
    if ((req.method === 'GET' || req.method === 'HEAD') && (size > 0 || req.headers['transfer-encoding'] !== undefined)) {
      throw invalid(`${req.method} requests take no body`);
    }
    if (isRegistration(req)) {
      if (size > registrationLimit(limits)) throw registrationTooLarge(limits, size);
    } else if (size > limits.bodyLimit) {
      throw bodyTooLarge(limits, size);
    }
  };
}

/** preValidation: query fields and body as the route's rules allow. */
export function routeRulesCheck(): preValidationAsyncHookHandler {
  return async (req) => {
    if (req.is404) return;
    const rules = (req.routeOptions.config ?? {}) as RouteRules;
    const route = `${req.method} ${req.routeOptions.url}`;
    const hint = rules.hint ? `; ${rules.hint}` : '';
    const allowed = rules.query ?? [];
    const query = (req.query ?? {}) as Record<string, unknown>;
    const unknown = Object.keys(query).filter((k) => !allowed.includes(k));
    if (unknown.length) {
      const names = unknown.slice(0, 5).map((k) => excerpt(k, 32)).join(', ') + (unknown.length > 5 ? `, … (${unknown.length} in all)` : '');
      const takes = allowed.length ? `it takes ${allowed.join(', ')}` : 'it takes none';
      throw invalid(`unknown query parameter(s) ${names} for ${route}: ${takes}${hint}`, { allowed: [...allowed] });
    }
    if (!rules.body && hasBody(req)) throw invalid(`${route} takes no request body${hint}`);
  };
}

function hasBody(req: FastifyRequest): boolean {
  const b = req.body;
  if (b === undefined || b === null) return false;
  if (Buffer.isBuffer(b)) return b.length > 0;
  return !(typeof b === 'object' && Object.keys(b).length === 0 && !Array.isArray(b));
}
