// Image inputs under load (issue 11): requests carrying 4096x4096 16-bit PNGs (seconds each to decode) while a
// client polls GET /v1/health every 100 ms. Prints, per request: its status and time, and the health checks
// answered meanwhile (how many, the slowest). The REST server runs in this process over a fake worker.
// Usage: npx tsx bench/image-inputs.ts [--side 4096] [--images 5] [--max-batch 4]

import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import pngjs from 'pngjs';
import { InfaasApi } from '../src/api/facade.ts';
import type { Architecture, UseCase } from '../src/core/types.ts';
import { Dispatcher } from '../src/controller/dispatcher.ts';
import { LiveClusterView } from '../src/controller/live-cluster-view.ts';
import { ModelIndex } from '../src/controller/model-index.ts';
import type { Registry } from '../src/controller/registry.ts';
import { keys } from '../src/metadata/metadata-store.ts';
import { MemoryStore } from '../src/metadata/memory/memory-store.ts';
import { makeVariant } from '../src/policy/fixtures.ts';
import { buildRestServer } from '../src/frontends/rest/rest-server.ts';
import { FakeWorkerClient } from '../src/testing/fake-worker.ts';

const arg = (name: string, dflt: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || dflt;
const SIDE = arg('side', 4096);
const IMAGES = arg('images', 5);
const MAX_BATCH = arg('max-batch', 4);

const useCase: UseCase = { id: 'classification/img', task: 'classification', dataset: 'img', inputShape: [3, 28, 28] };
const variant = makeVariant({ name: 'img.fp32.t1.b.all', arch: 'img', useCase: useCase.id, maxBatch: MAX_BATCH });
const arch: Architecture = { name: 'img', useCase: useCase.id, registeredAt: '', artifacts: [{ id: 'img.fp32', arch: 'img', precision: 'fp32', key: 'k', bytes: 1, sha256: '', inputName: 'x', outputName: 'y', accuracy: 90 }] };

const store = new MemoryStore();
await store.set(keys.useCase(useCase.id), useCase);
await store.set(keys.architecture(arch.name), arch);
await store.set(keys.variant(variant.name), variant);
const index = await ModelIndex.load(store);
const worker = new FakeWorkerClient('w1');
const view = new LiveClusterView();
view.sync([await worker.status()], index.variants);
const dispatcher = new Dispatcher({ index: () => index, view, workers: { clients: () => [worker], get: () => worker, snapshot: () => [] } });
const api = new InfaasApi({ index: () => index, registry: {} as Registry, dispatcher, workers: () => [] });
const app = await buildRestServer(api, { bodyLimit: 16 * 1024 * 1024, modelLimit: 256 * 1024 * 1024 });
await app.listen({ port: 0, host: '127.0.0.1' });
const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

let t = performance.now();
const png = new pngjs.PNG({ width: SIDE, height: SIDE });
for (let i = 0; i < SIDE * SIDE; i++) png.data.set([(i >> 4) & 255, (i >> 12) & 255, 90, 255], i * 4);
const image = pngjs.PNG.sync.write(png, { bitDepth: 16 }).toString('base64');
console.log(`a ${SIDE}x${SIDE} 16-bit PNG: ${Math.round((image.length * 3) / 4 / 1024)} KiB, encoded in ${Math.round(performance.now() - t)} ms`);

async function run(label: string, images: number): Promise<void> {
  let done = false;
  const health: number[] = [];
  const poll = (async () => {
    while (!done) {
      const s = performance.now();
      await (await fetch(`${url}/v1/health`)).json();
      health.push(performance.now() - s);
      await new Promise((resolve) => setTimeout(resolve, 100)); // a health check every 100 ms, not a busy loop
    }
  })();
  t = performance.now();
  const r = await fetch(`${url}/v1/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variant: variant.name, images: Array(images).fill(image) }) });
  const body = (await r.json()) as { error?: string };
  const ms = performance.now() - t;
  done = true;
  await poll;
  const slowest = Math.max(...health);
  console.log(`${label}: ${images} images -> ${r.status} in ${Math.round(ms)} ms${body.error ? ` (${body.error.slice(0, 80)})` : ''}; /v1/health answered ${health.length} times meanwhile, slowest ${Math.round(slowest)} ms`);
}

await run(`batch over max (${MAX_BATCH})`, MAX_BATCH + 1);
await run('batch at max', Math.min(IMAGES, MAX_BATCH));
await app.close();
worker.close();
