// Decodes a PNG with pngjs's chunk parser, unfiltering and pixel mapping, but inflates its pixel data itself:
// pngjs 7's synchronous inflate reads Node's zlib state in the wrong order and returns a stream that ends early
// padded with uninitialised memory, to the size the header declares. Here a short stream is refused instead, and
// the data is inflated once, never past that size.

import { createRequire } from 'node:module';
import { constants, inflateSync } from 'node:zlib';
import { badImage, type PngData } from './image-data.ts';

/** What pngjs's parser reports about an image (its `metadata` callback, plus the palette and transparency). */
interface PngMeta {
  width: number;
  height: number;
  interlace: boolean;
  palette?: unknown;
  transColor?: unknown;
  alpha?: boolean;
}
interface ParserCallbacks {
  read(length: number, callback: (data: Buffer) => void): void;
  error(e: Error): void;
  metadata(m: PngMeta): void;
  gamma(g: number): void;
  palette(p: unknown): void;
  transColor(c: unknown): void;
  inflateData(data: Buffer): void;
  simpleTransparency(): void;
}
type ParserClass = new (options: { checkCRC?: boolean }, callbacks: ParserCallbacks) => { start(): void };
type SyncReaderClass = new (buffer: Buffer) => { read: ParserCallbacks['read']; process(): void };

// pngjs's own modules (it has no `exports` map): the same code PNG.sync.read runs, without its inflate.
const requirePngjs = createRequire(import.meta.url);
const Parser = requirePngjs('pngjs/lib/parser.js') as ParserClass;
const SyncReader = requirePngjs('pngjs/lib/sync-reader.js') as SyncReaderClass;
const FilterSync = requirePngjs('pngjs/lib/filter-parse-sync.js') as { process(data: Buffer, meta: PngMeta): Buffer };
const bitmapper = requirePngjs('pngjs/lib/bitmapper.js') as { dataToBitMap(data: Buffer, meta: PngMeta): Uint8Array };
const normalise = requirePngjs('pngjs/lib/format-normaliser.js') as (data: Uint8Array, meta: PngMeta) => Uint8Array;

/**
 * Decodes `bytes` (checked by checkPngData into `png`) to 8-bit RGBA.
 * @throws InfaasError INVALID_IMAGE when the pixel data inflates to less or more than `png.rawBytes`; pngjs's
 *   errors (bad CRC, chunk order, filter types) as plain Errors.
 */
export function decodePng(bytes: Buffer, png: PngData): { width: number; height: number; data: Uint8Array } {
  let error: Error | undefined;
  let meta: PngMeta | undefined;
  const idat: Buffer[] = [];
  const reader = new SyncReader(bytes);
  const parser = new Parser({}, {
    read: reader.read.bind(reader),
    error: (e) => (error = e),
    metadata: (m) => (meta = m),
    gamma: () => undefined,
    palette: (p) => (meta!.palette = p),
    transColor: (c) => (meta!.transColor = c),
    inflateData: (d) => idat.push(d),
    simpleTransparency: () => (meta!.alpha = true),
  });
  parser.start();
  reader.process();
  if (error) throw error;
  if (!meta) throw new Error('no IHDR chunk');
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: png.rawBytes, chunkSize: Math.max(constants.Z_MIN_CHUNK, png.rawBytes) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw badImage(`corrupt PNG: its pixel data is longer than the ${png.rawBytes} bytes of a ${png.width}x${png.height} image`);
    throw badImage(`corrupt PNG: its pixel data does not inflate (${(e as Error).message})`);
  }
  if (raw.length < png.rawBytes) {
    throw badImage(`corrupt PNG: its pixel data is shorter than its header declares: it inflates to ${raw.length} of the ${png.rawBytes} bytes of a ${png.width}x${png.height} image`);
  }
  const data = normalise(bitmapper.dataToBitMap(FilterSync.process(raw, meta), meta), meta);
  return { width: meta.width, height: meta.height, data };
}
