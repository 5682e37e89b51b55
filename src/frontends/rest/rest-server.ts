// The REST frontend (docs/api.md): Fastify routes over the InfaasApi facade. Parses protocol details
// (content types, multipart, query strings) and maps InfaasError codes to HTTP statuses; nothing else.

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { InfaasError, invalid } from '../../core/errors.ts';
import type { InfaasApi } from '../../api/facade.ts';
import { parseQuerySpec, pickQueryFields } from '../../api/query-spec.ts';
import type { QueryInput } from '../../api/query-input.ts';
import type { Precision } from '../../core/types.ts';
import { HTTP_STATUS, fromFrameworkError } from './errors.ts';
import { readRegistrationForm } from './multipart-form.ts';
import { accessCheck, type AccessOptions } from './host-check.ts';

export interface RestOptions {
  bodyLimit: number;
  modelLimit: number;
  logger?: boolean;
  /** Which hosts and browser origins may call (host-check.ts); default: the loopback server's own names only. */
  access?: AccessOptions;
}

export async function buildRestServer(api: InfaasApi, opts: RestOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit, keepAliveTimeout: 60_000 });
  app.addHook('onRequest', accessCheck(opts.access ?? { listenHost: '127.0.0.1' }));
  await app.register(multipart, { limits: { fileSize: opts.modelLimit, files: 4, fields: 16 } });
  for (const type of ['application/octet-stream', 'image/png', 'image/jpeg']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, (_req, body, done) => done(null, body));
  }

  app.setErrorHandler((e, _req, reply) => sendError(reply, fromFrameworkError(e, opts.bodyLimit)));
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new InfaasError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}; see docs/api.md`)),
  );

  app.get('/v1/health', async () => api.health());
  app.get('/v1/usecases', async () => ({ useCases: api.listUseCases() }));
  app.get<{ Params: { task: string; dataset: string } }>('/v1/usecases/:task/:dataset/architectures', async (req) =>
    api.listArchitectures(req.params.task, req.params.dataset),
  );
  app.get<{ Params: { arch: string } }>('/v1/architectures/:arch', async (req) => api.getArchitecture(req.params.arch));
  app.get<{ Params: { name: string } }>('/v1/variants/:name', async (req) => ({ variant: api.getVariant(req.params.name) }));
  app.post<{ Params: { name: string }; Querystring: { worker?: string } }>('/v1/variants/:name/load', async (req) => api.loadVariant(req.params.name, req.query.worker));
  app.post<{ Params: { name: string } }>('/v1/variants/:name/unload', async (req) => api.unloadVariant(req.params.name));
  app.get('/v1/workers', async () => ({ workers: api.listWorkers(), autoscaling: api.autoscaling() }));

  app.post('/v1/models', async (req, reply) => {
    if (!req.isMultipart()) throw invalid('registration must be sent as multipart/form-data (fields task, dataset, arch; files model and validation or profile)');
    const form = await readRegistrationForm(req);
    const registration = await api.register({
      task: form.fields.task,
      dataset: form.fields.dataset,
      arch: form.fields.arch,
      description: form.fields.description,
      precision: (form.fields.precision || 'fp32') as Precision,
      replace: form.fields.replace === 'true' || form.fields.replace === '1',
      model: requireFile(form.files.model, 'model'),
      validation: form.files.validation,
      profile: form.files.profile ? parseJsonFile(form.files.profile, 'profile') : undefined,
      labels: form.files.labels ? parseLabels(form.files.labels) : undefined,
    });
    return reply.code(registration.state === 'SUCCEEDED' ? 201 : 202).send({ registration: await expand(api, registration) });
  });
  app.get<{ Params: { id: string } }>('/v1/registrations/:id', async (req) => ({
    registration: await expand(api, await api.getRegistration(req.params.id)),
  }));

  app.post('/v1/infer', async (req: FastifyRequest) => {
    const { fields, input } = readInferRequest(req);
    return api.infer(parseQuerySpec(fields), input);
  });

  return app;
}

function sendError(reply: FastifyReply, e: InfaasError): FastifyReply {
  // Overload and unavailability may say when to come back (RFC 9110 Retry-After, whole seconds).
  const retryAfterMs = e.details?.retryAfterMs;
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return reply.code(HTTP_STATUS[e.code]).send(e.toJSON());
}

function readInferRequest(req: FastifyRequest): { fields: Record<string, unknown>; input: QueryInput } {
  const query = (req.query ?? {}) as Record<string, unknown>;
  const body = req.body;
  if (Buffer.isBuffer(body)) {
    const ct = String(req.headers['content-type'] ?? '');
    const input: QueryInput = ct.startsWith('image/') ? { kind: 'images', images: [body] } : { kind: 'raw', bytes: body };
    return { fields: pickQueryFields(query), input };
  }
  if (body === undefined || body === null) throw invalid('request body is empty: send JSON with inputs or images, raw float32 bytes, or an image');
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('request body must be a JSON object with the query fields and inputs or images');
  const b = body as Record<string, unknown>;
  const fields = { ...pickQueryFields(query), ...pickQueryFields(b) };
  const unknown = Object.keys(b).filter((k) => !(k in fields) && k !== 'inputs' && k !== 'images');
  if (unknown.length) throw invalid(`unknown field(s) ${unknown.map((k) => `'${k}'`).join(', ')}; see docs/api.md`);
  if (b.inputs !== undefined && b.images !== undefined) throw invalid('send either inputs or images, not both');
  if (b.images !== undefined) {
    if (!Array.isArray(b.images) || !b.images.every((s) => typeof s === 'string')) throw invalid('images must be an array of base64-encoded PNG or JPEG strings');
    return { fields, input: { kind: 'images', images: b.images.map((s: string) => Buffer.from(s, 'base64')) } };
  }
  if (b.inputs === undefined) throw invalid('the request has no inputs: send "inputs" (arrays of numbers) or "images" (base64 PNG/JPEG)');
  if (Array.isArray(b.inputs)) return { fields, input: { kind: 'samples', samples: b.inputs } };
  if (typeof b.inputs === 'object' && b.inputs && 'data' in b.inputs) {
    const t = b.inputs as { shape?: unknown; data?: unknown };
    return { fields, input: { kind: 'tensor', shape: t.shape, data: t.data } };
  }
  throw invalid('inputs must be an array of samples or an object {shape, data}');
}

async function expand(api: InfaasApi, reg: Awaited<ReturnType<InfaasApi['getRegistration']>>) {
  const variants = reg.variants?.flatMap((n) => {
    try {
      return [api.getVariant(n)];
    } catch {
      return [];
    }
  });
  return { ...reg, variants };
}

function requireFile(f: Uint8Array | undefined, name: string): Uint8Array {
  if (!f) throw invalid(`missing file field '${name}'`);
  return f;
}

function parseJsonFile(bytes: Uint8Array, name: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw invalid(`${name} file is not valid JSON: ${(e as Error).message}`);
  }
}

function parseLabels(bytes: Uint8Array): string[] {
  const lines = Buffer.from(bytes).toString('utf8').split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (!lines.length) throw invalid('labels file is empty: one class name per line');
  return lines;
}
