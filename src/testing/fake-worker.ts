// A WorkerClient fake for controller tests: a worker modelled in memory (loads, cold starts, status, death),
// with hooks to script answers and a log of calls. It passes the WorkerClient conformance suite, so tests that
// use it exercise what a real worker would do.

import { InfaasError, invalid, unavailable } from '../core/errors.ts';
import type { ReplicaStatus, Tensor, WorkerStatus } from '../core/types.ts';
import type { InferOptions, InferReply, LoadReply, VariantSpec, WorkerClient } from '../protocol/worker-protocol.ts';

export interface FakeWorkerOptions {
  workerClass?: string;
  address?: string;
  memoryBudgetMB?: number;
  /** Classes of the single output every variant answers (default 2). */
  classes?: number;
  /** Milliseconds each run of a variant takes (default: none, answered at once). */
  runMs?: (spec: VariantSpec) => number;
  /** Answers an infer instead of the model (may throw, e.g. a DEADLINE_EXCEEDED refusal). */
  onInfer?: (spec: VariantSpec, input: Tensor, opts?: InferOptions) => InferReply | undefined;
}

interface Pending {
  reject: (e: InfaasError) => void;
  what: string;
}

export class FakeWorkerClient implements WorkerClient {
  readonly id: string;
  readonly address: string;
  readonly closed: Promise<void>;
  /** Every call, e.g. "infer m.v 3", "load m.v", "unload m.v", "status". */
  readonly calls: string[] = [];
  /** The options of each infer call, in order. */
  readonly inferOptions: Array<InferOptions | undefined> = [];
  readonly #o: FakeWorkerOptions;
  readonly #held = new Map<string, ReplicaStatus>();
  readonly #pending = new Set<Pending>();
  #gone = '';
  #markClosed!: () => void;

  constructor(id: string, opts: FakeWorkerOptions = {}) {
    this.id = id;
    this.address = opts.address ?? `fake://${id}`;
    this.#o = opts;
    this.closed = new Promise((r) => (this.#markClosed = r));
  }

  async infer(spec: VariantSpec, input: Tensor, opts?: InferOptions): Promise<InferReply> {
    this.#check(spec.name);
    this.calls.push(`infer ${spec.name} ${input.shape[0]}`);
    this.inferOptions.push(opts);
    if (input.data.length !== input.shape.reduce((a, b) => a * b, 1)) throw invalid(`input has ${input.data.length} values but shape [${input.shape}] needs more`);
    const scripted = this.#o.onInfer?.(spec, input, opts);
    if (scripted) return scripted;
    const coldStart = !this.#held.has(spec.name);
    if (coldStart) this.#hold(spec);
    this.#held.get(spec.name)!.lastUsedAt = Date.now();
    await this.#run(spec);
    const classes = this.#o.classes ?? 2;
    const n = input.shape[0];
    return { outputs: { y: { shape: [n, classes], data: new Float32Array(n * classes).fill(1 / classes) } }, coldStart, timing: { queueMs: 0, loadMs: 0, inferenceMs: 0 }, batch: { requests: 1, samples: n } };
  }

  async load(spec: VariantSpec): Promise<LoadReply> {
    this.#check(spec.name);
    this.calls.push(`load ${spec.name}`);
    if (!(Number.isInteger(spec.threads) && spec.threads > 0)) throw invalid(`variant ${spec.name}: threads must be a positive integer`);
    if (this.#held.has(spec.name)) return { loadMs: 0, alreadyLoaded: true };
    this.#hold(spec);
    return { loadMs: 0, alreadyLoaded: false };
  }

  async unload(variant: string): Promise<boolean> {
    this.#check(`unload ${variant}`);
    this.calls.push(`unload ${variant}`);
    return this.#held.delete(variant);
  }

  async status(): Promise<WorkerStatus> {
    this.#check('status');
    const replicas = [...this.#held.values()].map((r) => ({ ...r }));
    return {
      id: this.id, workerClass: this.#o.workerClass ?? 'cpu-1', address: this.address, startedAt: 0, updatedAt: Date.now(),
      memoryBudgetMB: this.#o.memoryBudgetMB ?? 1024, memoryUsedMB: replicas.reduce((s, r) => s + r.memoryMB, 0), replicas,
    };
  }

  /** The worker dies: calls in flight and later calls reject with UNAVAILABLE; `closed` resolves. */
  kill(): void {
    this.#end('exited');
  }

  close(): void {
    this.#end('closed by the controller');
  }

  #hold(spec: VariantSpec): void {
    this.#held.set(spec.name, { variant: spec.name, state: 'active', queued: 0, lastUsedAt: Date.now(), memoryMB: spec.memoryMB });
  }

  #run(spec: VariantSpec): Promise<void> {
    const ms = this.#o.runMs?.(spec) ?? 0;
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { reject, what: spec.name };
      this.#pending.add(p);
      setTimeout(() => {
        this.#pending.delete(p);
        resolve();
      }, ms);
    });
  }

  #check(what: string): void {
    if (this.#gone) throw unavailable(`worker ${this.id} is not connected (${this.#gone}) for ${what}`, { worker: this.id });
  }

  #end(why: string): void {
    if (this.#gone) return;
    this.#gone = why;
    for (const p of this.#pending) p.reject(unavailable(`worker ${this.id} ${why} while running ${p.what}`, { worker: this.id }));
    this.#pending.clear();
    this.#markClosed();
  }
}
