// Registration of models: validates an ONNX artifact against its use case, stores it in the model repository,
// and profiles it into variants in the background (one profiling job at a time, durable across restarts).
//
// Nothing is written before everything that can be checked is: the fields, the ONNX file (inspected; with a
// precomputed profile also loaded and run once in ONNX Runtime in another process), the validation set or the
// profile file. Then a registration writes a `pending/<id>` record naming what it writes, the model file and
// validation set under keys of their own (`<arch>/<precision>-<tag>.onnx`, so a replacement being profiled never
// touches the file of the artifact it replaces), and the registration record; the use case, architecture and
// variants only when it commits. A registration that fails removes what it wrote; one left half-way by a stopped
// controller is undone by resume().
//
// Several controllers may share one metadata store. An architecture being registered is claimed with a lease
// (`lease/register/<arch>`) from the moment its registration is accepted until it ends, so while one registration
// of an architecture (any precision) is in progress, here or on another controller, another gets 409 naming it. The
// claim is renewed by maintain() (the control loop); when its controller dies the claim expires, and the first
// other controller whose maintain() finds the registration still PROFILING takes the claim and profiles it: every
// registration is profiled to the end, by one controller at a time. Progress is written to the store about once a
// second, so every controller answers GET /v1/registrations/:id.

import { createHash, randomBytes } from 'node:crypto';
import { excerpt, InfaasError, invalid, invalidModel, notFound } from '../core/errors.ts';
import { useCaseId, type Architecture, type Artifact, type OptLevel, type Precision, type UseCase, type Variant } from '../core/types.ts';
import { decodeValidationSet, type ValidationSet } from '../core/validation-set.ts';
import { keys, type MetadataStore } from '../metadata/metadata-store.ts';
import { Lease } from '../metadata/lease.ts';
import type { ModelRepository } from '../repository/model-repository.ts';
import { fmtShape, inspectModel, validateForUseCase } from '../onnx/inspect-model.ts';

/** Runs the profiler and the model check (in the live system: child processes). Defined here, beside its consumer. */
export interface ProfilerRunner {
  profile(
    job: { modelPath: string; validationPath: string; artifactId: string; arch: string; useCase: string; signal: AbortSignal },
    onProgress: (p: RegistrationProgress) => void,
  ): Promise<{ accuracy: number; variants: Variant[] }>;
  /**
   * Loads the model in ONNX Runtime in another process at each optimisation level and runs it on zeros of
   * [batch, ...inputShape] for each batch; rejects with INVALID_MODEL and ORT's reason (no path) when it cannot.
   */
  check(job: { model: Uint8Array; inputShape: readonly number[]; optLevels: OptLevel[]; batches: number[]; signal: AbortSignal }): Promise<void>;
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
const MAX_DESCRIPTION = 2000;
const MAX_LABELS = 100_000;
const MAX_LABEL_LENGTH = 1000;

/**
 * What a registration writes, recorded before its first write (`pending/<id>`) and deleted when it ends: the
 * profiling job's input, and what to remove if the registration fails or its controller stops half-way.
 */
interface PendingRegistration {
  artifact: Artifact;
  description?: string;
  /** The use case as this registration would create it (absent in records of older versions). */
  useCase?: UseCase;
  /** Repository key of the validation set; absent with a precomputed profile (and in records of older versions). */
  validationKey?: string;
  /** Set when the registration has a precomputed profile (no validation set). */
  precomputed?: boolean;
}

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
  /** The claims this controller holds: registration id → its architecture's lease. */
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
   * Takes up registrations nobody holds the claim of (their controller stopped or died): those left PROFILING are
   * queued for profiling again; those left before their registration record was written, or finished but not
   * cleaned up, have what they wrote removed. At start, and then from maintain(). Resolves to how many it queued.
   */
  async resume(): Promise<number> {
    if (this.#closing.signal.aborted) return 0;
    let taken = 0;
    for (const { key, value: pending } of await this.#store.list<PendingRegistration>(keys.pendingPrefix)) {
      const id = key.slice(keys.pendingPrefix.length);
      if (this.#live.has(id) || this.#claims.has(id)) continue; // being registered or profiled here
      const claim = this.#claim(id, pending.artifact.arch);
      if (!(await claim.acquire())) continue; // in progress on another controller
      const reg = await this.#store.get<Registration>(keys.registration(id));
      if (reg?.state !== 'PROFILING') {
        try {
          await this.#discard(id, pending);
        } finally {
          await claim.release().catch(() => undefined);
        }
        continue;
      }
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
    if (!reg) throw notFound(`no registration with id ${excerpt(id)}`);
    return reg;
  }

  /**
   * Validates the request and the model, then stores it: with a validation set it is profiled in the background
   * (PROFILING); with a precomputed profile it is loaded and run once in ONNX Runtime and committed at once
   * (SUCCEEDED). Rejects, having written nothing that stays, with INVALID_ARGUMENT / INVALID_MODEL for a bad
   * request or model and ALREADY_EXISTS for a name registered already or being registered now.
   */
  async register(req: RegisterRequest): Promise<Registration> {
    const precision: Precision = req.precision ?? 'fp32';
    for (const [field, v] of [['task', req.task], ['dataset', req.dataset], ['arch', req.arch]] as const) {
      if (typeof v !== 'string' || !NAME.test(v)) throw invalid(`${field} must be 1-128 characters of letters, digits, '.', '_' or '-' (got ${excerpt(v)})`);
    }
    if (precision !== 'fp32' && precision !== 'int8') throw invalid(`precision must be fp32 or int8 (got ${excerpt(precision)})`);
    if ((req.validation === undefined) === (req.profile === undefined)) throw invalid('give exactly one of a validation set or a precomputed profile');
    if (req.description !== undefined && (typeof req.description !== 'string' || req.description.length > MAX_DESCRIPTION)) {
      throw invalid(`description must be text of at most ${MAX_DESCRIPTION} characters`);
    }
    if (req.labels && (req.labels.length > MAX_LABELS || req.labels.some((l) => typeof l !== 'string' || l.length > MAX_LABEL_LENGTH))) {
      throw invalid(`labels must be at most ${MAX_LABELS} class names of at most ${MAX_LABEL_LENGTH} characters each`);
    }
    if (!req.model?.byteLength) throw invalidModel('the model file is empty');

    // Everything that can be checked before anything is written.
    const info = inspectModel(req.model);
    const ucId = useCaseId(req.task, req.dataset);
    const existingUc = await this.#store.get<UseCase>(keys.useCase(ucId));
    const inputShape = existingUc?.inputShape ?? sampleShapeOf(info.inputs[0]?.shape, ucId);
    validateForUseCase(info, inputShape, ucId);
    if (req.labels && existingUc?.labels && req.labels.join('\n') !== existingUc.labels.join('\n')) {
      throw invalid(`use case ${ucId} already has ${existingUc.labels.length} labels that differ from the ones given`);
    }
    let validation: ValidationSet | undefined;
    if (req.validation) {
      validation = decodeValidationSet(req.validation);
      if (validation.shape.join(',') !== inputShape.join(',')) {
        throw invalid(`validation set samples have shape [${validation.shape}] but use case ${ucId} takes [${inputShape}]`);
      }
    }
    const artifactId = `${req.arch}.${precision}`;
    const profile = req.profile !== undefined ? this.#precomputed(req.profile, { artifactId, arch: req.arch, useCase: ucId }) : undefined;

    // The architecture's name is reserved (every precision) until this registration ends.
    const tag = randomBytes(4).toString('hex');
    const regId = `${artifactId}-${tag}`;
    const claim = this.#claim(regId, req.arch);
    if (!(await claim.acquire())) throw await this.#beingRegistered(claim, req.arch);
    this.#claims.set(regId, claim);
    let pending: PendingRegistration | undefined;
    let queued = false;
    let committed = false;
    try {
      const existingArch = await this.#store.get<Architecture>(keys.architecture(req.arch));
      if (existingArch && existingArch.useCase !== ucId) {
        throw new InfaasError('ALREADY_EXISTS', `architecture '${req.arch}' is registered for use case ${existingArch.useCase}, not ${ucId}`);
      }
      const hasArtifact = existingArch?.artifacts.some((a) => a.id === artifactId);
      if ((hasArtifact || (existingArch && precision === 'fp32')) && !req.replace) {
        throw new InfaasError('ALREADY_EXISTS', `architecture '${req.arch}' (${precision}) is already registered; pass --replace to overwrite it`);
      }
      if (profile) {
        const maxBatch = Math.max(...profile.variants.map((v) => v.config.maxBatch));
        const optLevels = [...new Set(profile.variants.map((v) => v.config.optLevel))];
        await this.#profiler.check({ model: req.model, inputShape, optLevels, batches: maxBatch > 1 ? [1, 2] : [1], signal: this.#closing.signal });
      }

      const base = `${req.arch}/${precision}-${tag}`;
      pending = {
        artifact: {
          id: artifactId, arch: req.arch, precision, key: `${base}.onnx`, bytes: req.model.byteLength,
          sha256: createHash('sha256').update(req.model).digest('hex'),
          inputName: info.inputs[0].name, outputName: info.outputs[0]?.name ?? 'output', accuracy: NaN,
        },
        description: req.description,
        useCase: { id: ucId, task: req.task, dataset: req.dataset, inputShape, ...(req.labels ? { labels: req.labels } : {}) },
        ...(validation ? { validationKey: `${base}.valset` } : { precomputed: true }),
      };
      await this.#store.set(keys.pending(regId), pending);
      await this.#repo.put(pending.artifact.key, req.model);
      const now = new Date().toISOString();
      const reg: Registration = {
        id: regId, arch: req.arch, useCase: ucId, precision, controller: this.#controllerId,
        state: 'PROFILING', progress: { done: 0, total: 1, stage: 'queued' }, createdAt: now, updatedAt: now,
      };
      if (!profile) {
        await this.#repo.put(pending.validationKey!, req.validation!);
        await this.#store.set(keys.registration(reg.id), reg);
        this.#live.set(reg.id, reg);
        this.#enqueue(reg);
        queued = true;
        return reg;
      }
      await this.#commit(pending, ucId, profile);
      committed = true;
      const done: Registration = { ...reg, state: 'SUCCEEDED', progress: { done: 1, total: 1, stage: 'done' }, variants: profile.variants.map((v) => v.name) };
      await this.#store.set(keys.registration(reg.id), done);
      await this.#store.delete(keys.pending(reg.id));
      return done;
    } catch (e) {
      // Left for resume() if this fails too (the store is unreachable): the claim expires, the pending record stays.
      if (pending && !committed) await this.#discard(regId, pending).catch(() => undefined);
      throw e;
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
    const pending = await this.#store.get<PendingRegistration>(keys.pending(reg.id)).catch(() => undefined);
    try {
      if (!pending) throw new InfaasError('INTERNAL', 'registration data is missing');
      const { artifact } = pending;
      const result = await this.#profiler.profile(
        {
          modelPath: await this.#repo.localPath(artifact.key),
          validationPath: await this.#repo.localPath(validationKeyOf(pending)),
          artifactId: artifact.id, arch: artifact.arch, useCase: reg.useCase, signal: this.#closing.signal,
        },
        (p) => update({ progress: p }),
      );
      await this.#commit(pending, reg.useCase, result);
      update({ state: 'SUCCEEDED', variants: result.variants.map((v) => v.name), progress: { ...reg.progress, done: reg.progress.total, stage: 'done' } });
    } catch (e) {
      if (this.#closing.signal.aborted) return; // shutting down: leave it PROFILING, resume() picks it up
      update({ state: 'FAILED', error: e instanceof Error ? e.message : String(e) });
    }
    await this.#store.set(keys.registration(reg.id), reg);
    // The validation set served its purpose either way; a failed registration leaves no model file either.
    if (pending) await this.#discard(reg.id, pending, reg.state === 'SUCCEEDED' ? [validationKeyOf(pending)] : undefined);
    this.#live.delete(reg.id);
    await this.#release(reg.id);
  }

  /** The claim on an architecture's name, in the name of this controller and one registration. */
  #claim(regId: string, arch: string): Lease {
    return new Lease(this.#store, `register/${arch}`, `${this.#controllerId}:${regId}`, this.#claimTtlMs);
  }

  /** The 409 for an architecture whose name another registration holds, naming that registration. */
  async #beingRegistered(claim: Lease, arch: string): Promise<InfaasError> {
    const holder = (await claim.holder().catch(() => undefined))?.holder ?? '';
    const at = holder.lastIndexOf(':');
    const [controller, registration] = at < 0 ? [undefined, undefined] : [holder.slice(0, at), holder.slice(at + 1)];
    const who = registration ? ` (registration ${registration}${controller && controller !== this.#controllerId ? `, on controller ${controller}` : ''})` : '';
    return new InfaasError('ALREADY_EXISTS', `architecture '${arch}' is being registered${who}; wait for that registration to finish, then register again (with replace to overwrite it)`, {
      ...(registration ? { registration } : {}), ...(controller ? { controller } : {}),
    });
  }

  async #release(regId: string): Promise<void> {
    const claim = this.#claims.get(regId);
    this.#claims.delete(regId);
    await claim?.release().catch(() => undefined);
  }

  /**
   * Removes what a registration wrote and no committed artifact uses (`only`: just these repository keys), then its
   * pending record. Best effort: what is left (the store or repository failed) is retried by resume().
   */
  async #discard(regId: string, pending: PendingRegistration, only?: string[]): Promise<void> {
    const arch = await this.#store.get<Architecture>(keys.architecture(pending.artifact.arch));
    const inUse = new Set(arch?.artifacts.map((a) => a.key));
    const written = only ?? [pending.artifact.key, ...(pending.precomputed ? [] : [validationKeyOf(pending)])];
    for (const key of written) if (!inUse.has(key)) await this.#repo.delete(key);
    await this.#store.delete(keys.pending(regId));
  }

  /**
   * Commits a profiled artifact: creates its use case if this is the first architecture of it (refusing one created
   * meanwhile for another input shape or other labels), replaces the artifact's variants, writes its architecture,
   * and removes the file of the artifact it replaced.
   */
  async #commit(pending: PendingRegistration, ucId: string, result: { accuracy: number; variants: Variant[] }): Promise<void> {
    const artifact: Artifact = { ...pending.artifact, accuracy: result.accuracy };
    let useCase = await this.#store.get<UseCase>(keys.useCase(ucId));
    const wanted = pending.useCase;
    if (!useCase) {
      if (!wanted) throw new InfaasError('INTERNAL', `use case ${ucId} vanished during registration`);
      useCase = wanted;
      await this.#store.set(keys.useCase(ucId), useCase);
    } else if (wanted) {
      if (useCase.inputShape.join(',') !== wanted.inputShape.join(',')) {
        throw invalidModel(`use case ${ucId} was registered meanwhile with input shape [${useCase.inputShape}]; this model was checked for [${wanted.inputShape}]`);
      }
      if (wanted.labels && useCase.labels && wanted.labels.join('\n') !== useCase.labels.join('\n')) {
        throw invalid(`use case ${ucId} was given ${useCase.labels.length} other labels meanwhile`);
      }
      if (wanted.labels && !useCase.labels) {
        useCase = { ...useCase, labels: wanted.labels };
        await this.#store.set(keys.useCase(ucId), useCase);
      }
    }
    const prev = await this.#store.get<Architecture>(keys.architecture(artifact.arch));
    if (prev && prev.useCase !== ucId) throw new InfaasError('ALREADY_EXISTS', `architecture '${artifact.arch}' was registered meanwhile for use case ${prev.useCase}`);
    const replaced = prev?.artifacts.find((a) => a.id === artifact.id);
    const arch: Architecture = prev
      ? { ...prev, description: pending.description ?? prev.description, artifacts: [...prev.artifacts.filter((a) => a.id !== artifact.id), artifact] }
      : { name: artifact.arch, useCase: ucId, description: pending.description, artifacts: [artifact], registeredAt: new Date().toISOString() };
    // Variant names start with their artifact id (variantName in core/types.ts), so a prefix finds them.
    const removed: string[] = [];
    for (const { key, value } of await this.#store.list<Variant>(keys.variant(`${artifact.id}.`))) {
      if (value.artifactId !== artifact.id) continue;
      await this.#store.delete(key);
      removed.push(value.name);
    }
    await Promise.all(result.variants.map((v) => this.#store.set(keys.variant(v.name), v)));
    await this.#store.set(keys.architecture(arch.name), arch);
    if (replaced && replaced.key !== artifact.key) await this.#repo.delete(replaced.key).catch(() => false);
    this.#onChange({ useCase, architecture: arch, variants: result.variants, removed });
  }
}

/** Where a pending registration's validation set is (records of older versions kept it at `validation/<artifact>.valset`). */
function validationKeyOf(p: PendingRegistration): string {
  return p.validationKey ?? `validation/${p.artifact.id}.valset`;
}

function sampleShapeOf(shape: (number | string)[] | undefined, ucId: string): number[] {
  const dims = (shape ?? []).slice(1);
  if (!dims.length || dims.some((d) => typeof d !== 'number' || d <= 0)) {
    throw invalidModel(`cannot create use case ${ucId}: the model's input shape ${fmtShape(shape ?? [])} must be [batch, fixed dims...]`);
  }
  return dims as number[];
}
