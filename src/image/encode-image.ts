// Encodes float planes in [0,1] as PNG bytes: used to write the sample images under examples/ and by tests.

import pngjs from 'pngjs';
import { invalid } from '../core/errors.ts';

const { PNG } = pngjs;

/**
 * Encodes a sample of shape [C, H, W] (C = 1 or 3, channel-major, values in [0,1]; out-of-range values are
 * clamped) as an 8-bit PNG. C = 1 gives a grayscale PNG, C = 3 an RGB one.
 */
export function encodePng(sample: Float32Array, shape: number[]): Uint8Array {
  const [c, h, w] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  if (!(c === 1 || c === 3) || sample.length !== c * h * w) throw invalid(`cannot encode a PNG from ${sample.length} values of shape [${shape}]`);
  const png = new PNG({ width: w, height: h, colorType: c === 1 ? 0 : 2, inputColorType: 6, inputHasAlpha: true });
  const px = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (let i = 0; i < h * w; i++) {
    const r = px(sample[i]);
    png.data[i * 4] = r;
    png.data[i * 4 + 1] = c === 1 ? r : px(sample[h * w + i]);
    png.data[i * 4 + 2] = c === 1 ? r : px(sample[2 * h * w + i]);
    png.data[i * 4 + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png, { colorType: c === 1 ? 0 : 2, inputColorType: 6, inputHasAlpha: true }));
}
