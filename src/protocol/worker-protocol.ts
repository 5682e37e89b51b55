// The controller ↔ worker contract, public and versioned: what a controller asks of a worker (WorkerClient), the
// messages that carry it over the framed transport, and the handshake that refuses an incompatible peer.
// Controllers, workers and transports all import it from here; it depends on src/core only.
//
// Versioning: PROTOCOL_VERSION changes whenever a message changes meaning or shape. Every connection starts
// with `hello` (below); a worker answers it only when it speaks the same version, and a controller uses a
// worker only after its hello succeeded. Version 1 was the unversioned protocol before the handshake existed
// (its workers answer `hello` with "unknown request type"), so a controller recognises it and says so.
//
// Messages, each a frame (src/transport/frame.ts) with a JSON header {id, type, …} and a binary payload.
// Requests (controller → worker), answered by exactly one response with the same id:
//   {type:'hello', protocol}                          → {type:'ok', result: WorkerHello}
//   {type:'infer', spec, shape, budgetMs?} + payload float32 input data → {type:'ok', result: InferResult} + output bytes
//     (budgetMs: the request's remaining latency SLO, ms — see InferOptions; absent: no deadline)
//   {type:'load', spec}                               → {type:'ok', result: LoadReply}
//   {type:'unload', variant}                          → {type:'ok', result: boolean}
//   {type:'status'}                                   → {type:'ok', result: WorkerStatus}
// Any request may be answered {type:'error', code, message, details?} instead (code: an ErrorCode). Requests on
// one connection are answered in completion order, not arrival order.

import { InfaasError, unavailable } from '../core/errors.ts';
import type { BatchLatency, OptLevel, Tensor, WorkerStatus } from '../core/types.ts';

/** The protocol this build speaks. */
export const PROTOCOL_VERSION = 2;

/** Everything a worker needs to load and run one variant. */
export interface VariantSpec {
  name: string;
  /** Key of the ONNX file in the model repository the worker uses. */
  artifactKey: string;
  /**
   * SHA-256 (lowercase hex) of the artifact's bytes as registered. A worker that is given it loads only a file
   * with exactly these bytes (a repository that downloads, such as S3, verifies its cache against it).
   */
  sha256?: string;
  threads: number;
  optLevel: OptLevel;
  maxBatch: number;
  /** Profiled memory of one replica, MiB (used for the worker's memory budget). */
  memoryMB: number;
  /**
   * Profiled latency per batch size, ascending by batch (the variant's Profile.latency). The worker's dynamic
   * batcher interpolates it to predict how long a merged batch takes; without it the worker never waits to
   * fill a batch and rejects a request only once its deadline has passed.
   */
  latency?: BatchLatency[];
  /** Profiled load time, ms (the variant's Profile.loadMs): the worker measures its loads against it. */
  loadMs?: number;
}

/** Per-call options of `infer`. */
export interface InferOptions {
  /**
   * Milliseconds of the request's latency SLO still left when the call is made (the SLO minus the time already
   * spent in the controller). The worker takes `its now + budgetMs` as the request's deadline: it never holds
   * the request back to fill a batch past the point where it could still finish in time, and rejects it at
   * once with DEADLINE_EXCEEDED ("the request needed ~X ms but only Y ms of its SLO remained", details
   * {variant, neededMs, remainingMs}) when even running alone it would finish late, and with RESOURCE_EXHAUSTED
   * (details {variant, predictedMs, waitMs, remainingMs, retryAfterMs}) when the work queued ahead of it on the
   * worker would make it late. A request that had to wait
   * for its variant to load (a cold start) is exempt: it runs, late if need be. Absent: no deadline; the
   * request runs as soon as the variant's replica is free (merged with whatever is queued then), never waiting.
   */
  budgetMs?: number;
}

export interface InferTiming {
  /** Time waiting in the worker's queue for the variant. */
  queueMs: number;
  /** Load time paid by this request (0 unless cold start). */
  loadMs: number;
  inferenceMs: number;
  /** On a cold start: whether it was the worker's first load of the artifact (which reads and verifies the file too). */
  firstLoad?: boolean;
}

/** The merged batch a request ran in, itself included. */
export interface MergedBatch {
  /** Requests merged into the run. */
  requests: number;
  /** Samples in the run (the batch dimension given to the session). */
  samples: number;
}

export interface InferReply {
  outputs: Record<string, Tensor>;
  coldStart: boolean;
  /** queueMs includes the time the request was held back by the batcher waiting for others. */
  timing: InferTiming;
  /** The run this request was part of. */
  batch?: MergedBatch;
}

export interface LoadReply {
  loadMs: number;
  alreadyLoaded: boolean;
}

/**
 * What the controller needs from a worker, whatever the transport: load/unload a variant, run a batch, report
 * status. Implementations: the framed socket client (src/transport/worker-connection.ts) and test fakes; every
 * one passes src/protocol/conformance.ts.
 *
 * Contract: every promise settles. When the worker process dies or the connection drops, every pending call
 * rejects with an InfaasError code UNAVAILABLE ("worker w1 exited while running <variant>") and `closed`
 * resolves; later calls reject with UNAVAILABLE at once; no call hangs. A worker loads a variant on demand when
 * `infer` names one it does not hold (a cold start), evicting least-recently-used variants when its memory
 * budget would be exceeded. `close()` drops the connection (the worker itself goes on).
 */
export interface WorkerClient {
  readonly id: string;
  readonly address: string;
  /** Runs `input` ([batch, ...sample shape]) on `spec`; the worker may merge it with other requests for `spec`. */
  infer(spec: VariantSpec, input: Tensor, opts?: InferOptions): Promise<InferReply>;
  load(spec: VariantSpec): Promise<LoadReply>;
  /** Unloads the variant; resolves to whether the worker held it. */
  unload(variant: string): Promise<boolean>;
  status(): Promise<WorkerStatus>;
  /** Resolves when the connection is gone (worker exit or close()). */
  readonly closed: Promise<void>;
  close(): void;
}

/** What a worker answers to `hello`: who it is. */
export interface WorkerHello {
  protocol: number;
  id: string;
  workerClass: string;
}

/** Shape and place of one output tensor inside a reply payload. */
export interface TensorMeta {
  name: string;
  shape: number[];
  byteLength: number;
}

/** The header result of an infer reply; the outputs' bytes follow in the payload, in `outputs` order. */
export interface InferResult {
  outputs: TensorMeta[];
  coldStart: boolean;
  timing: InferTiming;
  /** The merged batch the request ran in (absent from workers without dynamic batching). */
  batch?: MergedBatch;
}

export type RequestType = 'hello' | 'infer' | 'load' | 'unload' | 'status';

/**
 * The worker side of the handshake: undefined when the controller's `protocol` is this build's, otherwise the
 * error to answer with (UNAVAILABLE, saying which versions and what to do).
 */
export function checkControllerProtocol(protocol: unknown, workerId: string): InfaasError | undefined {
  if (protocol === PROTOCOL_VERSION) return undefined;
  return unavailable(
    `worker ${workerId} speaks worker protocol ${PROTOCOL_VERSION} but the controller speaks ${JSON.stringify(protocol)}: run controllers and workers of the same release`,
    { workerProtocol: PROTOCOL_VERSION, controllerProtocol: protocol },
  );
}

/**
 * The controller side of the handshake: the worker's hello if it speaks this build's protocol and is the worker
 * asked for. A worker's error answer, or an old worker that does not know `hello`, becomes an UNAVAILABLE error
 * that names both versions; a process answering as another worker, one that says so.
 */
export function checkWorkerHello(answer: { ok: true; result: unknown } | { ok: false; error: InfaasError }, workerId: string, address: string): WorkerHello {
  const refuse = (theirs: string, why?: string) =>
    unavailable(
      `worker ${workerId} at ${address} speaks worker protocol ${theirs} and this controller speaks ${PROTOCOL_VERSION}${why ? ` (${why})` : ''}: run controllers and workers of the same release`,
      { worker: workerId, controllerProtocol: PROTOCOL_VERSION },
    );
  if (!answer.ok) {
    if (answer.error.code === 'INVALID_ARGUMENT' && /unknown request type/.test(answer.error.message)) throw refuse('1');
    if (typeof answer.error.details?.workerProtocol === 'number') throw refuse(String(answer.error.details.workerProtocol), answer.error.message);
    throw answer.error;
  }
  const hello = answer.result as Partial<WorkerHello> | undefined;
  if (!hello || hello.protocol !== PROTOCOL_VERSION) throw refuse(JSON.stringify(hello?.protocol));
  if (hello.id !== workerId) {
    // e.g. a worker that advertised a loopback address, reached from another host: some other process answers there
    throw unavailable(`the process at ${address} answered as worker ${JSON.stringify(hello.id)}, not ${workerId}: check the address the worker advertises (--advertise)`, {
      worker: workerId,
      answeredAs: String(hello.id),
    });
  }
  return { protocol: hello.protocol, id: hello.id, workerClass: String(hello.workerClass ?? '') };
}
