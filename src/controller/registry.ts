// Registration of models: validates an ONNX artifact against its use case, stores it in the model repository,
// and profiles it into variants in the background (one profiling job at a time, durable across restarts).
//
// Several controllers may share one metadata store. An artifact being registered is claimed with a lease
// (`lease/register/<artifact>`) from the moment it is accepted until its profiling ends, so of two registrations
// of one name, here or on another controller, exactly one is accepted and the other gets 409. The claim is
// renewed by maintain() (the control loop); when its controller dies the claim expires, and the first other
// controller whose maintain() finds the registration still PROFILING takes the claim and profiles it: every
// registration is profiled to the end, by one controller at a time. Progress is written to the store about
// once a second, so every controller answers GET /v1/registrations/:id.

import { createHash, randomBytes } from 'node:crypto';
import { InfaasError, invalid, invalidModel, notFound } from '../core/errors.ts';
import { useCaseId, type Architecture, type Artifact, type Precision, type UseCase, type Variant } from '../core/types.ts';
import { decodeValidationSet } from '../core/validation-set.ts';
import { keys, type MetadataStore } from '../metadata/metadata-store.ts';
import { Lease } from '../metadata/lease.ts';
import type { ModelRepository } from '../repository/model-repository.ts';
import { inspectModel, validateForUseCase } from '../onnx/inspect-model.ts';

/** Runs the profiler (in the live system: a child process). Defined here, beside its consumer. */
export interface ProfilerRunner {
  profile(
    job: { modelPath: string; validationPath: string; artifactId: string; arch: string; useCase: string; signal: AbortSignal },
    onProgress: (p: RegistrationProgress) => void,
  ): Promise<{ accuracy: number; variants: Variant[] }>;
}

/** Turns a user-supplied precomputed profile into variants (validating it). */
export type PrecomputedProfiles = (json: unknown, ctx: { artifactId: string; arch: string; useCase: string }) => { accuracy: number; variants: Variant[] };

export interface RegistrationProgress {
  done: number;
  total: number;
  stage: string;
}

export type RegistrationState = 'PROFILING' | 'SUCCEEDED' | 'FAILED';

export interface Registration {
  id: string;
  arch: string;
  useCase: string;
  precision: Precision;
  state: RegistrationState;
  progress: RegistrationProgress;
  error?: string;
  /** Names of the variants produced. */
  variants?: string[];
  /** The controller that accepted it, or that profiles it now (another one takes over if it dies). */
  controller?: string;
  createdAt: string;
  updatedAt: string;
}

export interface RegisterRequest {
  task: string;
  dataset: string;
  arch: string;
  description?: string;
  precision?: Precision;
  replace?: boolean;
  model: Uint8Array;
  /** A .valset file; exactly one of validation and profile. */
  validation?: Uint8Array;
  /** A precomputed profile (parsed JSON). */
  profile?: unknown;
  labels?: string[];
}

/** What one committed registration changed, so the controller can update its index without re-reading the store. */
export interface RegistryChange {
  useCase: UseCase;
  architecture: Architecture;
  /** The artifact's variants now. */
  variants: Variant[];
  /** Names of the artifact's variants that were replaced. */
  removed: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface RegistryOptions {
  store: MetadataStore;
  repo: ModelRepository;
  profiler: ProfilerRunner;
  precomputed: PrecomputedProfiles;
  onChange: (change: RegistryChange) => void;
  /** This controller's id (claims are held in its name). */
  controllerId?: string;
  /** How long a claim outlives its controller's last renewal, ms (default 30 s); maintain() runs every third of it. */
  claimTtlMs?: number;
}

/** How often a running registration's progress is written to the store, ms. */
const PROGRESS_WRITE_MS = 1000;

export class Registry {
  readonly #store: MetadataStore;
  readonly #repo: ModelRepository;
  readonly #profiler: ProfilerRunner;
  readonly #precomputed: PrecomputedProfiles;
  readonly #onChange: (change: RegistryChange) => void;
  readonly #controllerId: string;
  readonly #claimTtlMs: number;
  readonly #live = new Map<string, Registration>();
  /** The claims this controller holds: registration id → its artifact's lease. */
  readonly #claims = new Map<string, Lease>();
  #queue: Promise<void> = Promise.resolve();
  /** Aborted by close(): the running profiling job stops, and it and the queued ones resume at the next start. */
  readonly #closing = new AbortController();

  constructor(opts: RegistryOptions) {
    this.#store = opts.store;
    this.#repo = opts.repo;
    this.#profiler = opts.profiler;
    this.#precomputed = opts.precomputed;
    this.#onChange = opts.onChange;
    this.#controllerId = opts.controllerId ?? 'controller';
    this.#claimTtlMs = opts.claimTtlMs ?? 30_000;
  }

  /** The period at which maintain() should run, ms. */
  get maintainEveryMs(): number {
    return Math.max(50, Math.floor(this.#claimTtlMs / 3));
  }

  /**
   * Takes up registrations left PROFILING with nobody holding their claim (their controller stopped or died):
   * at start, and then from maintain(). Resolves to how many it queued.
   */
  async resume(): Promise<number> {
    if (this.#closing.signal.aborted) return 0;
    // A registration waiting for profiling has a `pending/<id>` record (its artifact) until the job ends.
    const ids = (await this.#store.list(keys.pendingPrefix)).map((e) => e.key.slice(keys.pendingPrefix.length)).filter((id) => !this.#live.has(id));
    let taken = 0;
    for (const id of ids) {
      const reg = await this.#store.get<Registration>(keys.registration(id));
      if (reg?.state !== 'PROFILING') continue;
      const claim = this.#claim(reg.id, `${reg.arch}.${reg.precision}`);
      if (!(await claim.acquire())) continue;
      this.#claims.set(reg.id, claim);
      reg.controller = this.#controllerId;
      this.#live.set(reg.id, reg);
      this.#enqueue(reg);
      taken++;
    }
    return taken;
  }

  /** Renews this controller's claims, then takes up orphaned registrations (the control loop calls it). */
  async maintain(): Promise<void> {
    await Promise.all([...this.#claims.values()].map((c) => c.acquire()));
    await this.resume();
  }

  async get(id: string): Promise<Registration> {
    const reg = this.#live.get(id) ?? (await this.#store.get<Registration>(keys.registration(id)));
    if (!reg) throw notFound(`no registration with id '${id}'`);
    return reg;
  }

  /** Validates and stores the model; profiling continues in the background unless a profile was supplied. */
  async register(req: RegisterRequest): Promise<Registration> {
    const precision: Precision = req.precision ?? 'fp32';
    for (const [field, v] of [['task', req.task], ['dataset', req.dataset], ['arch', req.arch]] as const) {
      if (typeof v !== 'string' || !NAME.test(v)) throw invalid(`${field} must be 1-128 characters of letters, digits, '.', '_' or '-' (got ${JSON.stringify(v)})`);
    }
    if (precision !== 'fp32' && precision !== 'int8') throw invalid(`precision must be fp32 or int8 (got ${JSON.stringify(precision)})`);
    if ((req.validation === undefined) === (req.profile === undefined)) throw invalid('give exactly one of a validation set or a precomputed profile');
    if (!req.model?.byteLength) throw invalidModel('the model file is empty');

    const info = inspectModel(req.model);
    const ucId = useCaseId(req.task, req.dataset);
    const existingUc = await this.#store.get<UseCase>(keys.useCase(ucId));
    const inputShape = existingUc?.inputShape ?? sampleShapeOf(info.inputs[0]?.shape, ucId);
    validateForUseCase(info, inputShape);
    if (req.labels && existingUc?.labels && req.labels.join('\n') !== existingUc.labels.join('\n')) {
      throw invalid(`use case ${ucId} already has ${existingUc.labels.length} labels that differ from the ones given`);
    }

    let validation: ReturnType<typeof decodeValidationSet> | undefined;
    if (req.validation) {
      validation = decodeValidationSet(req.validation);
      if (validation.shape.join(',') !== inputShape.join(',')) {
        throw invalid(`validation set samples have shape [${validation.shape}] but use case ${ucId} takes [${inputShape}]`);
      }
    }

    const artifactId = `${req.arch}.${precision}`;
    const existingArch = await this.#store.get<Architecture>(keys.architecture(req.arch));
    if (existingArch && existingArch.useCase !== ucId) {
      throw new InfaasError('ALREADY_EXISTS', `architecture '${req.arch}' is registered for use case ${existingArch.useCase}, not ${ucId}`);
    }
    const hasArtifact = existingArch?.artifacts.some((a) => a.id === artifactId);
    if ((hasArtifact || (existingArch && precision === 'fp32')) && !req.replace) {
      throw new InfaasError('ALREADY_EXISTS', `architecture '${req.arch}' (${precision}) is already registered; pass --replace to overwrite it`);
    }
    const regId = `${artifactId}-${randomBytes(4).toString('hex')}`;
    const claim = this.#claim(regId, artifactId);
    if (!(await claim.acquire())) {
      const by = (await claim.holder())?.holder.split(':')[0];
      throw new InfaasError('ALREADY_EXISTS', `'${artifactId}' is being registered right now${by && by !== this.#controllerId ? ` (by controller ${by})` : ''}; wait for that registration to finish`);
    }
    this.#claims.set(regId, claim);
    let queued = false;
    try {
      if (!existingUc) {
        await this.#store.set(keys.useCase(ucId), { id: ucId, task: req.task, dataset: req.dataset, inputShape, ...(req.labels ? { labels: req.labels } : {}) } satisfies UseCase);
      } else if (req.labels && !existingUc.labels) {
        await this.#store.set(keys.useCase(ucId), { ...existingUc, labels: req.labels });
      }
      const modelKey = `models/${req.arch}/${precision}.onnx`;
      await this.#repo.put(modelKey, req.model);
      const artifact: Artifact = {
        id: artifactId, arch: req.arch, precision, key: modelKey, bytes: req.model.byteLength,
        sha256: createHash('sha256').update(req.model).digest('hex'),
        inputName: info.inputs[0].name, outputName: info.outputs[0]?.name ?? 'output', accuracy: NaN,
      };
      const now = new Date().toISOString();
      const reg: Registration = {
        id: regId, arch: req.arch, useCase: ucId, precision, controller: this.#controllerId,
        state: 'PROFILING', progress: { done: 0, total: 1, stage: 'queued' }, createdAt: now, updatedAt: now,
      };
      const pendingArtifact = { artifact, description: req.description };
      if (validation) {
        await this.#repo.put(`validation/${artifactId}.valset`, req.validation!);
        await this.#store.set(keys.pending(reg.id), pendingArtifact);
        await this.#store.set(keys.registration(reg.id), reg);
        this.#live.set(reg.id, reg);
        this.#enqueue(reg);
        queued = true;
        return reg;
      }
      const { accuracy, variants } = this.#precomputed(req.profile, { artifactId, arch: req.arch, useCase: ucId });
      await this.#commit({ ...artifact, accuracy }, req.description, ucId, variants);
      const done: Registration = { ...reg, state: 'SUCCEEDED', progress: { done: 1, total: 1, stage: 'done' }, variants: variants.map((v) => v.name) };
      await this.#store.set(keys.registration(reg.id), done);
      return done;
    } finally {
      if (!queued) await this.#release(regId);
    }
  }

  /** Waits until every queued profiling job has finished (for tests and the demo). */
  async idle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.#queue;
      await q;
    } while (q !== this.#queue);
  }

  /** Stops profiling without failing anything: interrupted registrations stay PROFILING and resume on restart. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.idle();
    // Interrupted registrations stay PROFILING; freeing their claims lets another controller take them up now.
    await Promise.all([...this.#claims.keys()].map((id) => this.#release(id)));
  }

  #enqueue(reg: Registration): void {
    this.#queue = this.#queue.then(() => this.#runProfiling(reg)).catch(() => undefined);
  }

  async #runProfiling(reg: Registration): Promise<void> {
    let written = Date.now();
    const update = (patch: Partial<Registration>) => {
      Object.assign(reg, patch, { updatedAt: new Date().toISOString() });
      if (Date.now() - written < PROGRESS_WRITE_MS || reg.state !== 'PROFILING') return;
      written = Date.now();
      void this.#store.set(keys.registration(reg.id), reg).catch(() => undefined); // progress for other controllers
    };
    if (this.#closing.signal.aborted) return;
    try {
      const pending = await this.#store.get<{ artifact: Artifact; description?: string }>(keys.pending(reg.id));
      if (!pending) throw new Error('registration data is missing');
      const { artifact } = pending;
      const result = await this.#profiler.profile(
        {
          modelPath: await this.#repo.localPath(artifact.key),
          validationPath: await this.#repo.localPath(`validation/${artifact.id}.valset`),
          artifactId: artifact.id, arch: artifact.arch, useCase: reg.useCase, signal: this.#closing.signal,
        },
        (p) => update({ progress: p }),
      );
      await this.#commit({ ...artifact, accuracy: result.accuracy }, pending.description, reg.useCase, result.variants);
      update({ state: 'SUCCEEDED', variants: result.variants.map((v) => v.name), progress: { ...reg.progress, done: reg.progress.total, stage: 'done' } });
    } catch (e) {
      if (this.#closing.signal.aborted) return; // shutting down: leave it PROFILING, resume() picks it up
      update({ state: 'FAILED', error: e instanceof Error ? e.message : String(e) });
    }
    await this.#store.set(keys.registration(reg.id), reg);
    await this.#store.delete(keys.pending(reg.id));
    this.#live.delete(reg.id);
    await this.#release(reg.id);
  }

  /** The claim on an artifact, in the name of this controller and one registration. */
  #claim(regId: string, artifactId: string): Lease {
    return new Lease(this.#store, `register/${artifactId}`, `${this.#controllerId}:${regId}`, this.#claimTtlMs);
  }

  async #release(regId: string): Promise<void> {
    const claim = this.#claims.get(regId);
    this.#claims.delete(regId);
    await claim?.release().catch(() => undefined);
  }

  /** Writes the artifact into its architecture and replaces the artifact's variants. */
  async #commit(artifact: Artifact, description: string | undefined, ucId: string, variants: Variant[]): Promise<void> {
    const prev = await this.#store.get<Architecture>(keys.architecture(artifact.arch));
    const arch: Architecture = prev
      ? { ...prev, description: description ?? prev.description, artifacts: [...prev.artifacts.filter((a) => a.id !== artifact.id), artifact] }
      : { name: artifact.arch, useCase: ucId, description, artifacts: [artifact], registeredAt: new Date().toISOString() };
    // Variant names start with their artifact id (variantName in core/types.ts), so a prefix finds them.
    const removed: string[] = [];
    for (const { key, value } of await this.#store.list<Variant>(keys.variant(`${artifact.id}.`))) {
      if (value.artifactId !== artifact.id) continue;
      await this.#store.delete(key);
      removed.push(value.name);
    }
    await Promise.all(variants.map((v) => this.#store.set(keys.variant(v.name), v)));
    await this.#store.set(keys.architecture(arch.name), arch);
    const useCase = await this.#store.get<UseCase>(keys.useCase(ucId));
    if (!useCase) throw new InfaasError('INTERNAL', `use case ${ucId} vanished during registration`);
    this.#onChange({ useCase, architecture: arch, variants, removed });
  }
}

function sampleShapeOf(shape: (number | string)[] | undefined, ucId: string): number[] {
  const dims = (shape ?? []).slice(1);
  if (!dims.length || dims.some((d) => typeof d !== 'number' || d <= 0)) {
    throw invalidModel(`cannot create use case ${ucId}: the model's input shape [${(shape ?? []).join(',')}] must be [batch, fixed dims...]`);
  }
  return dims as number[];
}
