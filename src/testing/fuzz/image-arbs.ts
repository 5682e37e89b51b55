// Fuzzing: arbitraries of image files — valid small PNGs and JPEGs, and hostile ones: decompression bombs (tiny
// files declaring huge sizes, and real zero-filled 16-bit images), progressive and unsupported JPEGs, corrupt
// chunks, bad CRCs, truncation and byte flips.

import fc from 'fast-check';
import { encodePng } from '../../image/encode-image.ts';
import { rarely } from './hostile.ts';
import { jpegBytes, pngBytes, pngChunk, pngPixels, pngRowBytes } from './image-bytes.ts';

export interface ImageCase {
  /** What the generator made, e.g. "png 16-bit 4096x4096 zero bomb". */
  label: string;
  bytes: Uint8Array;
  /** Decoding may take long (a real bomb): the HTTP runner probes health while it runs. */
  heavy: boolean;
  /** Its pixel data is shorter than its header declares: a decoder must refuse it, not pad it. */
  truncated?: boolean;
}

export interface ImageArbOptions {
  /** Side of the real (zero-filled, fully decodable) bombs; 4096 reaches the decoder's limit. */
  bombSide?: number;
  /** Relative weight of bombs among the cases (default 1 in ~19). */
  bombWeight?: number;
  /** false: leave out every image that takes long to decode (bombs, headers declaring millions of pixels). */
  heavy?: boolean;
}

const DECLARED_SIDES = [0, 1, 28, 4095, 4096, 4097, 65535, 65536, 2 ** 31 - 1, 2 ** 32 - 1];

const validPng = fc
  .record({ w: fc.integer({ min: 1, max: 48 }), h: fc.integer({ min: 1, max: 48 }), depth: fc.constantFrom(1, 2, 4, 8, 16), color: fc.constantFrom(0, 2, 3, 4, 6), seed: fc.nat() })
  .filter(({ depth, color }) => (color === 0 ? true : color === 3 ? depth <= 8 : depth >= 8))
  .map(({ w, h, depth, color, seed }): ImageCase => {
    const plte = color === 3 ? [pngChunk('PLTE', Buffer.alloc(3 * 256, 0x7f))] : [];
    return { label: `png ${depth}-bit color ${color} ${w}x${h}`, bytes: pngBytes({ width: w, height: h, bitDepth: depth, colorType: color, raw: pngPixels(w, h, depth, color, seed), extra: plte }), heavy: false };
  });

const mnistLike = fc.integer({ min: 0, max: 255 }).map((v): ImageCase => ({
  label: 'png 28x28 gray (encodePng)',
  bytes: encodePng(new Float32Array(784).fill(v / 255), [1, 28, 28]),
  heavy: false,
}));

const validJpeg = fc
  .record({ w: fc.integer({ min: 1, max: 64 }), h: fc.integer({ min: 1, max: 64 }), c: fc.constantFrom(1 as const, 3 as const), progressive: fc.boolean() })
  .map(({ w, h, c, progressive }): ImageCase => ({
    label: `jpeg ${progressive ? 'progressive' : 'baseline'} ${c}-component ${w}x${h}`,
    bytes: jpegBytes({ width: w, height: h, components: c, mode: progressive ? 'progressive' : 'baseline' }),
    heavy: false,
  }));

/** Headers that declare a size the data does not have. */
const declaredPng = fc
  .record({ w: fc.constantFrom(...DECLARED_SIDES), h: fc.constantFrom(...DECLARED_SIDES), depth: fc.constantFrom(8, 16), color: fc.constantFrom(0, 6) })
  .map(({ w, h, depth, color }): ImageCase => ({
    label: `png declaring ${w}x${h} ${depth}-bit, 4x4 of data`,
    bytes: pngBytes({ width: w, height: h, bitDepth: depth, colorType: color, raw: pngPixels(4, 4, depth, color, 1) }),
    heavy: w * h > 1e6,
    truncated: (pngRowBytes(w, depth, color) + 1) * h > (pngRowBytes(4, depth, color) + 1) * 4,
  }));

const declaredJpeg = fc
  .record({ w: fc.constantFrom(0, 1, 4096, 4097, 65535), h: fc.constantFrom(0, 1, 4096, 4097, 65535), c: fc.constantFrom(1 as const, 3 as const), progressive: fc.boolean(), cut: fc.integer({ min: 0, max: 64 }) })
  .map(({ w, h, c, progressive, cut }): ImageCase => ({
    label: `jpeg ${progressive ? 'progressive' : 'baseline'} declaring ${w}x${h}, scans cut to ${cut} bytes`,
    bytes: jpegBytes({ width: w, height: h, components: c, mode: progressive ? 'progressive' : 'baseline', scanBytes: cut }),
    heavy: w * h > 1e6,
  }));

function bombs(side: number): fc.Arbitrary<ImageCase> {
  return fc.oneof(
    fc.constantFrom(8, 16).map((depth): ImageCase => ({ label: `png ${depth}-bit RGBA ${side}x${side} zero bomb`, bytes: pngBytes({ width: side, height: side, bitDepth: depth, colorType: 6 }), heavy: true })),
    fc.constantFrom(1 as const, 3 as const).chain((c) =>
      fc.boolean().map((progressive): ImageCase => ({
        label: `jpeg ${progressive ? 'progressive' : 'baseline'} ${c}-component ${side}x${side} flat`,
        bytes: jpegBytes({ width: side, height: side, components: c, mode: progressive ? 'progressive' : 'baseline' }),
        heavy: true,
      })),
    ),
  );
}

/** PNG structure broken in one place: CRC, chunk order, lengths, missing chunks, bad fields, unknown critical chunks. */
const brokenPng = fc
  .record({ kind: fc.integer({ min: 0, max: 9 }), w: fc.integer({ min: 1, max: 32 }), h: fc.integer({ min: 1, max: 32 }), n: fc.nat() })
  .map(({ kind, w, h, n }): ImageCase => {
    const raw = pngPixels(w, h, 8, 0, n);
    const base = { width: w, height: h, bitDepth: 8, colorType: 0, raw };
    const variants: Array<[string, Buffer]> = [
      ['bad IHDR CRC', (() => { const b = pngBytes(base); b[29] ^= 0xff; return b; })()],
      ['no IDAT', pngBytes({ ...base, noIdat: true })],
      ['no IEND', pngBytes({ ...base, noIend: true })],
      ['bit depth 3', pngBytes({ ...base, bitDepth: 3 })],
      ['color type 7', pngBytes({ ...base, colorType: 7 })],
      ['palette without PLTE', pngBytes({ ...base, colorType: 3 })],
      ['interlace flag on plain data', pngBytes({ ...base, interlace: 1 })],
      ['unknown critical chunk', pngBytes({ ...base, extra: [pngChunk('ABCD', Buffer.alloc(n % 64))] })],
      ['chunk length 0xfffffff0', (() => { const b = pngBytes({ ...base, extra: [pngChunk('tEXt', Buffer.from('a\0b'))] }); b.writeUInt32BE(0xfffffff0, 33); return b; })()],
      ['garbage IDAT', Buffer.concat([pngBytes({ ...base, noIdat: true, noIend: true }), pngChunk('IDAT', Buffer.from('not zlib at all')), pngChunk('IEND', Buffer.alloc(0))])],
    ];
    const [what, bytes] = variants[kind];
    return { label: `png ${w}x${h} ${what}`, bytes, heavy: false };
  });

/** Any image with a few bytes flipped, or cut short. */
function mutated(base: fc.Arbitrary<ImageCase>): fc.Arbitrary<ImageCase> {
  return fc.tuple(base, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), rarely(fc.nat(), 3)).map(([img, flips, cut]) => {
    const b = Buffer.from(img.bytes);
    for (const [at, v] of flips) b[at % b.length] = v;
    const out = cut === null ? b : b.subarray(0, cut % (b.length + 1));
    return { label: `${img.label}, ${flips.length} byte(s) flipped${cut === null ? '' : `, cut to ${out.length}`}`, bytes: out, heavy: img.heavy };
  });
}

const notAnImage = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(Buffer.from('GIF89a\x01\x00\x01\x00'), Buffer.from('BM'), Buffer.from('<svg/>'), Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.from([0xff, 0xd8, 0xff])),
).map((bytes): ImageCase => ({ label: `${bytes.length} bytes, not an image`, bytes, heavy: false }));

/** An image file, valid or hostile. */
export function imageArb(o: ImageArbOptions = {}): fc.Arbitrary<ImageCase> {
  const bombWeight = o.heavy === false ? 0 : (o.bombWeight ?? 1);
  const all = fc.oneof(
    { weight: 3, arbitrary: validPng },
    { weight: 2, arbitrary: mnistLike },
    { weight: 2, arbitrary: validJpeg },
    { weight: 2, arbitrary: declaredPng },
    { weight: 2, arbitrary: declaredJpeg },
    { weight: 2, arbitrary: brokenPng },
    { weight: 3, arbitrary: mutated(fc.oneof(validPng, validJpeg, mnistLike)) },
    { weight: 1, arbitrary: notAnImage },
    ...(bombWeight > 0 ? [{ weight: bombWeight, arbitrary: bombs(o.bombSide ?? 4096) }] : []),
  );
  return o.heavy === false ? all.filter((i) => !i.heavy) : all;
}
