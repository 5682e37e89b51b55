// The contract the query path decodes images through (a batch in, one float32 sample per image out), its
// header check shared by every implementation, and the decoder that runs on the calling thread (CLI, tests).

import { InfaasError, asInfaasError } from '../core/errors.ts';
import { checkImageHeader, decodeImage, DEFAULT_MAX_IMAGE_PIXELS, type ImageHeader } from './decode-image.ts';

export interface ImageDecoder {
  /** Largest accepted image, in pixels (width x height). */
  readonly maxPixels: number;
  /**
   * Decodes every image to one sample of `shape` ([C,H,W] or [H,W], see decodeImage). Every header is checked
   * (format, declared size against maxPixels) before anything is decoded; all or nothing.
   * @throws InfaasError INVALID_IMAGE / INVALID_ARGUMENT naming the first bad image (`details.image`, and
   *   "image i: " in the message when there are several); RESOURCE_EXHAUSTED (429, details.retryAfterMs) when a
   *   decoder is too busy to take the batch now; PAYLOAD_TOO_LARGE when it could never take it.
   */
  decodeAll(images: readonly Uint8Array[], shape: readonly number[]): Promise<Float32Array[]>;
}

/** The error of image `index` of `count`, saying which one it was. */
export function atImage(e: unknown, index: number, count: number): InfaasError {
  const err = asInfaasError(e);
  return new InfaasError(err.code, count > 1 ? `image ${index}: ${err.message}` : err.message, { ...err.details, image: index });
}

/** Checks every image's header (see checkImageHeader), before any is decoded. */
export function checkHeaders(images: readonly Uint8Array[], maxPixels: number): ImageHeader[] {
  return images.map((bytes, i) => {
    try {
      return checkImageHeader(bytes, maxPixels);
    } catch (e) {
      throw atImage(e, i, images.length);
    }
  });
}

/** Decodes on the calling thread, one image after another: for the CLI and tests, never for a server's event loop. */
export function inlineDecoder(maxPixels = DEFAULT_MAX_IMAGE_PIXELS): ImageDecoder {
  return {
    maxPixels,
    async decodeAll(images, shape) {
      checkHeaders(images, maxPixels);
      return images.map((bytes, i) => {
        try {
          return decodeImage(bytes, shape, maxPixels);
        } catch (e) {
          throw atImage(e, i, images.length);
        }
      });
    },
  };
}
