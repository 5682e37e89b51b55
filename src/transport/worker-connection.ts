// The controller side of the transport: a WorkerClient over one framed socket (TCP or a Unix socket). `connect`
// opens the socket and completes the protocol handshake (hello) before handing the client out, so a worker of
// another protocol version is refused with a clear error. Requests are multiplexed by id; every call settles:
// with the reply, with DEADLINE_EXCEEDED after its timeout, or with UNAVAILABLE the moment the connection drops
// ("worker w1 exited while running <what>").

import { connect as netConnect, type Socket } from 'node:net';
import { InfaasError, unavailable } from '../core/errors.ts';
import type { Tensor, WorkerStatus } from '../core/types.ts';
import { checkWorkerHello, PROTOCOL_VERSION, type InferOptions, type InferReply, type InferResult, type LoadReply, type VariantSpec, type WorkerClient, type WorkerHello } from '../protocol/worker-protocol.ts';
import { attachFrames, writeFrame, type Frame, type FrameHeader } from './frame.ts';
import { errorFromHeader, parseAddress, unpackTensors } from './protocol.ts';

export interface WorkerConnectionOptions {
  /** Per-call timeout, ms; a call still unanswered then rejects with DEADLINE_EXCEEDED. */
  timeoutMs: number;
  /** Timeout of explicit `load` calls (default: timeoutMs). */
  loadTimeoutMs?: number;
  /** How long to wait for the connection itself (default 5000 ms). */
  connectTimeoutMs?: number;
}

interface Pending {
  resolve: (f: Frame) => void;
  reject: (e: InfaasError) => void;
  timer: NodeJS.Timeout;
  /** What the call is doing, for error messages: a variant name or "status". */
  what: string;
}

export class TcpWorkerClient implements WorkerClient {
  readonly id: string;
  readonly address: string;
  readonly closed: Promise<void>;
  /** What the worker said in the handshake (set by connect). */
  hello!: WorkerHello;
  readonly #socket: Socket;
  readonly #opts: WorkerConnectionOptions;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #isClosed = false;
  #closeReason = '';
  #markClosed!: () => void;

  private constructor(id: string, address: string, socket: Socket, opts: WorkerConnectionOptions) {
    this.id = id;
    this.address = address;
    this.#socket = socket;
    this.#opts = opts;
    this.closed = new Promise((resolve) => (this.#markClosed = resolve));
    attachFrames(socket, (f) => this.#onFrame(f), (e) => (this.#closeReason = `sent a malformed frame (${e.message})`));
    socket.on('error', (e) => (this.#closeReason ||= e.message));
    socket.on('close', () => this.#onClose());
  }

  /**
   * Connects to a worker at `tcp://host:port` or `unix:/path` and shakes hands; rejects with UNAVAILABLE when it
   * cannot connect or the worker speaks another protocol version (the connection is then closed).
   */
  static async connect(id: string, address: string, opts: WorkerConnectionOptions): Promise<TcpWorkerClient> {
    const client = await TcpWorkerClient.#open(id, address, opts);
    try {
      const answer = await client.#call({ id: 0, type: 'hello', protocol: PROTOCOL_VERSION }, 'hello', opts.connectTimeoutMs ?? 5000).then(
        (f) => ({ ok: true as const, result: f.header.result }),
        (error: InfaasError) => ({ ok: false as const, error }),
      );
      client.hello = checkWorkerHello(answer, id, address);
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  static #open(id: string, address: string, opts: WorkerConnectionOptions): Promise<TcpWorkerClient> {
    const target = parseAddress(address);
    return new Promise((resolve, reject) => {
      const socket = 'path' in target ? netConnect(target.path) : netConnect(target.port, target.host);
      const fail = (why: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(unavailable(`cannot connect to worker ${id} at ${address}: ${why}`));
      };
      const timer = setTimeout(() => fail('timed out'), opts.connectTimeoutMs ?? 5000);
      socket.once('error', (e) => fail(e.message));
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TcpWorkerClient(id, address, socket, opts));
      });
    });
  }

  async infer(spec: VariantSpec, input: Tensor, opts?: InferOptions): Promise<InferReply> {
    const header: FrameHeader = { id: 0, type: 'infer', spec, shape: input.shape };
    if (opts?.budgetMs !== undefined) header.budgetMs = opts.budgetMs;
    const f = await this.#call(header, spec.name, this.#opts.timeoutMs, [input.data]);
    const result = f.header.result as InferResult;
    const reply: InferReply = { outputs: unpackTensors(result.outputs, f.payload), coldStart: result.coldStart, timing: result.timing };
    if (result.batch) reply.batch = result.batch;
    return reply;
  }

  async load(spec: VariantSpec): Promise<LoadReply> {
    const f = await this.#call({ id: 0, type: 'load', spec }, spec.name, this.#opts.loadTimeoutMs ?? this.#opts.timeoutMs);
    return f.header.result as LoadReply;
  }

  async unload(variant: string): Promise<boolean> {
    const f = await this.#call({ id: 0, type: 'unload', variant }, `unload ${variant}`, this.#opts.timeoutMs);
    return f.header.result as boolean;
  }

  async status(): Promise<WorkerStatus> {
    const f = await this.#call({ id: 0, type: 'status' }, 'status', this.#opts.timeoutMs);
    return f.header.result as WorkerStatus;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  close(): void {
    if (this.#isClosed) return;
    this.#closeReason ||= 'closed by the controller';
    this.#socket.destroy();
  }

  #call(header: FrameHeader, what: string, timeoutMs: number, payload?: ArrayBufferView[]): Promise<Frame> {
    if (this.#isClosed) return Promise.reject(unavailable(`worker ${this.id} is not connected (${this.#closeReason})`, { worker: this.id }));
    const id = this.#nextId++;
    header.id = id;
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new InfaasError('DEADLINE_EXCEEDED', `worker ${this.id} did not answer ${what} within ${timeoutMs} ms`, { worker: this.id }));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, what });
      try {
        writeFrame(this.#socket, header, payload);
      } catch (e) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(e instanceof InfaasError ? e : new InfaasError('INVALID_ARGUMENT', `cannot send to worker ${this.id}: ${(e as Error).message}`));
      }
    });
  }

  #onFrame(f: Frame): void {
    const p = this.#pending.get(f.header.id);
    if (!p) return; // answer to a call that already timed out
    this.#pending.delete(f.header.id);
    clearTimeout(p.timer);
    if (f.header.type === 'error') p.reject(errorFromHeader(f.header));
    else p.resolve(f);
  }

  #onClose(): void {
    this.#isClosed = true;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(unavailable(`worker ${this.id} exited while running ${p.what}`, { worker: this.id, reason: this.#closeReason || 'connection closed' }));
    }
    this.#markClosed();
  }
}
