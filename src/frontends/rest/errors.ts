// The edge mapping from error codes to HTTP statuses, and from Fastify's own errors to InfaasErrors.

import { InfaasError, asInfaasError, type ErrorCode } from '../../core/errors.ts';
import { bodyTooLarge, fileTooLarge, type BodyLimits } from './request-checks.ts';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  INVALID_MODEL: 400,
  INVALID_IMAGE: 400,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  SLO_UNSATISFIABLE: 422,
  DEADLINE_EXCEEDED: 504,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/**
 * Fastify and plugin errors carry a `code` like FST_ERR_CTP_BODY_TOO_LARGE and a statusCode. Their messages
 * are replaced by ours: they may quote the request (a whole URL) or name the wrong limit.
 */
export function fromFrameworkError(e: unknown, limits: BodyLimits): InfaasError {
  if (e instanceof InfaasError) return e;
  const err = e as { code?: string; statusCode?: number; message?: string };
  const msg = String(err?.message ?? e);
  switch (err?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyTooLarge(limits);
    case 'FST_REQ_FILE_TOO_LARGE':
      return fileTooLarge(limits, (e as { part?: { fieldname?: string } }).part?.fieldname ?? 'model');
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new InfaasError('PAYLOAD_TOO_LARGE', 'the form has too many parts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new InfaasError('INVALID_ARGUMENT', `unsupported Content-Type: send application/json, application/octet-stream, image/png, image/jpeg or multipart/form-data`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InfaasError('INVALID_ARGUMENT', 'request body is empty: send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new InfaasError('INVALID_ARGUMENT', 'malformed JSON body: it does not parse as JSON');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new InfaasError('INVALID_ARGUMENT', 'registration must be sent as multipart/form-data');
    case 'FST_ERR_BAD_URL':
      return new InfaasError('INVALID_ARGUMENT', 'malformed URL: its path is not valid percent-encoding');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new InfaasError('INVALID_ARGUMENT', 'a name in the URL path is too long: names are at most 256 characters');
  }
  if (e instanceof SyntaxError) return new InfaasError('INVALID_ARGUMENT', `malformed JSON body: ${msg.slice(0, 200)}`);
  if (typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new InfaasError(err.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_ARGUMENT', msg.slice(0, 200));
  }
  return asInfaasError(e);
}
