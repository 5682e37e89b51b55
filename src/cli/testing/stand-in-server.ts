// TEST ONLY — a stand-in for the real INFaaS REST server (src/frontends/rest, written in parallel): a small real
// Fastify server on 127.0.0.1 that answers just enough of docs/api.md, with canned data, for the CLI's end-to-end
// tests. It decodes uploaded validation sets and images for real and records what each request carried.

import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import multipart from '@fastify/multipart';
import type { AddressInfo } from 'node:net';
import { decodeValidationSet } from '../../core/validation-set.ts';
import type { UseCase, Variant, WorkerStatus } from '../../core/types.ts';
import { decodeImage } from '../../image/decode-image.ts';
import type { Registration } from '../api-types.ts';

export const LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const USE_CASE: UseCase = { id: 'classification/fashion-mnist', task: 'classification', dataset: 'fashion-mnist', inputShape: [1, 28, 28], labels: LABELS };

export function makeVariant(arch: string, threads: number, maxBatch: number): Variant {
  return {
    name: `${arch}.fp32.t${threads}.b${maxBatch}.all`,
    arch,
    useCase: USE_CASE.id,
    artifactId: `${arch}.fp32`,
    config: { backend: 'ort-cpu', threads, maxBatch, optLevel: 'all' },
    profile: {
      accuracy: 89.25, loadMs: 21.5, memoryMB: 12.4, peakThroughput: 5120, workerClass: `cpu-${threads}`,
      costPerHour: 0.048 * threads, costPer1k: 0.0000026, measuredAt: '2025-01-01T00:00:00Z',
      latency: [{ batch: 1, p50: 0.412, p95: 0.533 }, { batch: maxBatch, p50: 1.2, p95: 1.56 }],
    },
  };
}

const VARIANTS = [makeVariant('fmnist-cnn-m', 1, 8), makeVariant('fmnist-cnn-m', 2, 16)];
const WORKERS: WorkerStatus[] = [{
  id: 'w1', workerClass: 'cpu-2', address: '127.0.0.1:9101', startedAt: 0, updatedAt: 0, memoryBudgetMB: 2048, memoryUsedMB: 140.5,
  replicas: [{ variant: VARIANTS[0].name, state: 'active', queued: 0, lastUsedAt: 0, memoryMB: 12.4 }],
}];

/** What the stand-in saw, for assertions. */
export interface Seen {
  registrations: { fields: Record<string, string>; files: Record<string, { filename: string; bytes: number }>; validationCount?: number; validationClasses?: number[] }[];
  infers: { contentType: string; query: Record<string, string>; body: Record<string, unknown> | null; batch: number }[];
}

export interface StandIn { url: string; seen: Seen; close(): Promise<void> }

function fail(reply: FastifyReply, status: number, code: string, error: string, details?: Record<string, unknown>) {
  return reply.code(status).send({ error, code, ...(details ? { details } : {}) });
}

export async function startStandIn(): Promise<StandIn> {
  const app: FastifyInstance = Fastify();
  await app.register(multipart, { limits: { fileSize: 64 * 1024 * 1024 } });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const seen: Seen = { registrations: [], infers: [] };
  const regs = new Map<string, Registration>();

  app.get('/v1/usecases', async () => ({ useCases: [{ ...USE_CASE, architectures: 1 }] }));
  app.get<{ Params: { task: string; dataset: string } }>('/v1/usecases/:task/:dataset/architectures', async (req, reply) => {
    if (`${req.params.task}/${req.params.dataset}` !== USE_CASE.id) return fail(reply, 404, 'NOT_FOUND', `use case ${req.params.task}/${req.params.dataset} not found`);
    return { useCase: USE_CASE, architectures: [{ name: 'fmnist-cnn-m', description: 'CNN 2x conv', artifacts: [{ id: 'fmnist-cnn-m.fp32', precision: 'fp32', accuracy: 89.25, bytes: 90000 }], variants: 2, bestAccuracy: 89.25, fastestP50Ms: 0.412 }] };
  });
  app.get<{ Params: { arch: string } }>('/v1/architectures/:arch', async (req, reply) => {
    if (req.params.arch !== 'fmnist-cnn-m') return fail(reply, 404, 'NOT_FOUND', `architecture ${req.params.arch} not found`);
    const artifact = { id: 'fmnist-cnn-m.fp32', arch: 'fmnist-cnn-m', precision: 'fp32', key: 'k', bytes: 90000, sha256: 'x', inputName: 'input', outputName: 'probs', accuracy: 89.25 };
    return { architecture: { name: 'fmnist-cnn-m', useCase: USE_CASE.id, description: 'CNN 2x conv', artifacts: [artifact], registeredAt: '2025-01-01T00:00:00Z' }, useCase: USE_CASE, variants: VARIANTS };
  });
  app.get('/v1/workers', async () => ({ workers: WORKERS }));

  app.post('/v1/models', async (req, reply) => {
    const fields: Record<string, string> = {};
    const files: Record<string, { filename: string; bytes: number }> = {};
    let valset: Buffer | undefined;
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        const buf = await part.toBuffer();
        files[part.fieldname] = { filename: part.filename, bytes: buf.length };
        if (part.fieldname === 'validation') valset = buf;
      } else fields[part.fieldname] = String(part.value);
    }
    const rec: Seen['registrations'][number] = { fields, files };
    seen.registrations.push(rec);
    if (!fields.task || !fields.dataset || !fields.arch || !files.model) return fail(reply, 400, 'INVALID_ARGUMENT', 'task, dataset, arch and model are required');
    if (fields.arch === 'fmnist-cnn-m' && fields.replace !== 'true') return fail(reply, 409, 'ALREADY_EXISTS', 'architecture fmnist-cnn-m already exists (use --replace)');
    if (valset) {
      try {
        const v = decodeValidationSet(valset);
        rec.validationCount = v.count;
        rec.validationClasses = Array.from(v.labels);
      } catch (e) {
        return fail(reply, 400, 'INVALID_ARGUMENT', (e as Error).message);
      }
    }
    const now = new Date(0).toISOString();
    const reg: Registration = { id: `r${regs.size + 1}`, arch: fields.arch, useCase: `${fields.task}/${fields.dataset}`, state: 'PROFILING', progress: { done: 0, total: 4, stage: 'validating' }, createdAt: now, updatedAt: now };
    regs.set(reg.id, reg);
    return reply.code(202).send({ registration: reg });
  });
  app.get<{ Params: { id: string } }>('/v1/registrations/:id', async (req, reply) => {
    const reg = regs.get(req.params.id);
    if (!reg) return fail(reply, 404, 'NOT_FOUND', `registration ${req.params.id} not found`);
    if (reg.state === 'PROFILING') {
      reg.progress = { done: reg.progress.done + 2, total: 4, stage: `profiling t${reg.progress.done / 2 + 1} all b8` };
      if (reg.progress.done >= reg.progress.total) {
        if (reg.arch === 'broken') Object.assign(reg, { state: 'FAILED', error: 'profiling crashed: out of memory' });
        else Object.assign(reg, { state: 'SUCCEEDED', variants: [makeVariant(reg.arch, 1, 8)] });
      }
    }
    return { registration: reg };
  });

  app.post('/v1/infer', async (req, reply) => {
    const contentType = String(req.headers['content-type'] ?? '');
    const raw = Buffer.isBuffer(req.body);
    const body = raw ? null : (req.body as Record<string, unknown>);
    const sel = (raw ? req.query : body) as Record<string, unknown>;
    let samples: Float32Array[] = [];
    if (raw) {
      const b = req.body as Buffer;
      const floats = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      for (let i = 0; i + 784 <= floats.length; i += 784) samples.push(floats.slice(i, i + 784));
    } else if (Array.isArray(body?.images)) {
      try {
        samples = (body.images as string[]).map((s) => decodeImage(Buffer.from(s, 'base64'), [1, 28, 28]));
      } catch (e) {
        return fail(reply, 400, 'INVALID_IMAGE', (e as Error).message);
      }
    } else if (Array.isArray(body?.inputs)) {
      samples = (body.inputs as unknown[]).map((s) => Float32Array.from((s as unknown[]).flat(3) as number[]));
    } else if (body?.inputs && typeof body.inputs === 'object') {
      const t = body.inputs as { shape: number[]; data: number[] };
      for (let i = 0; i < t.shape[0]; i++) samples.push(Float32Array.from(t.data.slice(i * 784, (i + 1) * 784)));
    }
    seen.infers.push({ contentType, query: req.query as Record<string, string>, body, batch: samples.length });
    if (samples.length === 0) return fail(reply, 400, 'INVALID_ARGUMENT', 'no inputs');
    if (sel.latencyMs !== undefined && Number(sel.latencyMs) < 0.3) {
      return fail(reply, 422, 'SLO_UNSATISFIABLE', `no variant of ${sel.arch ?? sel.dataset} meets ${sel.latencyMs} ms`, {
        alternatives: {
          fastestMeetingAccuracy: { variant: VARIANTS[0].name, p95Ms: 0.533, accuracy: 89.25 },
          mostAccurateMeetingLatency: { variant: 'fmnist-mlp-s.fp32.t1.b8.all', p95Ms: 0.21, accuracy: 84.5 },
        },
      });
    }
    // Canned scores: class = round(mean brightness * 9), so a bright image is "Ankle boot" and a dark one "T-shirt/top".
    const topK = Number(sel.topK ?? 3);
    const probs = samples.map((s) => {
      const mean = s.reduce((a, b) => a + b, 0) / s.length;
      const top = Math.round(mean * 9);
      return LABELS.map((_, i) => (i === top ? 0.91 : 0.01));
    });
    return {
      variant: String(sel.variant ?? VARIANTS[0].name), arch: 'fmnist-cnn-m', worker: 'w1', coldStart: seen.infers.length === 1, batch: samples.length,
      outputs: [{ name: 'probs', shape: [samples.length, 10], data: probs.flat() }],
      predictions: String(sel.variant ?? '').includes('nolabels') ? undefined : probs.map((p) => p.map((score, index) => ({ index, label: LABELS[index], score })).sort((a, b) => b.score - a.score).slice(0, topK)),
      timing: { queueMs: 0.012, loadMs: seen.infers.length === 1 ? 25 : 0, inferenceMs: 0.41, totalMs: 0.6 },
    };
  });

  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => app.close() };
}
