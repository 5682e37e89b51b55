// Recognises PNG and JPEG bytes and reads their pixel size from the header, without decoding (no dependencies).

export type ImageFormat = 'png' | 'jpeg';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format named by the file's magic bytes, or undefined when it is neither PNG nor JPEG. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** Width and height read from the header without decoding, or undefined when the header is unreadable. */
export function imageSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const fmt = detectImageFormat(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (fmt === 'png') {
    // The IHDR chunk comes first: length (4 bytes), type "IHDR", then width and height.
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (fmt === 'jpeg') {
    let off = 2;
    while (off + 9 < bytes.length) {
      if (bytes[off] !== 0xff) return undefined;
      const marker = bytes[off + 1];
      if (marker === 0xff) { off++; continue; }
      if (marker === 0xd9 || marker === 0xda) return undefined; // end of image / start of scan before any frame
      const len = view.getUint16(off + 2);
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isSof) return { height: view.getUint16(off + 5), width: view.getUint16(off + 7) };
      off += 2 + len;
    }
  }
  return undefined;
}
