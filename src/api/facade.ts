// The one public API of the controller. Frontends (REST now; gRPC and OIP later) call only this, never the
// registry, dispatcher or pool directly, so every protocol gets the same behaviour and the same errors.

import type { Architecture, UseCase, Variant, WorkerStatus } from '../core/types.ts';
import type { ModelIndex } from '../controller/model-index.ts';
import type { Registration, RegisterRequest, Registry } from '../controller/registry.ts';
import type { Dispatcher, InferResult } from '../controller/dispatcher.ts';
import type { QuerySpec } from '../core/query.ts';
import { toBatchTensor, type QueryInput } from './query-input.ts';
import { checkBatchFits } from './batch-fit.ts';
import { performance } from 'node:perf_hooks';

export interface ArchitectureSummary {
  name: string;
  description?: string;
  artifacts: Array<{ id: string; precision: string; accuracy: number; bytes: number }>;
  variants: number;
  bestAccuracy: number;
  fastestP50Ms: number | null;
}

/** What the live autoscaling loop is doing: its policy and limit, its counters and its last actions. */
export interface AutoscalingStatus {
  /** The policy's name, or 'off'. */
  policy: string;
  maxWorkers?: number;
  ticks?: number;
  applied?: number;
  skipped?: number;
  failed?: number;
  errors?: number;
  /** The last actions carried out, newest last, e.g. "addWorker cpu-1", "unload w1 fmnist-linear.fp32.t1.b8.all". */
  recent?: string[];
  /** With a load schedule (config autoscaling.schedule): its lead and the highest rate it expects within it, qps. */
  schedule?: { leadS: number; expectedQps: number };
  /** Distributed mode: whether this controller runs the loop, and which one does. */
  leadership?: { controller: string; leader: boolean; leaderId?: string; since?: number };
  /** Distributed mode: workers listed in the metadata store that speak another protocol version (not used). */
  refusedWorkers?: Array<{ id: string; address: string; protocol: unknown; reason: string }>;
}

export interface ApiDeps {
  index: () => ModelIndex;
  registry: Registry;
  dispatcher: Dispatcher;
  workers: () => WorkerStatus[];
  /** The autoscaling loop's status; default: off. */
  autoscaling?: () => AutoscalingStatus;
}

export class InfaasApi {
  readonly #d: ApiDeps;

  constructor(deps: ApiDeps) {
    this.#d = deps;
  }

  health(): { status: 'ok'; workers: number; variants: number } {
    return { status: 'ok', workers: this.#d.workers().length, variants: this.#d.index().variants.size };
  }

  listUseCases(): Array<UseCase & { architectures: number }> {
    const idx = this.#d.index();
    return [...idx.useCases.values()].map((u) => ({ ...u, architectures: idx.architecturesOf(u.id).length }));
  }

  /** modarch: the architectures of a use case. */
  listArchitectures(task: string, dataset: string): { useCase: UseCase; architectures: ArchitectureSummary[] } {
    const idx = this.#d.index();
    const useCase = idx.useCase(`${task}/${dataset}`);
    const architectures = idx.architecturesOf(useCase.id).map((a) => summarise(a, idx.variantsOf(a.name)));
    return { useCase, architectures };
  }

  /** modinfo: an architecture with its use case and variants. */
  getArchitecture(name: string): { architecture: Architecture; useCase: UseCase; variants: Variant[] } {
    const idx = this.#d.index();
    const architecture = idx.architecture(name);
    return { architecture, useCase: idx.useCase(architecture.useCase), variants: idx.variantsOf(name) };
  }

  getVariant(name: string): Variant {
    return this.#d.index().variant(name);
  }

  listWorkers(): WorkerStatus[] {
    return this.#d.workers();
  }

  autoscaling(): AutoscalingStatus {
    return this.#d.autoscaling?.() ?? { policy: 'off' };
  }

  /** Loads a variant ahead of traffic, on the given worker or the one chooseWorker picks, and pins it. */
  async loadVariant(name: string, worker?: string): Promise<{ variant: string; worker: string; loadMs: number; alreadyLoaded: boolean }> {
    return this.#d.dispatcher.load(this.#d.index().variant(name), worker);
  }

  /** Unloads a variant from every worker holding it; returns the workers it left. */
  async unloadVariant(name: string): Promise<{ variant: string; workers: string[] }> {
    return { variant: name, workers: await this.#d.dispatcher.unloadEverywhere(this.#d.index().variant(name)) };
  }

  register(req: RegisterRequest): Promise<Registration> {
    return this.#d.registry.register(req);
  }

  getRegistration(id: string): Promise<Registration> {
    return this.#d.registry.get(id);
  }

  /** Runs an online query: decodes the inputs for the use case the query resolves to, then dispatches. */
  async infer(spec: QuerySpec, input: QueryInput): Promise<InferResult> {
    const started = performance.now();
    const useCase = this.#d.dispatcher.useCaseOf(spec);
    const tensor = await toBatchTensor(input, useCase.inputShape, { checkBatch: (n) => checkBatchFits(spec, n, this.#d.index().catalogue) });
    return this.#d.dispatcher.infer(spec, tensor, started);
  }
}

function summarise(a: Architecture, variants: Variant[]): ArchitectureSummary {
  const p50s = variants.map((v) => v.profile.latency[0]?.p50).filter((x): x is number => typeof x === 'number');
  return {
    name: a.name,
    description: a.description,
    artifacts: a.artifacts.map((x) => ({ id: x.id, precision: x.precision, accuracy: x.accuracy, bytes: x.bytes })),
    variants: variants.length,
    bestAccuracy: Math.max(...a.artifacts.map((x) => x.accuracy)),
    fastestP50Ms: p50s.length ? Math.min(...p50s) : null,
  };
}
