// Lean binary framing over a byte stream (TCP on loopback or a Unix socket): a small JSON header plus raw
// payload bytes, so float32 tensor data travels as bytes and never as JSON numbers.
//
// Wire format of one frame (all integers uint32 little-endian):
//
//   total · headerLength · header (UTF-8 JSON, space-padded) · payload
//
// `total` counts every byte after itself (4 + headerLength + payload length). The header is padded with
// spaces so the payload starts 8-byte aligned relative to the frame start; JSON.parse ignores the padding.
// Tensor payloads are float32 in the host byte order (little-endian on every platform Node ships for).

import type { Socket } from 'node:net';

/** Bytes before the header: the total length and the header length. */
export const FRAME_PREFIX_BYTES = 8;
/** Largest frame accepted (1 GiB); a bigger length prefix is a protocol error. */
export const MAX_FRAME_BYTES = 1 << 30;
/** Payloads up to this size are copied into the frame buffer (one write); larger ones are written as-is. */
const COPY_PAYLOAD_BELOW = 64 * 1024;

export interface FrameHeader {
  id: number;
  type: string;
  [field: string]: unknown;
}

export interface Frame {
  header: FrameHeader;
  /** The raw payload bytes (may share memory with the received chunk). */
  payload: Buffer;
}

/** A byte view that can go into a frame's payload. */
export type PayloadPart = ArrayBufferView;

function asBuffer(p: PayloadPart): Buffer {
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

/**
 * Encodes a frame into the buffers to write: one buffer when the payload is small (copied in), otherwise
 * the head followed by the payload parts themselves (no copy).
 */
export function encodeFrame(header: FrameHeader, payload: readonly PayloadPart[] = []): Buffer[] {
  const json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json);
  const headerLength = jsonBytes + ((8 - ((FRAME_PREFIX_BYTES + jsonBytes) % 8)) % 8);
  let payloadBytes = 0;
  for (const p of payload) payloadBytes += p.byteLength;
  const total = 4 + headerLength + payloadBytes;
  if (total > MAX_FRAME_BYTES) throw new RangeError(`frame of ${total} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
  const inline = payloadBytes < COPY_PAYLOAD_BELOW;
  const head = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + headerLength + (inline ? payloadBytes : 0));
  head.writeUInt32LE(total, 0);
  head.writeUInt32LE(headerLength, 4);
  const written = head.write(json, FRAME_PREFIX_BYTES, 'utf8');
  head.fill(0x20, FRAME_PREFIX_BYTES + written, FRAME_PREFIX_BYTES + headerLength);
  if (!inline) return [head, ...payload.map(asBuffer)];
  let at = FRAME_PREFIX_BYTES + headerLength;
  for (const p of payload) {
    asBuffer(p).copy(head, at);
    at += p.byteLength;
  }
  return [head];
}

/**
 * Writes one frame to a socket. Large payloads go out with one gathered write (cork/uncork → writev).
 * The payload memory must not change until the write is flushed. Returns false when the socket is gone.
 */
export function writeFrame(socket: Socket, header: FrameHeader, payload: readonly PayloadPart[] = []): boolean {
  if (socket.destroyed || !socket.writable) return false;
  const bufs = encodeFrame(header, payload);
  if (bufs.length === 1) {
    socket.write(bufs[0]);
    return true;
  }
  socket.cork();
  for (const b of bufs) socket.write(b);
  socket.uncork();
  return true;
}

/**
 * Incremental decoder: push the chunks a socket delivers, in order, and it calls `onFrame` once per complete
 * frame. Handles frames split across chunks and many frames in one chunk. A frame inside one chunk is handed
 * out as a view (no copy); a frame spread over several chunks is copied exactly once, so total work is
 * linear in the bytes received. Throws on a malformed frame; the connection must then be dropped.
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Full length (prefix included) of the frame being assembled, or -1 while unknown. */
  #need = -1;
  readonly #onFrame: (frame: Frame) => void;

  constructor(onFrame: (frame: Frame) => void) {
    this.#onFrame = onFrame;
  }

  /** Bytes received but not yet handed out as frames. */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < 4) return;
        const total = this.#peekUInt32();
        if (total < 4 || total > MAX_FRAME_BYTES) throw new RangeError(`bad frame length ${total}`);
        this.#need = 4 + total;
      }
      if (this.#buffered < this.#need) return;
      const bytes = this.#take(this.#need);
      this.#need = -1;
      this.#onFrame(parseFrame(bytes));
    }
  }

  #peekUInt32(): number {
    const first = this.#chunks[0];
    if (first.length >= 4) return first.readUInt32LE(0);
    const tmp = Buffer.allocUnsafe(4);
    let at = 0;
    for (const c of this.#chunks) {
      at += c.copy(tmp, at, 0, Math.min(c.length, 4 - at));
      if (at === 4) break;
    }
    return tmp.readUInt32LE(0);
  }

  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    let used = 0;
    while (at < n) {
      const c = this.#chunks[used];
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) used++;
      else this.#chunks[used] = c.subarray(k);
    }
    this.#chunks.splice(0, used);
    return out;
  }
}

function parseFrame(bytes: Buffer): Frame {
  const headerLength = bytes.readUInt32LE(4);
  if (FRAME_PREFIX_BYTES + headerLength > bytes.length) throw new RangeError(`frame header length ${headerLength} exceeds the frame`);
  const header = JSON.parse(bytes.toString('utf8', FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + headerLength)) as FrameHeader;
  if (!header || typeof header !== 'object' || typeof header.id !== 'number' || typeof header.type !== 'string') {
    throw new RangeError('frame header needs a numeric id and a string type');
  }
  return { header, payload: bytes.subarray(FRAME_PREFIX_BYTES + headerLength) };
}

/**
 * Views `bytes` as float32 values: a zero-copy view when the bytes are 4-byte aligned, otherwise a copy.
 * Throws RangeError when the length is not a multiple of 4.
 */
export function float32View(bytes: Uint8Array, byteOffset = 0, byteLength = bytes.byteLength - byteOffset): Float32Array {
  if (byteLength % 4 !== 0) throw new RangeError(`${byteLength} bytes is not a whole number of float32 values`);
  const start = bytes.byteOffset + byteOffset;
  if (start % 4 === 0) return new Float32Array(bytes.buffer, start, byteLength / 4);
  const copy = new Float32Array(byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes.subarray(byteOffset, byteOffset + byteLength));
  return copy;
}

/** Attaches a decoder to a socket, sets TCP_NODELAY, and drops the connection on a malformed frame. */
export function attachFrames(socket: Socket, onFrame: (frame: Frame) => void, onProtocolError?: (e: Error) => void): FrameDecoder {
  socket.setNoDelay(true);
  const decoder = new FrameDecoder(onFrame);
  socket.on('data', (chunk: Buffer) => {
    try {
      decoder.push(chunk);
    } catch (e) {
      onProtocolError?.(e as Error);
      socket.destroy(e as Error);
    }
  });
  return decoder;
}
