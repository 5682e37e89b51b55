// Typed errors with stable codes. Frontends map codes to HTTP/gRPC status; nothing below them knows HTTP.

export type ErrorCode =
  | 'INVALID_ARGUMENT' // malformed request, wrong shape/dtype, bad option
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND' // unknown model, architecture, variant, use case
  | 'ALREADY_EXISTS' // re-registering without --replace
  | 'INVALID_MODEL' // corrupt ONNX, unsupported op, wrong input shape for the use case
  | 'INVALID_IMAGE' // undecodable image
  | 'SLO_UNSATISFIABLE' // no variant can meet the requested accuracy/latency/cost
  | 'DEADLINE_EXCEEDED'
  | 'RESOURCE_EXHAUSTED' // overloaded: the request was refused early; details.retryAfterMs says when to try again
  | 'PERMISSION_DENIED' // the request came from where it may not (another web site, a host name this server is not)
  | 'UNAVAILABLE' // no worker, worker crashed, shutting down
  | 'INTERNAL';

export class InfaasError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'InfaasError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; error: string; details?: Record<string, unknown> } {
    return { code: this.code, error: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export const invalid = (msg: string, details?: Record<string, unknown>) => new InfaasError('INVALID_ARGUMENT', msg, details);
export const notFound = (msg: string, details?: Record<string, unknown>) => new InfaasError('NOT_FOUND', msg, details);
export const invalidModel = (msg: string, details?: Record<string, unknown>) => new InfaasError('INVALID_MODEL', msg, details);
export const unavailable = (msg: string, details?: Record<string, unknown>) => new InfaasError('UNAVAILABLE', msg, details);

/** Turns anything thrown into an InfaasError (unknown errors become INTERNAL). */
export function asInfaasError(e: unknown): InfaasError {
  if (e instanceof InfaasError) return e;
  if (e && typeof e === 'object' && 'code' in e && 'message' in e && typeof (e as any).code === 'string' && isCode((e as any).code)) {
    return new InfaasError((e as any).code, String((e as any).message), (e as any).details);
  }
  return new InfaasError('INTERNAL', e instanceof Error ? e.message : String(e));
}

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'INVALID_ARGUMENT', 'PAYLOAD_TOO_LARGE', 'NOT_FOUND', 'ALREADY_EXISTS', 'INVALID_MODEL', 'INVALID_IMAGE',
  'SLO_UNSATISFIABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'PERMISSION_DENIED', 'UNAVAILABLE', 'INTERNAL',
]);

export function isCode(s: string): s is ErrorCode {
  return CODES.has(s);
}

/**
 * A short, safe excerpt of a client-supplied value for an error message: at most `max` characters (default 64),
 * control characters escaped, with the full length said when cut.
 */
export function excerpt(value: unknown, max = 64): string {
  const text = typeof value === 'string' ? value : String(value);
  const shown = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return text.length > max ? `${shown.slice(0, -1)}…" (${text.length} characters)` : shown;
}

/** Runs `f` with no stack captured for errors it creates (refusals under overload are many, their stack says nothing). */
export function withoutStack<T>(f: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
