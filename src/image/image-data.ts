// Checks that an image's compressed pixel data can hold what its header declares, before the decoder runs: pngjs
// and jpeg-js both fill a short image with made-up pixels (pngjs with uninitialised memory), after spending the time
// of the declared size. Reads chunk and segment headers only, plus a scan for markers in a JPEG's entropy-coded data;
// a PNG's stream is measured as it is inflated (png-decode.ts).

import { InfaasError } from '../core/errors.ts';
import type { ImageFormat } from './image-format.ts';

export const badImage = (msg: string, details?: Record<string, unknown>) => new InfaasError('INVALID_IMAGE', msg, details);

/** Most bytes deflate can produce from one byte of input (a length-258 match in two 1-bit codes: 1032:1). */
export const MAX_DEFLATE_RATIO = 1032;

/** What a PNG's chunks say about its pixel data. */
export interface PngData {
  width: number;
  height: number;
  /** Bytes of compressed pixel data (the IDAT chunks' data). */
  idatBytes: number;
  /** Bytes the zlib stream must inflate to: every scanline (interlace passes included) with its filter byte. */
  rawBytes: number;
}

const PNG_CHANNELS: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] }, 2: { channels: 3, depths: [8, 16] }, 3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] }, 6: { channels: 4, depths: [8, 16] },
};
/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

/**
 * Walks a PNG's chunks (IHDR first, as checkImageHeader made sure) and refuses one whose IDAT data could not inflate
 * to the scanlines its header declares, even at deflate's best ratio.
 * @throws InfaasError INVALID_IMAGE
 */
export function checkPngData(bytes: Uint8Array): PngData {
  if (bytes.length < 33) throw badImage('corrupt PNG: it is cut short (in its IHDR chunk)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [depth, colorType, interlace] = [bytes[24], bytes[25], bytes[28]];
  const kind = PNG_CHANNELS[colorType];
  if (!kind || !kind.depths.includes(depth)) throw badImage(`corrupt PNG: bit depth ${depth} with color type ${colorType} is not a PNG format`);
  const rowBytes = (w: number) => Math.ceil((w * kind.channels * depth) / 8);
  const passes = interlace ? ADAM7.map(([x0, y0, dx, dy]) => [Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)]) : [[width, height]];
  const rawBytes = passes.reduce((sum, [w, h]) => sum + (w > 0 && h > 0 ? h * (1 + rowBytes(w)) : 0), 0);
  let idatBytes = 0;
  for (let off = 8; off + 8 <= bytes.length;) {
    const length = view.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    const end = off + 12 + length;
    if (end > bytes.length) throw badImage(`corrupt PNG: it is cut short (its ${JSON.stringify(type.replace(/[^ -~]/g, '?'))} chunk runs past the end of the file)`);
    if (type === 'IDAT') {
      idatBytes += length;
    }
    if (type === 'IEND') break;
    off = end;
  }
  if (idatBytes * MAX_DEFLATE_RATIO < rawBytes) {
    throw badImage(`corrupt PNG: its pixel data is shorter than its header declares: ${idatBytes} bytes of compressed data cannot hold the ${rawBytes} bytes of a ${width}x${height} image`);
  }
  return { width, height, idatBytes, rawBytes };
}

/** Segments jpeg-js reads (with a length): APPn, COM, DQT, DHT, DRI, DNL, SOF0-2, SOS. */
const SEGMENTS: ReadonlySet<number> = new Set([...Array.from({ length: 16 }, (_, i) => 0xe0 + i), 0xfe, 0xdb, 0xc4, 0xdd, 0xdc, 0xc0, 0xc1, 0xc2, 0xda]);

interface JpegComponent { id: number; h: number; v: number; blocks: number; blocksPerLine: number; blocksPerColumn: number }

/**
 * Walks a baseline or progressive JPEG's segments and scans, and refuses one that ends before its end-of-image
 * marker, leaves a component without data, has a scan with fewer bits than one per 8x8 block needs at least (two in
 * a sequential scan: a DC and an end-of-block code), or fewer restart markers than its restart interval declares.
 * Anything it does not follow (other frame types, segments jpeg-js recovers from) it leaves to the decoder, bounded
 * then by one bit per block of the whole file.
 * @throws InfaasError INVALID_IMAGE
 */
export function checkJpegData(bytes: Uint8Array, width: number, height: number): void {
  const cut = () => badImage('corrupt JPEG: it ends before its end-of-image marker (the file is cut short)');
  const u16 = (at: number) => (bytes[at] << 8) | bytes[at + 1];
  let frame: { progressive: boolean; components: JpegComponent[]; mcusPerLine: number; mcusPerColumn: number } | undefined;
  let restartInterval = 0;
  const covered = new Set<number>();
  let off = 2;
  for (;;) {
    if (off + 2 > bytes.length) throw cut();
    if (bytes[off] !== 0xff) return looseBound(bytes, width, height);
    const marker = bytes[off + 1];
    if (marker === 0xff) { off++; continue; }
    if (marker === 0x00) { off += 2; continue; }
    if (marker === 0xd9) break;
    if (!SEGMENTS.has(marker)) return looseBound(bytes, width, height);
    if (off + 4 > bytes.length) throw cut();
    const length = u16(off + 2);
    const body = off + 4;
    if (off + 2 + length > bytes.length) throw cut();
    if (marker >= 0xc0 && marker <= 0xc2) {
      if (frame) return looseBound(bytes, width, height); // jpeg-js takes one frame
      const components: JpegComponent[] = [];
      for (let i = 0; i < bytes[body + 5]; i++) {
        const at = body + 6 + 3 * i;
        components.push({ id: bytes[at], h: bytes[at + 1] >> 4, v: bytes[at + 1] & 15, blocks: 0, blocksPerLine: 0, blocksPerColumn: 0 });
      }
      if (!components.length || components.some((c) => !c.h || !c.v)) return looseBound(bytes, width, height);
      const maxH = Math.max(...components.map((c) => c.h));
      const maxV = Math.max(...components.map((c) => c.v));
      for (const c of components) {
        c.blocksPerLine = Math.ceil((Math.ceil(width / 8) * c.h) / maxH);
        c.blocksPerColumn = Math.ceil((Math.ceil(height / 8) * c.v) / maxV);
        c.blocks = c.blocksPerLine * c.blocksPerColumn;
      }
      frame = { progressive: marker === 0xc2, components, mcusPerLine: Math.ceil(width / 8 / maxH), mcusPerColumn: Math.ceil(height / 8 / maxV) };
    } else if (marker === 0xdd) {
      restartInterval = u16(body);
    } else if (marker === 0xda) {
      if (!frame) return looseBound(bytes, width, height);
      const scan = bytes.subarray(body + 1, body + 1 + 2 * bytes[body]).filter((_, i) => i % 2 === 0);
      const components = [...scan].map((id) => frame!.components.find((c) => c.id === id));
      if (components.some((c) => !c)) return looseBound(bytes, width, height);
      const [ss, , ahAl] = bytes.subarray(body + 1 + 2 * bytes[body], body + 4 + 2 * bytes[body]);
      // Entropy-coded data runs to the first marker that is not a stuffed 0xFF00 or a restart marker.
      let end = off + 2 + length;
      let restarts = 0;
      for (;;) {
        end = bytes.indexOf(0xff, end);
        if (end < 0 || end + 1 >= bytes.length) throw cut();
        const next = bytes[end + 1];
        if (next >= 0xd0 && next <= 0xd7) restarts++;
        else if (next !== 0x00) break;
        end += 2;
      }
      const dataBits = (end - (off + 2 + length) - 2 * restarts) * 8;
      const blocks = components.reduce((sum, c) => sum + c!.blocks, 0);
      const leastBits = !frame.progressive ? 2 * blocks : ss === 0 ? blocks : 0;
      if (!frame.progressive || (ss === 0 && ahAl >> 4 === 0)) for (const c of components) covered.add(c!.id);
      if (dataBits < leastBits) {
        throw badImage(`corrupt JPEG: its pixel data is shorter than its header declares: a scan of ${blocks} blocks of 8x8 pixels needs at least ${leastBits} bits, it has ${Math.max(0, dataBits)}`);
      }
      const mcus = components.length === 1 ? components[0]!.blocks : frame.mcusPerLine * frame.mcusPerColumn;
      const intervals = restartInterval ? Math.ceil(mcus / restartInterval) : 1;
      if (restarts < intervals - 1) {
        throw badImage(`corrupt JPEG: its pixel data is shorter than its header declares: a scan holds ${restarts + 1} of its ${intervals} restart intervals`);
      }
      off = end;
      continue;
    }
    off += 2 + length;
  }
  const missing = frame?.components.find((c) => !covered.has(c.id));
  if (missing) throw badImage(`corrupt JPEG: its component ${missing.id} has no ${frame!.progressive ? 'DC scan' : 'scan'}: no pixel data`);
  if (!frame) return looseBound(bytes, width, height);
}

/** At least one bit per 8x8 block of the smallest component a frame can have (subsampled 4x4). */
function looseBound(bytes: Uint8Array, width: number, height: number): void {
  const blocks = Math.ceil(width / 32) * Math.ceil(height / 32);
  if (bytes.length * 8 < blocks) {
    throw badImage(`corrupt JPEG: its pixel data is shorter than its header declares: ${bytes.length} bytes cannot hold a ${width}x${height} image`);
  }
}

/**
 * The cheap checks of an image's pixel data (see checkPngData, checkJpegData), done before any decoding.
 * @throws InfaasError INVALID_IMAGE
 */
export function checkImageData(bytes: Uint8Array, format: ImageFormat, width: number, height: number): PngData | undefined {
  if (format === 'png') return checkPngData(bytes);
  checkJpegData(bytes, width, height);
  return undefined;
}
