// Decodes a PNG or JPEG into a float32 sample of a use case's input shape: grayscale or RGB, resized, scaled to [0,1].
//
// Used by the CLI (turning an image folder into a validation set) and by the REST server (`images` inputs).

import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { InfaasError, invalid } from '../core/errors.ts';
import { detectImageFormat, imageSize } from './image-format.ts';
import { resizePlane } from './resize.ts';

export { detectImageFormat, imageSize, type ImageFormat } from './image-format.ts';

const { PNG } = pngjs;

/** Largest accepted image side, in pixels; larger images are refused before they are decoded. */
export const MAX_IMAGE_SIDE = 4096;

/** An 8-bit RGBA raster, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const badImage = (msg: string) => new InfaasError('INVALID_IMAGE', msg);

/** Decodes PNG or JPEG bytes to 8-bit RGBA. Throws INVALID_IMAGE for unknown, corrupt or oversized images. */
export function decodeRgba(bytes: Uint8Array): RgbaImage {
  const fmt = detectImageFormat(bytes);
  if (!fmt) throw badImage('could not decode image: not a PNG or JPEG');
  const size = imageSize(bytes);
  if (size && (size.width > MAX_IMAGE_SIDE || size.height > MAX_IMAGE_SIDE)) {
    throw badImage(`image is ${size.width}x${size.height}; the largest accepted is ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE}`);
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let img: RgbaImage;
  try {
    if (fmt === 'png') {
      const png = PNG.sync.read(buf);
      img = { width: png.width, height: png.height, data: png.data };
    } else {
      const maxMp = (MAX_IMAGE_SIDE * MAX_IMAGE_SIDE) / 1e6;
      const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxMp, maxMemoryUsageInMB: 256 });
      img = { width: j.width, height: j.height, data: j.data };
    }
  } catch (e) {
    throw badImage(`corrupt ${fmt === 'png' ? 'PNG' : 'JPEG'}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (img.width < 1 || img.height < 1 || img.data.length < img.width * img.height * 4) {
    throw badImage(`corrupt ${fmt === 'png' ? 'PNG' : 'JPEG'}: empty or truncated pixel data`);
  }
  if (img.width > MAX_IMAGE_SIDE || img.height > MAX_IMAGE_SIDE) {
    throw badImage(`image is ${img.width}x${img.height}; the largest accepted is ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE}`);
  }
  return img;
}

/**
 * Splits RGBA into channel planes scaled to [0,1]: one luminance plane (ITU-R BT.601 weights) for C=1,
 * R, G, B planes for C=3. Alpha is ignored.
 */
export function toPlanes(img: RgbaImage, channels: 1 | 3): Float32Array[] {
  const n = img.width * img.height;
  const d = img.data;
  if (channels === 1) {
    const g = new Float32Array(n);
    for (let i = 0; i < n; i++) g[i] = (0.299 * d[i * 4] + 0.587 * d[i * 4 + 1] + 0.114 * d[i * 4 + 2]) / 255;
    return [g];
  }
  const planes = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) planes[c][i] = d[i * 4 + c] / 255;
  return planes;
}

/**
 * Decodes a PNG or JPEG into one sample of `shape` = [C, H, W] (or [H, W], meaning C = 1), channel-major,
 * values in [0,1]. C must be 1 (grayscale) or 3 (RGB). The image is resized to H x W: area averaging along an
 * axis that shrinks, bilinear along one that grows.
 * @throws InfaasError INVALID_IMAGE for bytes that are not a decodable PNG/JPEG or an image over
 *   MAX_IMAGE_SIDE; INVALID_ARGUMENT for a shape this function cannot produce.
 */
export function decodeImage(bytes: Uint8Array, shape: number[]): Float32Array {
  const [c, h, w] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  if ((shape.length !== 2 && shape.length !== 3) || !(c === 1 || c === 3) || !(h > 0) || !(w > 0) || !Number.isInteger(h) || !Number.isInteger(w)) {
    throw invalid(`images can only be decoded to a [C,H,W] input with C = 1 or 3, not [${shape.join(',')}]`);
  }
  const img = decodeRgba(bytes);
  const planes = toPlanes(img, c as 1 | 3);
  const out = new Float32Array(c * h * w);
  planes.forEach((p, i) => {
    const r = resizePlane(p, img.width, img.height, w, h);
    for (let k = 0; k < r.length; k++) out[i * h * w + k] = Math.min(1, Math.max(0, r[k]));
  });
  return out;
}
