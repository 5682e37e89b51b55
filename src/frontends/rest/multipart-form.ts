// Reads a registration's multipart/form-data body into text fields and whole files, with clear errors.

import type { FastifyRequest } from 'fastify';
import { invalid } from '../../core/errors.ts';

const TEXT_FIELDS = new Set(['task', 'dataset', 'arch', 'description', 'precision', 'replace']);
const FILE_FIELDS = new Set(['model', 'validation', 'profile', 'labels']);

export interface RegistrationForm {
  fields: Record<string, string>;
  files: Record<string, Uint8Array>;
}

export async function readRegistrationForm(req: FastifyRequest): Promise<RegistrationForm> {
  const fields: Record<string, string> = {};
  const files: Record<string, Uint8Array> = {};
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (!FILE_FIELDS.has(part.fieldname)) {
        await part.toBuffer();
        throw invalid(`unknown file field '${part.fieldname}' (expected: ${[...FILE_FIELDS].join(', ')})`);
      }
      files[part.fieldname] = await part.toBuffer();
    } else {
      if (!TEXT_FIELDS.has(part.fieldname) && !FILE_FIELDS.has(part.fieldname)) {
        throw invalid(`unknown field '${part.fieldname}' (expected: ${[...TEXT_FIELDS].join(', ')})`);
      }
      const v = String(part.value ?? '');
      // Files sent as plain text fields (e.g. curl -F labels="<file") are accepted too.
      if (FILE_FIELDS.has(part.fieldname)) files[part.fieldname] = Buffer.from(v, 'utf8');
      else fields[part.fieldname] = v;
    }
  }
  return { fields, files };
}
