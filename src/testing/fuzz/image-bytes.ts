// Fuzzing: PNG and JPEG files written byte by byte, so a generator controls every header field — declared sizes
// that differ from the data (decompression bombs), 16-bit depths, progressive JPEG scans, broken chunks.

import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC (a wrong CRC when `badCrc`). */
export function pngChunk(type: string, data: Uint8Array, badCrc = false): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(Buffer.concat([head.subarray(4), data])) ^ (badCrc ? 1 : 0)) >>> 0);
  return Buffer.concat([head, data, crc]);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngSpec {
  width: number;
  height: number;
  /** 1, 2, 4, 8 or 16 (any byte, to be hostile). */
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  colorType: number;
  interlace?: number;
  /** Scanline bytes before compression; default: zero rows of the declared size (a bomb when the size is large). */
  raw?: Uint8Array;
  /** Chunks inserted after IHDR (PLTE, tEXt, unknown ones). */
  extra?: Buffer[];
  /** Leave out IDAT, or IEND. */
  noIdat?: boolean;
  noIend?: boolean;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Bytes of one scanline of `width` pixels, without its filter byte. */
export function pngRowBytes(width: number, bitDepth: number, colorType: number): number {
  return Math.ceil((width * (CHANNELS[colorType] ?? 1) * bitDepth) / 8);
}

const zeroIdatCache = new Map<string, Buffer>();

/** Deflated zero scanlines for a declared size, cached (a 4096x4096 16-bit RGBA image is 128 MiB raw, 130 kB deflated). */
function zeroIdat(width: number, height: number, bitDepth: number, colorType: number): Buffer {
  const key = `${width}x${height}x${bitDepth}x${colorType}`;
  let z = zeroIdatCache.get(key);
  if (!z) {
    const raw = Buffer.alloc((pngRowBytes(width, bitDepth, colorType) + 1) * height);
    z = deflateSync(raw, { level: 9 });
    zeroIdatCache.set(key, z);
  }
  return z;
}

export function pngBytes(s: PngSpec): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(s.width >>> 0, 0);
  ihdr.writeUInt32BE(s.height >>> 0, 4);
  ihdr[8] = s.bitDepth & 0xff;
  ihdr[9] = s.colorType & 0xff;
  ihdr[12] = (s.interlace ?? 0) & 0xff;
  const idat = s.raw ? deflateSync(s.raw) : zeroIdat(s.width, s.height, s.bitDepth, s.colorType);
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    ...(s.extra ?? []),
    ...(s.noIdat ? [] : [pngChunk('IDAT', idat)]),
    ...(s.noIend ? [] : [pngChunk('IEND', Buffer.alloc(0))]),
  ]);
}

/** Scanlines (filter byte 0 then pixel bytes) of a small image filled from `seed`. */
export function pngPixels(width: number, height: number, bitDepth: number, colorType: number, seed: number): Buffer {
  const row = pngRowBytes(width, bitDepth, colorType);
  const out = Buffer.alloc((row + 1) * height);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = i % (row + 1) === 0 ? 0 : x & 0xff;
  }
  return out;
}

export interface JpegSpec {
  width: number;
  height: number;
  /** 1 (gray) or 3 components, each sampled 1x1. */
  components: 1 | 3;
  /** SOF0 baseline, SOF2 progressive (a DC scan then one AC scan per component), or another SOF marker byte. */
  mode: 'baseline' | 'progressive' | number;
  /** Cut the entropy-coded data to this many bytes per scan (a truncated file). */
  scanBytes?: number;
  noEoi?: boolean;
}

function segment(marker: number, body: Uint8Array): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE((body.length + 2) & 0xffff, 2);
  return Buffer.concat([head, body]);
}

/**
 * A JPEG of a flat mid-gray image with the declared size: one quantisation table, one DC and one AC Huffman table
 * each holding a single 1-bit code, and all-zero coefficients — so the scan data is one bit per block (per scan), and
 * a 4096x4096 file is ~32 kB per scan. A progressive file has a DC scan and one AC scan (EOB per block) per component.
 */
export function jpegBytes(s: JpegSpec): Buffer {
  const blocks = Math.ceil(s.width / 8) * Math.ceil(s.height / 8);
  const scan = (bits: number) => {
    const full = Buffer.alloc(Math.ceil(bits / 8), 0);
    if (bits % 8) full[full.length - 1] = (1 << (8 - (bits % 8))) - 1; // pad with one-bits
    return s.scanBytes !== undefined ? full.subarray(0, s.scanBytes) : full;
  };
  const ids = s.components === 1 ? [1] : [1, 2, 3];
  const sofMarker = s.mode === 'baseline' ? 0xc0 : s.mode === 'progressive' ? 0xc2 : s.mode;
  const sof = Buffer.alloc(6 + 3 * ids.length);
  sof[0] = 8;
  sof.writeUInt16BE(s.height & 0xffff, 1);
  sof.writeUInt16BE(s.width & 0xffff, 3);
  sof[5] = ids.length;
  ids.forEach((id, i) => sof.set([id, 0x11, 0], 6 + 3 * i));
  const table = (tcTh: number) => Buffer.from([tcTh, 1, ...new Array(15).fill(0), 0]);
  const sos = (comps: number[], ss: number, se: number) => Buffer.from([comps.length, ...comps.flatMap((c) => [c, 0x00]), ss, se, 0]);
  const parts = [
    Buffer.from([0xff, 0xd8]),
    segment(0xdb, Buffer.from([0, ...new Array(64).fill(1)])),
    segment(sofMarker, sof),
    segment(0xc4, table(0x00)),
    segment(0xc4, table(0x10)),
  ];
  if (sofMarker === 0xc2) {
    parts.push(segment(0xda, sos(ids, 0, 0)), scan(blocks * ids.length));
    for (const id of ids) parts.push(segment(0xda, sos([id], 1, 63)), scan(blocks));
  } else {
    parts.push(segment(0xda, sos(ids, 0, 63)), scan(2 * blocks * ids.length));
  }
  if (!s.noEoi) parts.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}
