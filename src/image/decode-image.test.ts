// Tests of image decoding with real PNG/JPEG bytes produced by the pngjs / jpeg-js encoders.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { InfaasError } from '../core/errors.ts';
import { checkImageHeader, decodeImage, detectImageFormat, imageSize, DEFAULT_MAX_IMAGE_PIXELS } from './decode-image.ts';
import { encodePng } from './encode-image.ts';

const { PNG } = pngjs;

function rgbaPng(w: number, h: number, fill: (x: number, y: number) => [number, number, number]): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [r, g, b] = fill(x, y);
    const i = (y * w + x) * 4;
    png.data[i] = r; png.data[i + 1] = g; png.data[i + 2] = b; png.data[i + 3] = 255;
  }
  return PNG.sync.write(png);
}

function rgbaJpeg(w: number, h: number, fill: (x: number, y: number) => [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [r, g, b] = fill(x, y);
    const i = (y * w + x) * 4;
    data[i] = r; data[i + 1] = g; data[i + 2] = b; data[i + 3] = 255;
  }
  return jpeg.encode({ width: w, height: h, data }, 95).data;
}

function assertImageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_IMAGE' && pattern.test(e.message));
}

test('detects formats by magic bytes and reads sizes from headers', () => {
  const png = rgbaPng(7, 5, () => [0, 0, 0]);
  const jpg = rgbaJpeg(9, 6, () => [0, 0, 0]);
  assert.equal(detectImageFormat(png), 'png');
  assert.equal(detectImageFormat(jpg), 'jpeg');
  assert.equal(detectImageFormat(new TextEncoder().encode('GIF89a....')), undefined);
  assert.deepEqual(imageSize(png), { width: 7, height: 5 });
  assert.deepEqual(imageSize(jpg), { width: 9, height: 6 });
});

test('a 28x28 grayscale PNG decodes exactly to [1,28,28] values in [0,1]', () => {
  const sample = new Float32Array(28 * 28);
  for (let i = 0; i < sample.length; i++) sample[i] = (i % 256) / 255;
  const bytes = encodePng(sample, [1, 28, 28]);
  const out = decodeImage(bytes, [1, 28, 28]);
  assert.equal(out.length, 784);
  for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - sample[i]) < 1e-6, `pixel ${i}: ${out[i]} vs ${sample[i]}`);
});

test('RGB PNG converts to luminance for C=1 and keeps channels for C=3', () => {
  const bytes = rgbaPng(2, 1, (x) => (x === 0 ? [255, 0, 0] : [0, 0, 255]));
  const gray = decodeImage(bytes, [1, 1, 2]);
  assert.ok(Math.abs(gray[0] - 0.299) < 1e-6);
  assert.ok(Math.abs(gray[1] - 0.114) < 1e-6);
  const rgb = decodeImage(bytes, [3, 1, 2]);
  assert.deepEqual(Array.from(rgb), [1, 0, 0, 0, 0, 1]); // R plane, G plane, B plane
});

test('shrinking averages areas: a 56x56 checkerboard of 2x2 blocks becomes uniform gray at 28x28', () => {
  const bytes = rgbaPng(56, 56, (x, y) => ((x + y) % 2 === 0 ? [255, 255, 255] : [0, 0, 0]));
  const out = decodeImage(bytes, [1, 28, 28]);
  for (const v of out) assert.ok(Math.abs(v - 0.5) < 1e-6, `expected 0.5, got ${v}`);
});

test('shrinking by a non-integer factor preserves the mean brightness', () => {
  const bytes = rgbaPng(50, 30, (x) => (x < 25 ? [255, 255, 255] : [0, 0, 0]));
  const out = decodeImage(bytes, [1, 28, 28]);
  const mean = out.reduce((a, b) => a + b, 0) / out.length;
  assert.ok(Math.abs(mean - 0.5) < 1e-3, `mean ${mean}`);
  assert.ok(out[0] > 0.99 && out[27] < 0.01, 'left stays white, right stays black');
});

test('enlarging interpolates bilinearly between pixel centres', () => {
  const bytes = rgbaPng(2, 1, (x) => (x === 0 ? [0, 0, 0] : [255, 255, 255]));
  const out = decodeImage(bytes, [1, 1, 4]);
  // centres of the 4 outputs map to source x = -0.25, 0.25, 0.75, 1.25 → clamped 0, 0.25, 0.75, 1
  assert.deepEqual(Array.from(out).map((v) => Math.round(v * 100) / 100), [0, 0.25, 0.75, 1]);
});

test('JPEG decodes and resizes (lossy: compared with a tolerance)', () => {
  const bytes = rgbaJpeg(64, 64, (x) => (x < 32 ? [230, 230, 230] : [20, 20, 20]));
  const out = decodeImage(bytes, [1, 28, 28]);
  assert.equal(out.length, 784);
  assert.ok(Math.abs(out[0] - 230 / 255) < 0.03, `left ${out[0]}`);
  assert.ok(Math.abs(out[27] - 20 / 255) < 0.03, `right ${out[27]}`);
});

test('bytes that are not an image are refused with INVALID_IMAGE', () => {
  assertImageError(() => decodeImage(new TextEncoder().encode('hello world, not an image'), [1, 28, 28]), /not a PNG or JPEG/);
  assertImageError(() => decodeImage(new Uint8Array(0), [1, 28, 28]), /not a PNG or JPEG/);
});

test('a truncated PNG and a corrupt JPEG are refused with INVALID_IMAGE', () => {
  const png = rgbaPng(28, 28, (x, y) => [x * 9, y * 9, 0]);
  assertImageError(() => decodeImage(png.subarray(0, png.length - 30), [1, 28, 28]), /^corrupt PNG: /);
  const broken = Buffer.from(png);
  broken.fill(0x42, 40, 60); // smash the IDAT data and its CRC
  assertImageError(() => decodeImage(broken, [1, 28, 28]), /^corrupt PNG: /);
  const jpg = rgbaJpeg(16, 16, () => [1, 2, 3]);
  assertImageError(() => decodeImage(jpg.subarray(0, 20), [1, 28, 28]), /^corrupt JPEG: /);
});

test('images over the pixel limit are refused from their header, before decoding', () => {
  // Only the header matters: a 4x4 PNG whose IHDR claims 4097 x 4096 (one column over the default limit).
  const big = Buffer.from(rgbaPng(4, 4, () => [0, 0, 0]));
  big.writeUInt32BE(4097, 16);
  big.writeUInt32BE(4096, 20);
  assertImageError(() => decodeImage(big, [1, 28, 28]), /4097x4096 \(16781312 pixels\); the largest accepted is 16777216 pixels/);
  assert.equal(DEFAULT_MAX_IMAGE_PIXELS, 4096 * 4096);
  // A decompression bomb's header: 100000 x 100000 in a few bytes.
  big.writeUInt32BE(100_000, 16);
  big.writeUInt32BE(100_000, 20);
  assertImageError(() => checkImageHeader(big), /100000x100000/);
  // The limit is a parameter: a real 30x30 image is refused under a 28x28 limit, and a JPEG too.
  assertImageError(() => decodeImage(rgbaPng(30, 30, () => [0, 0, 0]), [1, 28, 28], 28 * 28), /30x30 \(900 pixels\); the largest accepted is 784/);
  assertImageError(() => checkImageHeader(rgbaJpeg(30, 30, () => [0, 0, 0]), 784), /30x30/);
  assert.deepEqual(checkImageHeader(rgbaJpeg(30, 20, () => [0, 0, 0])), { format: 'jpeg', width: 30, height: 20, pixels: 600 });
});

test('a header that does not give the size, or gives 0, is refused as corrupt', () => {
  const png = Buffer.from(rgbaPng(4, 4, () => [0, 0, 0]));
  const noIhdr = Buffer.from(png);
  noIhdr.write('IDAT', 12, 'latin1');
  assertImageError(() => checkImageHeader(noIhdr), /^corrupt PNG: its header does not give the image size/);
  const zero = Buffer.from(png);
  zero.writeUInt32BE(0, 16);
  assertImageError(() => checkImageHeader(zero), /^corrupt PNG: its header declares a 0x4 image/);
  assertImageError(() => checkImageHeader(Buffer.from([0xff, 0xd8, 0xff, 0xd9])), /^corrupt JPEG/);
});

test('shapes other than [1|3, H, W] are refused with INVALID_ARGUMENT', () => {
  const png = rgbaPng(4, 4, () => [0, 0, 0]);
  assert.throws(() => decodeImage(png, [2, 28, 28]), (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => decodeImage(png, [784]), (e: unknown) => e instanceof InfaasError && e.code === 'INVALID_ARGUMENT');
  assert.equal(decodeImage(png, [28, 28]).length, 784, '[H,W] means grayscale');
});
