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

/**
 * A thread that decoded an image of at least this many pixels is stopped after it (its heap grew by hundreds of MiB
 * and V8 does not give it back), and so is a thread idle for IDLE_STOP_MS: the server's memory comes back down.
 */
const RETIRE_PIXELS = 1 << 22;
const IDLE_STOP_MS = 5000;

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
  /** Threads stopped on purpose (their exit is not a failure). */
  readonly #retired = new WeakSet<Worker>();
  readonly #idleTimers = new Map<Worker, NodeJS.Timeout>();
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

  /** Threads running now (started when needed, stopped after a large image or when idle). */
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
    for (const t of this.#idleTimers.values()) clearTimeout(t);
    this.#idleTimers.clear();
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
      clearTimeout(this.#idleTimers.get(worker));
      this.#idleTimers.delete(worker);
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
    if (run.job.pixels >= RETIRE_PIXELS) this.#retire(worker);
    else this.#rest(worker);
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

  /** An idle thread waits for the next image, and stops if none comes within IDLE_STOP_MS. */
  #rest(worker: Worker): void {
    this.#idle.push(worker);
    worker.unref();
    const timer = setTimeout(() => {
      this.#idleTimers.delete(worker);
      const i = this.#idle.indexOf(worker);
      if (i < 0 || this.#closed) return;
      this.#idle.splice(i, 1);
      this.#retire(worker);
    }, IDLE_STOP_MS);
    timer.unref();
    this.#idleTimers.set(worker, timer);
  }

  /** Stops a thread on purpose; the next image starts a fresh one. */
  #retire(worker: Worker): void {
    this.#retired.add(worker);
    this.#workers--;
    void worker.terminate();
  }

  /** A thread that failed or exited: its image fails, a new thread takes the next one. */
  #lost(worker: Worker, why: string): void {
    if (this.#closed || this.#retired.has(worker)) return;
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
