// Reads a registration's multipart/form-data body into text fields and whole files, with clear errors: a missing
// boundary or a cut-off body is a 400, not a server error; a file over maxModelBytes, or a form over the
// registration limit, stops the upload at once (413) instead of reading it to its end; a field given twice, an
// unknown one (`constructor` included) or a text field over its limit is refused.

import type { FastifyRequest } from 'fastify';
import type { MultipartFile } from '@fastify/multipart';
import { InfaasError, excerpt, invalid } from '../../core/errors.ts';
import { fileTooLarge, registrationLimit, registrationTooLarge, type BodyLimits } from './request-checks.ts';

const TEXT_FIELDS = ['task', 'dataset', 'arch', 'description', 'precision', 'replace'];
const FILE_FIELDS = ['model', 'validation', 'profile', 'labels'];
/** Largest text field, bytes. */
export const MAX_TEXT_FIELD = 1024 * 1024;
const MAX_FILES = 4;
const MAX_FIELDS = 16;

/** The limits the multipart plugin enforces while it parses. */
export function multipartLimits(l: BodyLimits) {
  return { fileSize: l.modelLimit, files: MAX_FILES, fields: MAX_FIELDS, parts: MAX_FILES + MAX_FIELDS, fieldSize: MAX_TEXT_FIELD };
}

export interface RegistrationForm {
  fields: Partial<Record<string, string>>;
  files: Partial<Record<string, Uint8Array>>;
}

export async function readRegistrationForm(req: FastifyRequest, limits: BodyLimits): Promise<RegistrationForm> {
  const fields: Record<string, string> = {};
  const files: Record<string, Uint8Array> = {};
  const seen = new Set<string>();
  // A body without Content-Length is counted as it arrives: past the limit, reading stops and the form fails.
  const total = registrationLimit(limits);
  let received = 0;
  let over = false;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= total || over) return;
    over = true;
    req.raw.unpipe();
    req.raw.pause();
    req.raw.emit('error', registrationTooLarge(limits)); // the multipart plugin ends the parts with this error
  };
  req.raw.on('data', onData);
  try {
    for await (const part of req.parts()) {
      const name = part.fieldname;
      const known = part.type === 'file' ? FILE_FIELDS.includes(name) : TEXT_FIELDS.includes(name) || FILE_FIELDS.includes(name);
      if (!known) {
        throw invalid(`unknown ${part.type === 'file' ? 'file ' : ''}field ${excerpt(name, 32)} (expected: ${[...TEXT_FIELDS, ...FILE_FIELDS].join(', ')})`);
      }
      if (seen.has(name)) throw invalid(`field ${excerpt(name)} is given twice: give each field once`);
      seen.add(name);
      if (part.type === 'file') {
        files[name] = await readFile(part, limits);
      } else {
        if (part.valueTruncated) throw new InfaasError('PAYLOAD_TOO_LARGE', `field ${excerpt(name)} is longer than the limit of ${MAX_TEXT_FIELD} bytes`, { limit: MAX_TEXT_FIELD });
        const v = String(part.value ?? '');
        // Files sent as plain text fields (e.g. curl -F labels="<file") are accepted too.
        if (FILE_FIELDS.includes(name)) files[name] = Buffer.from(v, 'utf8');
        else fields[name] = v;
      }
    }
  } catch (e) {
    // The form is refused: nothing more of it is read (the reply closes the connection).
    req.raw.unpipe();
    req.raw.pause();
    if (over) throw registrationTooLarge(limits);
    throw formError(e, limits);
  } finally {
    req.raw.off('data', onData);
  }
  return { fields, files };
}

/**
 * A file part's bytes. Past the file limit busboy drops the rest of the part but reads it to its end (so does the
 * plugin's toBuffer); here the part fails at once.
 */
async function readFile(part: MultipartFile, limits: BodyLimits): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  part.file.once('limit', () => part.file.destroy(fileTooLarge(limits, part.fieldname)));
  for await (const chunk of part.file) chunks.push(chunk as Buffer);
  if (part.file.truncated) throw fileTooLarge(limits, part.fieldname);
  return Buffer.concat(chunks);
}

/** The multipart plugin's and busboy's errors as InfaasErrors; anything else is passed on as it is. */
function formError(e: unknown, limits: BodyLimits): unknown {
  if (e instanceof InfaasError) return e;
  const err = e as { code?: string; message?: string; part?: { fieldname?: string } };
  const message = String(err?.message ?? '');
  switch (err?.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return fileTooLarge(limits, err.part?.fieldname ?? 'model');
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new InfaasError('PAYLOAD_TOO_LARGE', `the form has too many parts: at most ${MAX_FILES} files and ${MAX_FIELDS} text fields`);
    case 'FST_PROTO_VIOLATION':
      return invalid(`a form field is named after a built-in property (such as constructor or __proto__): unknown field (expected: ${[...TEXT_FIELDS, ...FILE_FIELDS].join(', ')})`);
    case 'FST_MP_PREMATURE_CLOSE':
      return invalid('malformed multipart/form-data body: the request ended before the form did');
  }
  // busboy's own errors are plain Errors with these messages.
  if (/^Multipart: Boundary not found/.test(message)) {
    return invalid('malformed multipart/form-data body: its Content-Type gives no boundary (multipart/form-data; boundary=...)');
  }
  if (/^Unexpected end of (form|multipart data)|^Part terminated early/.test(message)) {
    return invalid('malformed multipart/form-data body: it ends before the closing boundary (cut off, or not multipart)');
  }
  if (/^Malformed (part header|content type)|^Multipart: /.test(message)) return invalid(`malformed multipart/form-data body: ${excerpt(message, 200)}`);
  return e;
}
