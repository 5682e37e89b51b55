// Tests of the decode pool with real worker threads and real PNG/JPEG bytes: same samples as decoding on the
// calling thread, the event loop free while it decodes, a bounded queue (429 / 413), errors naming the image.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { InfaasError } from '../core/errors.ts';
import { decodeImage } from './decode-image.ts';
import { DecodePool } from './decode-pool.ts';
import { inlineDecoder } from './image-decoder.ts';

const { PNG } = pngjs;

function png(w: number, h: number, opts: { bitDepth?: 8 | 16 } = {}): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) p.data.set([(i * 7) & 255, (i >> 3) & 255, 90, 255], i * 4);
  return PNG.sync.write(p, { bitDepth: opts.bitDepth ?? 8 });
}

function jpg(w: number, h: number): Buffer {
  const data = Buffer.alloc(w * h * 4, 128);
  return jpeg.encode({ width: w, height: h, data }, 90).data;
}

/** Runs `fn` with a fresh pool and always closes it. */
async function withPool(opts: ConstructorParameters<typeof DecodePool>[0], fn: (pool: DecodePool) => Promise<void>): Promise<void> {
  const pool = new DecodePool(opts);
  try {
    await fn(pool);
  } finally {
    await pool.close();
  }
}

const code = (want: string, pattern?: RegExp) => (e: unknown) => e instanceof InfaasError && e.code === want && (!pattern || pattern.test(e.message));

test('decodes a batch on worker threads to exactly what decoding on the calling thread gives', () =>
  withPool({ threads: 2 }, async (pool) => {
    const images = [png(40, 30), jpg(33, 17), png(28, 28)];
    const got = await pool.decodeAll(images, [3, 28, 28]);
    assert.equal(got.length, 3);
    images.forEach((img, i) => assert.deepEqual(got[i], decodeImage(img, [3, 28, 28]), `image ${i}`));
    assert.deepEqual(await inlineDecoder().decodeAll(images, [3, 28, 28]), got);
    assert.ok(pool.startedThreads <= 2);
    assert.equal(pool.pendingPixels, 0);
  }));

test('the event loop keeps turning while a large image is decoded', () =>
  withPool({ threads: 1 }, async (pool) => {
    const big = png(1024, 1024, { bitDepth: 16 });
    let done = false;
    const decoding = pool.decodeAll([big, big], [1, 28, 28]).then(() => (done = true));
    let turns = 0;
    while (!done && turns < 20) {
      await turn();
      turns++;
    }
    assert.equal(done, false, 'decoded within 20 event-loop turns: it ran on the event loop');
    await decoding;
    assert.equal(pool.startedThreads, 1);
  }));

test('a thread that decoded a large image is stopped after it (its heap is given back); the next image starts a fresh one', () =>
  withPool({ threads: 1 }, async (pool) => {
    await pool.decodeAll([png(2048, 2048)], [1, 28, 28]);
    assert.equal(pool.startedThreads, 0);
    const small = png(28, 28);
    assert.deepEqual(await pool.decodeAll([small], [1, 28, 28]), [decodeImage(small, [1, 28, 28])]);
    assert.equal(pool.startedThreads, 1, 'a small image keeps its thread');
  }));

test('a bad image fails the batch with its index; the header check runs before anything is decoded', () =>
  withPool({ threads: 1, maxPixels: 64 * 64 }, async (pool) => {
    const good = png(8, 8);
    const truncated = png(16, 16).subarray(0, 60);
    await assert.rejects(pool.decodeAll([good, truncated], [1, 4, 4]), (e: unknown) =>
      code('INVALID_IMAGE', /^image 1: corrupt PNG/)(e) && (e as InfaasError).details?.image === 1);
    // Over the pixel limit: refused from the header, nothing enters the queue.
    await assert.rejects(pool.decodeAll([good, png(65, 64)], [1, 4, 4]), code('INVALID_IMAGE', /^image 1: image is 65x64 \(4160 pixels\); the largest accepted is 4096 pixels/));
    await assert.rejects(pool.decodeAll([Buffer.from('GIF89a')], [1, 4, 4]), code('INVALID_IMAGE', /^could not decode image: not a PNG or JPEG/));
    assert.equal(pool.pendingPixels, 0);
    assert.equal((await pool.decodeAll([good], [1, 4, 4]))[0].length, 16, 'the pool still works');
  }));

test('the queue is bounded in pixels: a batch that does not fit now gets 429, one that never fits 413', async () => {
  const side = 512;
  const pool = new DecodePool({ threads: 1, queuePixels: 3 * side * side });
  try {
    const img = png(side, side, { bitDepth: 16 });
    const first = pool.decodeAll([img, img], [1, 8, 8]);
    assert.equal(pool.pendingPixels, 2 * side * side);
    await assert.rejects(pool.decodeAll([img, img], [1, 8, 8]), (e: unknown) =>
      code('RESOURCE_EXHAUSTED', /image decoder is busy/)(e) && Number((e as InfaasError).details?.retryAfterMs) > 0);
    await assert.rejects(pool.decodeAll([img, img, img, img], [1, 8, 8]), code('PAYLOAD_TOO_LARGE', /1048576 pixels in all, more than the server decodes at once \(786432\)/));
    assert.equal((await first).length, 2);
    assert.equal(pool.pendingPixels, 0);
    assert.equal((await pool.decodeAll([img, img, img], [1, 8, 8])).length, 3, 'admitted once the queue drained');
  } finally {
    await pool.close();
  }
});

test('close() refuses what waits and what comes after', async () => {
  const pool = new DecodePool({ threads: 1 });
  const img = png(256, 256);
  const pending = assert.rejects(pool.decodeAll([img, img, img], [1, 8, 8]), code('UNAVAILABLE', /shutting down/));
  await pool.close();
  await pending;
  await assert.rejects(pool.decodeAll([img], [1, 8, 8]), code('UNAVAILABLE'));
});
