// Image inputs of POST /v1/infer over real HTTP on loopback: decoded on the decode pool's worker threads (the
// event loop keeps answering /v1/health meanwhile); a header declaring too many pixels is refused before any
// decoding; a batch no variant takes is refused before any image is decoded.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pngjs from 'pngjs';
import { startRestKit, KIT_VARIANT, type RestKit } from '../../testing/rest-api.ts';
import { DecodePool } from '../../image/decode-pool.ts';
import type { ImageDecoder } from '../../image/image-decoder.ts';
import { decodeImage } from '../../image/decode-image.ts';

const { PNG } = pngjs;
const VARIANT = KIT_VARIANT.name;

function png(w: number, h: number, bitDepth: 8 | 16 = 8): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) p.data.set([(i * 13) & 255, (i >> 4) & 255, 40, 255], i * 4);
  return PNG.sync.write(p, { bitDepth });
}

/** A PNG whose header declares `w` x `h` and whose data is garbage: decoding it would fail. */
function fakeHeader(w: number, h: number): Buffer {
  const b = Buffer.from(png(4, 4));
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b.fill(0x42, 33);
  return b;
}

describe('image inputs', () => {
  let kit: RestKit;
  let pool: DecodePool;
  /** Resolves when the next decodeAll starts. */
  let decodeStarted: Promise<void> = Promise.resolve();
  let started = () => undefined as void;
  before(async () => {
    pool = new DecodePool({ threads: 1, maxPixels: 2048 * 2048 });
    const decoder: ImageDecoder = {
      maxPixels: pool.maxPixels,
      decodeAll: (images, shape) => {
        started();
        return pool.decodeAll(images, shape);
      },
    };
    kit = await startRestKit({ rest: { decoder } });
  });
  after(async () => {
    await kit.close();
    await pool.close();
  });

  const post = async (body: unknown, query = '') => {
    const r = await fetch(`${kit.url}/v1/infer${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as { code: string; error: string; details?: Record<string, unknown> } };
  };

  it('decodes images on the pool to what decodeImage gives, and runs them', async () => {
    const images = [png(28, 28), png(9, 5)];
    const before = kit.inputs.length;
    const r = await post({ variant: VARIANT, images: images.map((b) => b.toString('base64')) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const sent = kit.inputs[before];
    assert.deepEqual(sent.shape, [2, 1, 4, 4]);
    assert.deepEqual(Array.from(sent.data), [...decodeImage(images[0], [1, 4, 4]), ...decodeImage(images[1], [1, 4, 4])]);
    const one = await fetch(`${kit.url}/v1/infer?variant=${VARIANT}`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(images[0]) });
    assert.equal(one.status, 200);
  });

  it('refuses a header that declares more pixels than the limit, before decoding anything', async () => {
    const threads = pool.startedThreads;
    const bomb = fakeHeader(100_000, 100_000);
    const raw = await fetch(`${kit.url}/v1/infer?variant=${VARIANT}`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(bomb) });
    const json = (await raw.json()) as { code: string; error: string };
    assert.equal(raw.status, 400);
    assert.equal(json.code, 'INVALID_IMAGE');
    assert.match(json.error, /^image is 100000x100000 \(10000000000 pixels\); the largest accepted is 4194304 pixels/);
    const r = await post({ variant: VARIANT, images: [png(8, 8).toString('base64'), fakeHeader(2049, 2048).toString('base64')] });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /^image 1: image is 2049x2048/);
    assert.equal(r.json.details?.image, 1);
    assert.equal(pool.startedThreads, threads, 'no image was sent to a decoding thread');
  });

  it('refuses a batch no variant takes before decoding any image', async () => {
    // Valid headers, garbage data: decoding any of them would answer INVALID_IMAGE instead.
    const five = Array.from({ length: 5 }, () => fakeHeader(64, 64).toString('base64'));
    const exact = await post({ variant: VARIANT, images: five });
    assert.equal(exact.status, 400, JSON.stringify(exact.json));
    assert.match(exact.json.error, /^variant tiny\.fp32\.t1\.b4\.all takes at most 4 samples per request \(got 5\)/);
    const arch = await post({ arch: 'tiny', latencyMs: 1000, images: five });
    assert.equal(arch.status, 422);
    assert.match(arch.json.error, /^no variant of architecture tiny accepts batch 5 \(largest max batch 4\)/);
    const uc = await post({ task: 'classification', dataset: 'tiny', latencyMs: 1000, images: five });
    assert.match(uc.json.error, /^no variant of use case classification\/tiny accepts batch 5/);
    const four = await post({ variant: VARIANT, images: five.slice(1) });
    assert.equal(four.status, 400);
    assert.match(four.json.error, /^image 0: corrupt PNG/, 'four are decoded (and found corrupt)');
  });

  it('keeps answering /v1/health while a request decodes large images', async () => {
    const big = png(1024, 1024, 16).toString('base64');
    decodeStarted = new Promise<void>((resolve) => (started = resolve));
    let inferDone = false;
    const infer = post({ variant: VARIANT, images: [big, big] }).then((r) => {
      inferDone = true;
      return r;
    });
    await decodeStarted;
    const health = await fetch(`${kit.url}/v1/health`);
    assert.equal(health.status, 200);
    assert.equal(inferDone, false, '/v1/health was answered only after the images were decoded');
    assert.equal((await infer).status, 200);
  });
});
