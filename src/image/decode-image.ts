// Decodes a PNG or JPEG into a float32 sample of a use case's input shape: grayscale or RGB, resized, scaled to [0,1].
//
// Used by the CLI (turning an image folder into a validation set) and, on worker threads (decode-pool.ts), by the
// REST server (`images` inputs). Every image's declared size is read from its header and checked against a pixel
// limit before any decoding, and so is whether its compressed data could hold that many pixels (image-data.ts):
// a small file that declares a huge image (a decompression bomb, or a cut-off file) costs nothing.

import jpeg from 'jpeg-js';
import { InfaasError, invalid } from '../core/errors.ts';
import { detectImageFormat, imageSize, type ImageFormat } from './image-format.ts';
import { badImage, checkImageData, type PngData } from './image-data.ts';
import { decodePng } from './png-decode.ts';
import { resizePlane } from './resize.ts';

export { detectImageFormat, imageSize, type ImageFormat } from './image-format.ts';

/** Default largest accepted image, in pixels (width x height): 4096 x 4096. Larger ones are refused before decoding. */
export const DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096;

/** An 8-bit RGBA raster, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** What an image's header declares, read without decoding. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** width x height. */
  pixels: number;
}

/**
 * Reads an image's format and declared size from its header, without decoding, and refuses it when it is not a
 * PNG or JPEG, when its header is unreadable, when it declares more than `maxPixels` pixels, or when its compressed
 * pixel data is too short to hold them (chunk and segment headers are read, nothing is inflated or decoded).
 * @throws InfaasError INVALID_IMAGE
 */
export function checkImageHeader(bytes: Uint8Array, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): ImageHeader {
  const { png: _png, ...header } = inspectImage(bytes, maxPixels);
  return header;
}

function inspectImage(bytes: Uint8Array, maxPixels: number): ImageHeader & { png?: PngData } {
  const format = detectImageFormat(bytes);
  if (!format) throw badImage('could not decode image: not a PNG or JPEG');
  const name = format === 'png' ? 'PNG' : 'JPEG';
  const size = imageSize(bytes);
  if (!size) throw badImage(`corrupt ${name}: its header does not give the image size`);
  const { width, height } = size;
  if (width < 1 || height < 1) throw badImage(`corrupt ${name}: its header declares a ${width}x${height} image`);
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw badImage(`image is ${width}x${height} (${pixels} pixels); the largest accepted is ${maxPixels} pixels`, { width, height, maxPixels });
  }
  const png = checkImageData(bytes, format, width, height);
  return { format, width, height, pixels, ...(png ? { png } : {}) };
}

/** Decodes PNG or JPEG bytes to 8-bit RGBA. Throws INVALID_IMAGE for unknown, corrupt or oversized images. */
export function decodeRgba(bytes: Uint8Array, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): RgbaImage {
  const header = inspectImage(bytes, maxPixels);
  const fmt = header.format;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let img: RgbaImage;
  try {
    if (header.png) {
      img = decodePng(buf, header.png);
    } else {
      // jpeg-js needs ~19 bytes a pixel for a full-resolution colour image (coefficients, planes, RGBA): 24 leaves room,
      // so any JPEG within maxPixels decodes (the header check has already refused larger ones).
      const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.max(256, Math.ceil((maxPixels * 24) / 2 ** 20)) });
      img = { width: j.width, height: j.height, data: j.data };
    }
  } catch (e) {
    if (e instanceof InfaasError) throw e;
    throw badImage(`corrupt ${fmt === 'png' ? 'PNG' : 'JPEG'}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (img.width < 1 || img.height < 1 || img.data.length < img.width * img.height * 4) {
    throw badImage(`corrupt ${fmt === 'png' ? 'PNG' : 'JPEG'}: empty or truncated pixel data`);
  }
  if (img.width !== header.width || img.height !== header.height) {
    throw badImage(`corrupt ${fmt === 'png' ? 'PNG' : 'JPEG'}: it decodes to ${img.width}x${img.height}, its header says ${header.width}x${header.height}`);
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
 * The [C, H, W] an image can be decoded to for `shape` ([C,H,W], or [H,W] meaning C = 1).
 * @throws InfaasError INVALID_ARGUMENT for any other shape (C must be 1 or 3).
 */
export function checkImageShape(shape: readonly number[]): [number, number, number] {
  const [c, h, w] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  if ((shape.length !== 2 && shape.length !== 3) || !(c === 1 || c === 3) || !(h > 0) || !(w > 0) || !Number.isInteger(h) || !Number.isInteger(w)) {
    throw invalid(`images can only be decoded to a [C,H,W] input with C = 1 or 3, not [${shape.join(',')}]`);
  }
  return [c, h, w];
}

/**
 * Decodes a PNG or JPEG into one sample of `shape` = [C, H, W] (or [H, W], meaning C = 1), channel-major,
 * values in [0,1]. C must be 1 (grayscale) or 3 (RGB). The image is resized to H x W: area averaging along an
 * axis that shrinks, bilinear along one that grows.
 * @throws InfaasError INVALID_IMAGE for bytes that are not a decodable PNG/JPEG or an image of more than
 *   `maxPixels` pixels; INVALID_ARGUMENT for a shape this function cannot produce.
 */
export function decodeImage(bytes: Uint8Array, shape: readonly number[], maxPixels = DEFAULT_MAX_IMAGE_PIXELS): Float32Array {
  const [c, h, w] = checkImageShape(shape);
  const img = decodeRgba(bytes, maxPixels);
  const planes = toPlanes(img, c as 1 | 3);
  const out = new Float32Array(c * h * w);
  planes.forEach((p, i) => {
    const r = resizePlane(p, img.width, img.height, w, h);
    for (let k = 0; k < r.length; k++) out[i * h * w + k] = Math.min(1, Math.max(0, r[k]));
  });
  return out;
}
