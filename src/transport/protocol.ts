// How the framed transport encodes the worker protocol (src/protocol/worker-protocol.ts, where the messages are
// specified): error replies, tensor packing into payloads, and worker addresses.

import { InfaasError, isCode, type ErrorCode } from '../core/errors.ts';
import type { Tensor } from '../core/types.ts';
import type { TensorMeta } from '../protocol/worker-protocol.ts';
import { float32View, type FrameHeader } from './frame.ts';

export interface ErrorHeader extends FrameHeader {
  type: 'error';
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export function errorHeader(id: number, e: InfaasError): ErrorHeader {
  return { id, type: 'error', code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
}

export function errorFromHeader(h: FrameHeader): InfaasError {
  const code = typeof h.code === 'string' && isCode(h.code) ? h.code : 'INTERNAL';
  return new InfaasError(code, typeof h.message === 'string' ? h.message : 'worker error', h.details as Record<string, unknown> | undefined);
}

/** Lays out named tensors for a payload: their metadata for the header and their bytes. */
export function packTensors(tensors: Record<string, Tensor>): { meta: TensorMeta[]; parts: Float32Array[] } {
  const meta: TensorMeta[] = [];
  const parts: Float32Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    meta.push({ name, shape: t.shape, byteLength: t.data.byteLength });
    parts.push(t.data);
  }
  return { meta, parts };
}

/** Inverse of packTensors: views (or, when unaligned, copies) each tensor out of the payload. */
export function unpackTensors(meta: readonly TensorMeta[], payload: Buffer): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  let at = 0;
  for (const m of meta) {
    if (at + m.byteLength > payload.length) throw new RangeError(`output ${m.name} runs past the payload`);
    out[m.name] = { shape: m.shape, data: float32View(payload, at, m.byteLength) };
    at += m.byteLength;
  }
  return out;
}

/** Where a worker listens: `tcp://host:port` or `unix:/absolute/path`. */
export type ListenAddress = { host: string; port: number } | { path: string };

export function formatAddress(a: ListenAddress): string {
  return 'path' in a ? `unix:${a.path}` : `tcp://${a.host}:${a.port}`;
}

/** Parses `tcp://host:port`, `host:port` or `unix:/path`; throws INVALID_ARGUMENT otherwise. */
export function parseAddress(address: string): ListenAddress {
  if (address.startsWith('unix:')) {
    const path = address.slice(5).replace(/^\/\/(?=\/)/, '');
    if (path) return { path };
  } else {
    const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(address);
    if (m) {
      const port = Number(m[2]);
      if (port > 0 && port < 65536) return { host: m[1].replace(/^\[|\]$/g, ''), port };
    }
  }
  throw new InfaasError('INVALID_ARGUMENT', `bad worker address "${address}" (expected tcp://host:port or unix:/path)`);
}
