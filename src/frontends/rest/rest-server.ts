// The REST frontend (docs/api.md): Fastify routes over the InfaasApi facade. Parses protocol details (content
// types, multipart, query strings), checks what each route takes (request-checks.ts) and maps InfaasError codes to
// HTTP statuses (errors.ts, send-error.ts); nothing else.

import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyContextConfig, type FastifyInstance, type RouteShorthandOptions } from 'fastify';
import multipart from '@fastify/multipart';
import { InfaasError, excerpt, invalid } from '../../core/errors.ts';
import type { InfaasApi } from '../../api/facade.ts';
import { SELECTION_FIELDS, parseQuerySpec } from '../../api/query-spec.ts';
import type { Precision } from '../../core/types.ts';
import { DecodePool, type DecodePoolOptions } from '../../image/decode-pool.ts';
import type { ImageDecoder } from '../../image/image-decoder.ts';
import { fromFrameworkError } from './errors.ts';
import { clientErrorHandler, errorSender } from './send-error.ts';
import { contentLengthCheck, routeRulesCheck, type RouteRules } from './request-checks.ts';
import { readInferRequest } from './infer-request.ts';
import { multipartLimits, readRegistrationForm } from './multipart-form.ts';
import { accessCheck, type AccessOptions } from './host-check.ts';

export interface RestOptions {
  /** Largest request body, bytes (maxBodyBytes). */
  bodyLimit: number;
  /** Largest file of a registration, bytes (maxModelBytes); a whole registration may carry bodyLimit more. */
  modelLimit: number;
  logger?: boolean;
  /** Which hosts and browser origins may call (host-check.ts); default: the loopback server's own names only. */
  access?: AccessOptions;
  /** Image inputs: the pixel limit and the decode pool's threads and queue (decode-pool.ts defaults). */
  images?: DecodePoolOptions;
  /** What decodes image inputs instead of a pool built from `images` (tests); the caller closes it. */
  decoder?: ImageDecoder;
  /**
   * Directories of this server (data dir, socket dir, ...) never named in an error reply: they are replaced by a
   * placeholder. The OS temporary directory, the working directory and the source tree are always added.
   */
  privatePaths?: readonly string[];
}

/** Longest path parameter (names are at most 128 characters, variant names and registration ids a little more). */
const MAX_PARAM_LENGTH = 256;
const SOURCE_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export async function buildRestServer(api: InfaasApi, opts: RestOptions): Promise<FastifyInstance> {
  const limits = { bodyLimit: opts.bodyLimit, modelLimit: opts.modelLimit };
  const sendError = errorSender([...(opts.privatePaths ?? []), tmpdir(), process.cwd(), SOURCE_ROOT]);
  const toError = (e: unknown) => fromFrameworkError(e, limits);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit,
    keepAliveTimeout: 60_000,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // `__proto__` and `constructor` keys are kept as own properties, and refused as unknown fields like any other.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    frameworkErrors: (e, _req, reply) => sendError(reply, toError(e)),
    clientErrorHandler,
  });
  app.addHook('onRequest', accessCheck(opts.access ?? { listenHost: '127.0.0.1' }));
  app.addHook('onRequest', contentLengthCheck(limits));
  app.addHook('preValidation', routeRulesCheck());
  await app.register(multipart, { limits: multipartLimits(limits) });
  for (const type of ['application/octet-stream', 'image/png', 'image/jpeg']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, (_req, body, done) => done(null, body));
  }
  const pool = opts.decoder ? undefined : new DecodePool(opts.images);
  const decoder = opts.decoder ?? pool!;
  app.addHook('onClose', async () => pool?.close());
  app.addHook('preClose', async () => sendError.dropLingering());

  app.setErrorHandler((e, _req, reply) => sendError(reply, toError(e)));
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new InfaasError('NOT_FOUND', `no route ${req.method} ${excerpt(req.url.split('?')[0], 100)}; see docs/api.md`)),
  );

  const rules = (r: RouteRules): RouteShorthandOptions => ({ config: r as FastifyContextConfig });
  app.get('/v1/health', async () => api.health());
  app.get('/v1/usecases', async () => ({ useCases: api.listUseCases() }));
  app.get<{ Params: { task: string; dataset: string } }>('/v1/usecases/:task/:dataset/architectures', async (req) =>
    api.listArchitectures(req.params.task, req.params.dataset),
  );
  app.get<{ Params: { arch: string } }>('/v1/architectures/:arch', async (req) => api.getArchitecture(req.params.arch));
  app.get<{ Params: { name: string } }>('/v1/variants/:name', async (req) => ({ variant: api.getVariant(req.params.name) }));
  const load = rules({ query: ['worker'], hint: 'give the worker as ?worker=ID' });
  app.post<{ Params: { name: string }; Querystring: { worker?: unknown } }>('/v1/variants/:name/load', load, async (req) =>
    api.loadVariant(req.params.name, workerParam(req.query.worker)),
  );
  app.post<{ Params: { name: string } }>('/v1/variants/:name/unload', async (req) => api.unloadVariant(req.params.name));
  app.get('/v1/workers', async () => ({ workers: api.listWorkers(), autoscaling: api.autoscaling() }));

  app.post('/v1/models', rules({ body: true, upload: true }), async (req, reply) => {
    if (!req.isMultipart()) throw invalid('registration must be sent as multipart/form-data (fields task, dataset, arch; files model and validation or profile)');
    const { fields, files } = await readRegistrationForm(req, limits);
    const registration = await api.register({
      task: fields.task as string,
      dataset: fields.dataset as string,
      arch: fields.arch as string,
      description: fields.description,
      precision: (fields.precision || 'fp32') as Precision,
      replace: flag(fields.replace, 'replace'),
      model: requireFile(files.model, 'model'),
      validation: files.validation,
      profile: files.profile ? parseJsonFile(files.profile, 'profile') : undefined,
      labels: files.labels ? parseLabels(files.labels) : undefined,
    });
    return reply.code(registration.state === 'SUCCEEDED' ? 201 : 202).send({ registration: await expand(api, registration) });
  });
  app.get<{ Params: { id: string } }>('/v1/registrations/:id', async (req) => ({
    registration: await expand(api, await api.getRegistration(req.params.id)),
  }));

  const infer = rules({ query: SELECTION_FIELDS, body: true, hint: 'inputs go in the body; see docs/api.md' });
  app.post('/v1/infer', infer, async (req) => {
    const { fields, input } = readInferRequest(req, decoder);
    return api.infer(parseQuerySpec(fields), input);
  });

  return app;
}

function workerParam(w: unknown): string | undefined {
  if (w === undefined || w === '') return undefined;
  if (typeof w !== 'string') throw invalid('worker must be given once (?worker=ID)');
  if (w.length > MAX_PARAM_LENGTH) throw invalid(`worker ${excerpt(w)} is not a worker id: ids are at most ${MAX_PARAM_LENGTH} characters`);
  return w;
}

function flag(v: string | undefined, name: string): boolean {
  if (v === undefined || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw invalid(`${name} must be true or false (got ${excerpt(v)})`);
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
    throw invalid(`${name} file is not valid JSON: ${excerpt((e as Error).message, 200)}`);
  }
}

function parseLabels(bytes: Uint8Array): string[] {
  const lines = Buffer.from(bytes).toString('utf8').split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (!lines.length) throw invalid('labels file is empty: one class name per line');
  return lines;
}
