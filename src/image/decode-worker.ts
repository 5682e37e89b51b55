// worker_threads entry of the decode pool (decode-pool.ts): decodes one image per message, off the event loop.

import { parentPort } from 'node:worker_threads';
import { asInfaasError, type ErrorCode } from '../core/errors.ts';
import { decodeImage } from './decode-image.ts';

/** One image to decode; `bytes` is transferred. */
export interface DecodeJobMessage {
  bytes: ArrayBuffer;
  shape: number[];
  maxPixels: number;
}

/** The sample (its buffer transferred), or why the image could not be decoded. */
export type DecodeReplyMessage =
  | { ok: true; data: Float32Array }
  | { ok: false; code: ErrorCode; message: string; details?: Record<string, unknown> };

const port = parentPort;
if (!port) throw new Error('decode-worker.ts runs on a worker thread (see decode-pool.ts)');
port.on('message', (job: DecodeJobMessage) => {
  let reply: DecodeReplyMessage;
  try {
    reply = { ok: true, data: decodeImage(new Uint8Array(job.bytes), job.shape, job.maxPixels) };
  } catch (e) {
    const err = asInfaasError(e);
    reply = { ok: false, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  }
  port.postMessage(reply, reply.ok ? [reply.data.buffer as ArrayBuffer] : []);
});
