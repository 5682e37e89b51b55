// The worker side of the transport: accepts framed connections and answers requests (protocol.ts) by calling
// a WorkerService (the worker's replica manager). Requests on one connection run concurrently; each gets
// exactly one reply; any failure becomes an error reply with its stable code, never a crash. Replies written
// in the same tick (a merged batch answers many requests at once) leave in one gathered write.

import { createServer, type Server, type Socket } from 'node:net';
import { InfaasError, asInfaasError, invalid } from '../core/errors.ts';
import type { Tensor, WorkerStatus } from '../core/types.ts';
import { checkControllerProtocol, PROTOCOL_VERSION, type InferOptions, type InferReply, type InferResult, type LoadReply, type VariantSpec, type WorkerHello } from '../protocol/worker-protocol.ts';
import { attachFrames, float32View, writeFrame, type Frame, type FrameHeader } from './frame.ts';
import { errorHeader, formatAddress, packTensors, type ListenAddress } from './protocol.ts';

/** What a worker offers over the transport (implemented by src/worker/replica-manager.ts). */
export interface WorkerService {
  readonly id: string;
  readonly workerClass: string;
  infer(spec: VariantSpec, input: Tensor, opts?: InferOptions): Promise<InferReply>;
  load(spec: VariantSpec): Promise<LoadReply>;
  unload(variant: string): Promise<boolean>;
  status(): WorkerStatus;
}

export interface WorkerServer {
  /** `tcp://127.0.0.1:PORT` or `unix:/path`. */
  readonly address: string;
  /** Stops accepting, drops open connections, resolves when the listener is closed. */
  close(): Promise<void>;
}

/** Listens on `listen` (port 0 picks a free port) and serves `service` until closed. */
export async function serveWorker(service: WorkerService, listen: ListenAddress): Promise<WorkerServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    attachFrames(socket, (frame) => handle(service, socket, frame));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in listen) server.listen(listen.path, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  const bound = server.address();
  const address = 'path' in listen ? formatAddress(listen) : formatAddress({ host: listen.host, port: typeof bound === 'object' && bound ? bound.port : listen.port });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function handle(service: WorkerService, socket: Socket, { header, payload }: Frame): void {
  const id = header.id;
  let work: Promise<void>;
  try {
    switch (header.type) {
      case 'hello': {
        const refused = checkControllerProtocol(header.protocol, service.id);
        if (refused) throw refused;
        const hello: WorkerHello = { protocol: PROTOCOL_VERSION, id: service.id, workerClass: service.workerClass };
        reply(socket, { id, type: 'ok', result: hello });
        return;
      }
      case 'infer': {
        const input: Tensor = { shape: header.shape as number[], data: float32Payload(payload) };
        const opts: InferOptions | undefined = header.budgetMs === undefined ? undefined : { budgetMs: header.budgetMs as number };
        work = service.infer(header.spec as VariantSpec, input, opts).then((r) => {
          const { meta, parts } = packTensors(r.outputs);
          const result: InferResult = { outputs: meta, coldStart: r.coldStart, timing: r.timing, ...(r.batch ? { batch: r.batch } : {}) };
          reply(socket, { id, type: 'ok', result }, parts);
        });
        break;
      }
      case 'load':
        work = service.load(header.spec as VariantSpec).then((result) => void reply(socket, { id, type: 'ok', result }));
        break;
      case 'unload':
        work = service.unload(header.variant as string).then((result) => void reply(socket, { id, type: 'ok', result }));
        break;
      case 'status':
        reply(socket, { id, type: 'ok', result: service.status() });
        return;
      default:
        throw invalid(`unknown request type "${header.type}"`);
    }
  } catch (e) {
    work = Promise.reject(e);
  }
  work.catch((e) => reply(socket, errorHeader(id, asInfaasError(e))));
}

/** Writes a frame, corking the socket until the end of the tick so that replies written together go out in one syscall. */
function reply(socket: Socket, header: FrameHeader, parts?: ArrayBufferView[]): void {
  if (!socket.writableCorked) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
  writeFrame(socket, header, parts);
}

const uncork = (socket: Socket) => {
  while (socket.writableCorked) socket.uncork();
};

function float32Payload(payload: Buffer): Float32Array {
  try {
    return float32View(payload);
  } catch (e) {
    throw new InfaasError('INVALID_ARGUMENT', `input payload: ${(e as Error).message}`);
  }
}
