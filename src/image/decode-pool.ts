// A small, bounded pool of worker threads that decode images off the event loop (a 4096x4096 16-bit PNG takes
// seconds to decode), with a bounded queue measured in pixels, the work an image costs: a batch that does not fit
// now is refused at once with RESOURCE_EXHAUSTED and a Retry-After estimate, one that could never fit with
// PAYLOAD_TOO_LARGE. Nothing waits without limit.

import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { InfaasError, unavailable } from '../core/errors.ts';
import { DEFAULT_MAX_IMAGE_PIXELS } from './decode-image.ts';
import { atImage, checkHeaders, type ImageDecoder } from './image-decoder.ts';
import type { DecodeJobMessage, DecodeReplyMessage } from './decode-worker.ts';

export interface DecodePoolOptions {
  /** Largest accepted image, pixels (default DEFAULT_MAX_IMAGE_PIXELS). */
  maxPixels?: number;
  /** Worker threads, started when first needed (default DEFAULT_DECODE_THREADS). */
  threads?: number;
  /** Most pixels of images being decoded or waiting at once (default 8 x maxPixels). */
  queuePixels?: number;
}

/** Default decode threads: one core is left to the event loop; at least 1, at most 4. */
export const DEFAULT_DECODE_THREADS = Math.max(1, Math.min(4, availableParallelism() - 1));

/** Workers do not inherit tsx's module hooks: each one registers tsx itself, then imports the .ts entry. */
const TSX_API = import.meta.resolve('tsx/esm/api');
const ENTRY = new URL('./decode-worker.ts', import.meta.url).href;
const BOOT = `const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((t) => { t.register(); return import(workerData.entry); });`;

interface Job {
  bytes: Uint8Array;
  shape: number[];
  pixels: number;
  batch: { failed: boolean };
  resolve: (data: Float32Array) => void;
  reject: (e: unknown) => void;
}

export class DecodePool implements ImageDecoder {
  readonly maxPixels: number;
  readonly threads: number;
  readonly queuePixels: number;
  readonly #waiting: Job[] = [];
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, { job: Job; started: number }>();
  #workers = 0;
  #pixels = 0;
  /** Recent decoding cost, decayed sums: milliseconds and pixels (a guess until the first image is decoded). */
  #cost = { ms: 300, pixels: 1e6 };
  #closed = false;

  constructor(opts: DecodePoolOptions = {}) {
    this.maxPixels = opts.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
    this.threads = opts.threads ?? DEFAULT_DECODE_THREADS;
    this.queuePixels = opts.queuePixels ?? 8 * this.maxPixels;
  }

  /** Pixels of the images being decoded or waiting now. */
  get pendingPixels(): number {
    return this.#pixels;
  }

  /** Threads started so far (they stay until close()). */
  get startedThreads(): number {
    return this.#workers;
  }

  async decodeAll(images: readonly Uint8Array[], shape: readonly number[]): Promise<Float32Array[]> {
    if (this.#closed) throw unavailable('the server is shutting down: images are no longer decoded');
    const headers = checkHeaders(images, this.maxPixels);
    const total = headers.reduce((s, h) => s + h.pixels, 0);
    if (total > this.queuePixels) {
      throw new InfaasError('PAYLOAD_TOO_LARGE', `the images of this request have ${total} pixels in all, more than the server decodes at once (${this.queuePixels}); send fewer or smaller images`, { pixels: total, limit: this.queuePixels });
    }
    if (this.#pixels + total > this.queuePixels) {
      throw new InfaasError('RESOURCE_EXHAUSTED', `the image decoder is busy (${this.#pixels} pixels ahead of this request's ${total}, at most ${this.queuePixels} at once); retry later`, { retryAfterMs: this.#estimateMs(this.#pixels) });
    }
    this.#pixels += total;
    const batch = { failed: false };
    const results = images.map((bytes, i) => new Promise<Float32Array>((resolve, reject) => {
      this.#waiting.push({
        bytes, shape: [...shape], pixels: headers[i].pixels, batch, resolve,
        reject: (e) => {
          batch.failed = true;
          reject(atImage(e, i, images.length));
        },
      });
    }));
    this.#pump();
    return Promise.all(results);
  }

  /** Refuses what waits, stops every thread. */
  async close(): Promise<void> {
    this.#closed = true;
    const gone = unavailable('the server is shutting down: images are no longer decoded');
    for (const job of this.#waiting.splice(0)) job.reject(gone);
    for (const { job } of this.#busy.values()) job.reject(gone);
    const all = [...this.#idle, ...this.#busy.keys()];
    this.#idle.length = 0;
    this.#busy.clear();
    this.#pixels = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }

  #pump(): void {
    while (this.#waiting.length && !this.#closed) {
      const job = this.#waiting[0];
      if (job.batch.failed) {
        // Another image of its request failed: the request is answered already, its other images are not decoded.
        this.#waiting.shift();
        this.#pixels -= job.pixels;
        continue;
      }
      const worker = this.#idle.pop() ?? (this.#workers < this.threads ? this.#spawn() : undefined);
      if (!worker) return;
      this.#waiting.shift();
      this.#busy.set(worker, { job, started: performance.now() });
      worker.ref();
      const bytes = new Uint8Array(job.bytes); // a copy on its own buffer (Buffer#slice would share it), transferred
      worker.postMessage({ bytes: bytes.buffer, shape: job.shape, maxPixels: this.maxPixels } satisfies DecodeJobMessage, [bytes.buffer]);
    }
  }

  #spawn(): Worker {
    const worker = new Worker(BOOT, { eval: true, workerData: { entry: ENTRY, tsx: TSX_API } });
    this.#workers++;
    worker.on('message', (m: DecodeReplyMessage) => this.#done(worker, m));
    worker.on('error', (e) => this.#lost(worker, e.message));
    worker.on('exit', (code) => this.#lost(worker, `exited with code ${code}`));
    worker.unref(); // only a busy thread keeps the process alive (unref after the listeners, which ref it again)
    return worker;
  }

  #done(worker: Worker, m: DecodeReplyMessage): void {
    const run = this.#busy.get(worker);
    if (!run) return;
    this.#busy.delete(worker);
    this.#idle.push(worker);
    worker.unref();
    this.#pixels -= run.job.pixels;
    if (m.ok) {
      const ms = performance.now() - run.started;
      this.#cost = { ms: this.#cost.ms * 0.8 + ms, pixels: this.#cost.pixels * 0.8 + run.job.pixels };
      run.job.resolve(m.data);
    } else {
      run.job.reject(new InfaasError(m.code, m.message, m.details));
    }
    this.#pump();
  }

  /** A thread that failed or exited: its image fails, a new thread takes the next one. */
  #lost(worker: Worker, why: string): void {
    if (this.#closed) return;
    const idle = this.#idle.indexOf(worker);
    if (idle >= 0) this.#idle.splice(idle, 1);
    const run = this.#busy.get(worker);
    if (!run && idle < 0) return; // already counted (an 'error' is followed by 'exit')
    this.#busy.delete(worker);
    this.#workers--;
    if (run) {
      this.#pixels -= run.job.pixels;
      run.job.reject(new InfaasError('INTERNAL', `an image decoding thread failed: ${why}`));
    }
    this.#pump();
  }

  /** About how long until `pixels` of queued images are decoded, ms. */
  #estimateMs(pixels: number): number {
    return Math.max(100, Math.ceil((pixels * this.#cost.ms) / this.#cost.pixels / this.threads));
  }
}
