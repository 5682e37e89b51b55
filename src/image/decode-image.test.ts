// Tests of image decoding with real PNG/JPEG bytes: from the pngjs / jpeg-js encoders, and written byte by byte (src/testing/fuzz/image-bytes.ts) where a header must disagree with its data.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { InfaasError } from '../core/errors.ts';
import { checkImageHeader, decodeImage, decodeRgba, detectImageFormat, imageSize, DEFAULT_MAX_IMAGE_PIXELS } from './decode-image.ts';
import { encodePng } from './encode-image.ts';
import { jpegBytes, pngBytes, pngChunk, pngPixels } from '../testing/fuzz/image-bytes.ts';

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

/** A 64x64 gray baseline JPEG with a restart interval of 8 MCUs, of which it keeps the first `keep` (10 bits a block). */
function restartJpeg(keep: number): Buffer {
  const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
  const table = (tcTh: number, symbol: number) => seg(0xc4, [tcTh, 1, ...new Array(15).fill(0), symbol]);
  const out = [0xff, 0xd8, ...seg(0xdb, [0, ...new Array(64).fill(1)]), ...seg(0xc0, [8, 0, 64, 0, 64, 1, 1, 0x11, 0]),
    ...table(0x00, 8), ...table(0x10, 0), ...seg(0xdd, [0, 8]), ...seg(0xda, [1, 1, 0, 0, 63, 0])];
  for (let i = 0; i < keep; i++) out.push(...new Array(10).fill(0), ...(i < keep - 1 ? [0xff, 0xd0 + (i % 8)] : []));
  return Buffer.from([...out, 0xff, 0xd9]);
}

test('a PNG whose pixel data is shorter than its header declares is refused, from its chunks when deflate could not hold it', () => {
  // The fuzzing harness's case: 65536x1 gray declared, 4 rows of 4 pixels of data (pngjs pads the rest).
  const short = pngBytes({ width: 65536, height: 1, bitDepth: 8, colorType: 0, raw: pngPixels(4, 4, 8, 0, 1) });
  assertImageError(() => checkImageHeader(short), /^corrupt PNG: its pixel data is shorter than its header declares: \d+ bytes of compressed data cannot hold the 65537 bytes of a 65536x1 image$/);
  assertImageError(() => decodeImage(short, [1, 28, 28]), /pixel data is shorter than its header declares/);
  // The same data declaring 4095x4095 RGBA: refused from the header check, which inflates nothing.
  assertImageError(() => checkImageHeader(pngBytes({ width: 4095, height: 4095, bitDepth: 8, colorType: 6, raw: pngPixels(4, 4, 8, 0, 1) })), /cannot hold the 67080195 bytes of a 4095x4095 image/);
  // Half the rows of a 512x512 image: deflate could hold the rest, so the stream is inflated and measured.
  const half = pngBytes({ width: 512, height: 512, bitDepth: 8, colorType: 6, raw: pngPixels(512, 256, 8, 6, 3) });
  assert.deepEqual(checkImageHeader(half), { format: 'png', width: 512, height: 512, pixels: 512 * 512 });
  assertImageError(() => decodeImage(half, [1, 28, 28]), /^corrupt PNG: its pixel data is shorter than its header declares: it inflates to 524544 of the 1049088 bytes of a 512x512 image$/);
  // A file cut inside a chunk, and a bit depth no PNG has.
  assertImageError(() => checkImageHeader(half.subarray(0, 100)), /^corrupt PNG: it is cut short \(its "IDAT" chunk runs past the end of the file\)$/);
  assertImageError(() => checkImageHeader(pngBytes({ width: 4, height: 4, bitDepth: 3, colorType: 0, raw: pngPixels(4, 4, 8, 0, 1) })), /bit depth 3 with color type 0 is not a PNG format/);
});

test('PNGs decode to the pixels pngjs gives them, in every color type and bit depth (its parser and filters, another inflate)', () => {
  const palette = pngChunk('PLTE', Buffer.from(Array.from({ length: 768 }, (_, i) => (i * 7) & 255)));
  const alpha = pngChunk('tRNS', Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)));
  const specs = [
    ...[1, 2, 4, 8, 16].map((bitDepth) => ({ colorType: 0, bitDepth })), { colorType: 2, bitDepth: 8 }, { colorType: 2, bitDepth: 16 },
    { colorType: 3, bitDepth: 8, extra: [palette] }, { colorType: 3, bitDepth: 4, extra: [palette, alpha] }, { colorType: 4, bitDepth: 8 },
    { colorType: 4, bitDepth: 16 }, { colorType: 6, bitDepth: 8 }, { colorType: 6, bitDepth: 16 },
  ];
  for (const { colorType, bitDepth, extra } of specs as Array<{ colorType: number; bitDepth: number; extra?: Buffer[] }>) {
    const bytes = pngBytes({ width: 13, height: 7, bitDepth, colorType, extra, raw: pngPixels(13, 7, bitDepth, colorType, colorType * 31 + bitDepth) });
    assert.deepEqual(Buffer.from(decodeRgba(bytes).data), PNG.sync.read(bytes).data, `color type ${colorType}, ${bitDepth} bits`);
  }
  const interlaced = pngBytes({ width: 8, height: 8, bitDepth: 8, colorType: 0, interlace: 1, raw: Buffer.alloc(79, 0) });
  assert.deepEqual(Buffer.from(decodeRgba(interlaced).data), PNG.sync.read(interlaced).data, 'interlaced');
  const longer = pngBytes({ width: 8, height: 8, bitDepth: 8, colorType: 0, raw: Buffer.concat([pngPixels(8, 8, 8, 0, 1), Buffer.alloc(50)]) });
  assertImageError(() => decodeImage(longer, [1, 8, 8]), /^corrupt PNG: its pixel data is longer than the 72 bytes of a 8x8 image$/);
});

test('the pixel-data checks take what is complete: interlaced scanlines, and a zero image at deflate\'s best ratio', () => {
  // Adam7 8x8 gray: 79 bytes of scanlines over its seven passes (filter bytes included).
  const interlaced = (n: number) => pngBytes({ width: 8, height: 8, bitDepth: 8, colorType: 0, interlace: 1, raw: Buffer.alloc(n, 0) });
  assert.equal(decodeImage(interlaced(79), [1, 8, 8]).length, 64);
  assertImageError(() => decodeImage(interlaced(78), [1, 8, 8]), /it inflates to 78 of the 79 bytes of a 8x8 image/);
  const zeros = pngBytes({ width: 4096, height: 4096, bitDepth: 8, colorType: 6 });
  assert.ok(zeros.length < 100_000, `a 4096x4096 zero image deflates to ${zeros.length} bytes`);
  assert.equal(checkImageHeader(zeros).pixels, 4096 * 4096);
});

test('a JPEG cut short, with a scan too short for its blocks, a component without data or missing restart intervals is refused before decoding', () => {
  const big = { width: 4096, height: 4096, components: 3 as const };
  assertImageError(() => checkImageHeader(jpegBytes({ ...big, mode: 'baseline', scanBytes: 10 })),
    /^corrupt JPEG: its pixel data is shorter than its header declares: a scan of 786432 blocks of 8x8 pixels needs at least 1572864 bits, it has 80$/);
  assertImageError(() => checkImageHeader(jpegBytes({ ...big, mode: 'progressive', scanBytes: 10 })), /a scan of 786432 blocks of 8x8 pixels needs at least 786432 bits, it has 80$/);
  assertImageError(() => checkImageHeader(jpegBytes({ ...big, mode: 'baseline', noEoi: true })), /^corrupt JPEG: it ends before its end-of-image marker/);
  const whole = jpegBytes({ width: 64, height: 48, components: 3, mode: 'baseline' });
  assertImageError(() => checkImageHeader(whole.subarray(0, whole.length - 2)), /ends before its end-of-image marker/);
  assert.equal(decodeImage(whole, [3, 8, 8]).length, 3 * 64, 'the whole file decodes');
  assert.equal(decodeImage(jpegBytes({ width: 64, height: 48, components: 3, mode: 'progressive' }), [3, 8, 8]).length, 3 * 64);
  // A frame of three components whose only scan covers the first.
  const oneScan = Buffer.from(whole);
  const sos = oneScan.indexOf(Buffer.from([0xff, 0xda]));
  const scanOfOne = Buffer.concat([oneScan.subarray(0, sos), Buffer.from([0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0]), Buffer.alloc(Math.ceil((2 * 48) / 8)), Buffer.from([0xff, 0xd9])]);
  assertImageError(() => checkImageHeader(scanOfOne), /^corrupt JPEG: its component 2 has no scan: no pixel data$/);
  // Restart markers: jpeg-js fills the intervals after an early end-of-image with gray; they are counted instead.
  assert.equal(decodeImage(restartJpeg(8), [1, 8, 8]).length, 64);
  assert.equal(jpeg.decode(restartJpeg(5), { useTArray: true }).width, 64, 'jpeg-js itself takes the cut file');
  assertImageError(() => checkImageHeader(restartJpeg(5)), /^corrupt JPEG: its pixel data is shorter than its header declares: a scan holds 5 of its 8 restart intervals$/);
});

test('a colour JPEG at the pixel limit decodes (jpeg-js memory bound scaled to it)', () => {
  const [w, h] = [4096, 4096];
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131) & 255;
  const bytes = jpeg.encode({ width: w, height: h, data }, 50).data;
  assert.equal(decodeImage(bytes, [3, 4, 4], w * h).length, 3 * 4 * 4);
});
