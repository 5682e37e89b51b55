// Test kit: the real REST frontend (buildRestServer) on loopback over a real InfaasApi, Dispatcher, ModelIndex and
// LiveClusterView, with one fake worker (fake-worker.ts) and a registry that records what reaches it: for tests
// of what the HTTP edge accepts, refuses and says. One use case, `classification/tiny` ([1,4,4] inputs), one
// architecture `tiny` and its variant `tiny.fp32.t1.b4.all` (max batch 4).

import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { InfaasApi } from '../api/facade.ts';
import { excerpt, notFound } from '../core/errors.ts';
import type { Architecture, Tensor, UseCase } from '../core/types.ts';
import { Dispatcher } from '../controller/dispatcher.ts';
import { LiveClusterView } from '../controller/live-cluster-view.ts';
import { ModelIndex } from '../controller/model-index.ts';
import type { Registration, RegisterRequest, Registry } from '../controller/registry.ts';
import { keys } from '../metadata/metadata-store.ts';
import { MemoryStore } from '../metadata/memory/memory-store.ts';
import { makeVariant } from '../policy/fixtures.ts';
import { buildRestServer, type RestOptions } from '../frontends/rest/rest-server.ts';
import { FakeWorkerClient } from './fake-worker.ts';

export const KIT_USE_CASE: UseCase = { id: 'classification/tiny', task: 'classification', dataset: 'tiny', inputShape: [1, 4, 4], labels: ['a', 'b'] };
export const KIT_VARIANT = makeVariant({ name: 'tiny.fp32.t1.b4.all', arch: 'tiny', useCase: KIT_USE_CASE.id, maxBatch: 4, p95: 1 });
const ARCH: Architecture = {
  name: 'tiny', useCase: KIT_USE_CASE.id, registeredAt: '',
  artifacts: [{ id: 'tiny.fp32', arch: 'tiny', precision: 'fp32', key: 'tiny.onnx', bytes: 1, sha256: '', inputName: 'x', outputName: 'y', accuracy: 90 }],
};

export interface RestKit {
  url: string;
  app: FastifyInstance;
  worker: FakeWorkerClient;
  /** The tensors the worker was asked to run. */
  inputs: Tensor[];
  /** What reached registry.register. */
  registered: RegisterRequest[];
  close(): Promise<void>;
}

export interface RestKitOptions {
  /** Options of buildRestServer over the defaults (1 MiB bodies, 2 MiB files). */
  rest?: Partial<RestOptions>;
  /** What registry.get throws (default: NOT_FOUND as the registry says it). */
  registryGetError?: (id: string) => Error;
}

export async function startRestKit(opts: RestKitOptions = {}): Promise<RestKit> {
  const store = new MemoryStore();
  await store.set(keys.useCase(KIT_USE_CASE.id), KIT_USE_CASE);
  await store.set(keys.architecture(ARCH.name), ARCH);
  await store.set(keys.variant(KIT_VARIANT.name), KIT_VARIANT);
  const index = await ModelIndex.load(store);
  const inputs: Tensor[] = [];
  const worker = new FakeWorkerClient('w1', { onInfer: (_spec, input) => void inputs.push(input) });
  const view = new LiveClusterView();
  view.sync([await worker.status()], index.variants);
  const dispatcher = new Dispatcher({ index: () => index, view, workers: { clients: () => [worker], get: (id) => (id === worker.id ? worker : undefined), snapshot: () => [] } });
  const registered: RegisterRequest[] = [];
  const registry = {
    async register(req: RegisterRequest): Promise<Registration> {
      registered.push(req);
      const now = new Date(0).toISOString();
      return { id: `${req.arch}.fp32-00000000`, arch: req.arch, useCase: `${req.task}/${req.dataset}`, precision: 'fp32', state: 'PROFILING', progress: { done: 0, total: 1, stage: 'queued' }, createdAt: now, updatedAt: now };
    },
    async get(id: string): Promise<Registration> {
      throw opts.registryGetError?.(id) ?? notFound(`no registration with id ${excerpt(id)}`);
    },
  } as unknown as Registry;
  const api = new InfaasApi({ index: () => index, registry, dispatcher, workers: () => [] });
  const app = await buildRestServer(api, { bodyLimit: 1024 * 1024, modelLimit: 2 * 1024 * 1024, ...opts.rest });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url, app, worker, inputs, registered,
    close: async () => {
      await app.close();
      worker.close();
    },
  };
}

export interface StreamedReply {
  /** Undefined when the connection closed without an answer. */
  status?: number;
  headers: Record<string, string | string[] | undefined>;
  json?: { code: string; error: string; details?: Record<string, unknown> };
  /** Body bytes the client got to write before the server answered or closed the connection. */
  written: number;
}

/**
 * Sends a request whose body is `chunks` (written with back-pressure, stopping as soon as the server answers or
 * closes the connection), without ending the body when `end` is false. For bodies the server must refuse early.
 */
export function sendStreamed(url: string, opts: { method?: string; headers: Record<string, string>; chunks: Iterable<Buffer>; end?: boolean }): Promise<StreamedReply> {
  return new Promise((resolve) => {
    let written = 0;
    let stopped = false;
    const done = (r: Omit<StreamedReply, 'written'>) => {
      if (stopped) return;
      stopped = true;
      resolve({ ...r, written });
      req.destroy();
    };
    const req = request(url, { method: opts.method ?? 'POST', headers: opts.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => done({ status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : undefined }));
      res.on('error', () => done({ status: res.statusCode, headers: res.headers }));
    });
    req.on('error', () => setImmediate(() => done({ headers: {} }))); // a reset may come just before the answer is read
    const it = opts.chunks[Symbol.iterator]();
    const pump = () => {
      for (let next = it.next(); !stopped && !next.done; next = it.next()) {
        written += next.value.length;
        if (!req.write(next.value)) return void req.once('drain', pump);
      }
      if (!stopped && opts.end !== false) req.end();
    };
    req.flushHeaders();
    pump();
  });
}
