// The registry with real pieces: an embedded store on a temp data dir (reopened to check what survives a restart),
// a local repository, real ONNX Runtime in the profiling and model check child processes, and ONNX files that pass
// inspection but that ORT refuses. Registrations never lie and never leave anything behind.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfaasError } from '../core/errors.ts';
import type { UseCase, WorkerClass } from '../core/types.ts';
import { encodeValidationSet } from '../core/validation-set.ts';
import { keys, type MetadataStore } from '../metadata/metadata-store.ts';
import { EmbeddedStore } from '../metadata/embedded/log-store.ts';
import { MemoryStore } from '../metadata/memory/memory-store.ts';
import { LocalRepository } from '../repository/local/local-repository.ts';
import { ModelChecker } from '../profiler/model-check.ts';
import { runProfileJob } from '../profiler/profile-job.ts';
import { variantsFromProfileFile } from '../profiler/precomputed.ts';
import { buildBrokenModel, buildTinyModel, buildTinyValset, type BrokenKind } from '../profiler/test-fixtures.ts';
import { Registry, type ProfilerRunner, type RegisterRequest, type RegistryChange } from './registry.ts';

const workerClasses: WorkerClass[] = [{ name: 'cpu-1', threads: 1, memoryMB: 1024, pricePerHour: 0.048 }];
const GRID = { threads: [1], maxBatch: [1, 4], optLevels: ['all' as const], runs: 3, warmup: 1 };
const valset = encodeValidationSet(buildTinyValset(8));
const tiny = buildTinyModel().bytes;
const profileFile = () => ({
  accuracy: 80,
  variants: [{ config: { threads: 1, maxBatch: 8, optLevel: 'all' }, profile: { loadMs: 3, latency: [{ batch: 1, p50: 0.1, p95: 0.2 }, { batch: 8, p50: 0.5, p95: 0.6 }], memoryMB: 2 } }],
});
const checker = new ModelChecker();
after(() => checker.close());

/** A registry over a data dir; `gate` holds profiling jobs back until it resolves. */
class Harness {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'infaas-registry-'));
  readonly repo = new LocalRepository(join(this.dataDir, 'models'));
  readonly changes: RegistryChange[] = [];
  store!: MetadataStore;
  registry!: Registry;
  gate: Promise<void> = Promise.resolve();

  static async open(opts: { store?: MetadataStore; controllerId?: string } = {}): Promise<Harness> {
    const h = new Harness();
    h.store = opts.store ?? (await EmbeddedStore.open(h.dataDir));
    h.registry = h.newRegistry(opts.controllerId);
    return h;
  }

  newRegistry(controllerId?: string): Registry {
    const profiler: ProfilerRunner = {
      check: (job) => checker.check(job),
      profile: async (job, onProgress) => {
        await this.gate;
        return runProfileJob({ path: job.modelPath, validationPath: job.validationPath, artifactId: job.artifactId, arch: job.arch, useCase: job.useCase, grid: GRID, workerClasses, effort: { budgetMs: 5, loadRepeats: 1 }, signal: job.signal }, onProgress);
      },
    };
    return new Registry({
      store: this.store, repo: this.repo, profiler, controllerId, claimTtlMs: 60_000,
      precomputed: (json, ctx) => variantsFromProfileFile(json, { ...ctx, workerClasses }),
      onChange: (c) => this.changes.push(c),
    });
  }

  /** Closes and reopens the store and the registry, as a restart of the server would. */
  async restart(): Promise<void> {
    await this.registry.close();
    await this.store.close();
    this.store = await EmbeddedStore.open(this.dataDir);
    this.registry = this.newRegistry();
    await this.registry.resume();
    await this.registry.idle();
  }

  /** Every file under the repository's root, temp files included. */
  files(): string[] {
    try {
      return (readdirSync(this.repo.root, { recursive: true, withFileTypes: true }) as Array<{ isFile(): boolean; parentPath?: string; path?: string; name: string }>)
        .filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path ?? '', e.name).slice(this.repo.root.length + 1)).sort();
    } catch {
      return [];
    }
  }

  /** Store keys of the catalogue and of registrations in progress. */
  async catalogue(): Promise<string[]> {
    const prefixes = [keys.useCasePrefix, keys.archPrefix, keys.variantsPrefix, keys.pendingPrefix];
    return (await Promise.all(prefixes.map((p) => this.store.list(p)))).flat().map((e) => e.key).sort();
  }

  async close(): Promise<void> {
    await this.registry.close();
    await this.store.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

const req = (over: Partial<RegisterRequest> = {}): RegisterRequest => ({ task: 'classification', dataset: 'tiny', arch: 'net', model: tiny, validation: valset, ...over });
const withProfile = (over: Partial<RegisterRequest> = {}) => req({ validation: undefined, profile: profileFile(), ...over });

async function refused(h: Harness, p: Promise<unknown>, code: string, pattern: RegExp): Promise<InfaasError> {
  let err: InfaasError | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InfaasError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes(h.dataDir) && !e.message.includes('/models/models/'), e.message);
    err = e;
    return true;
  });
  return err!;
}

describe('Registry', () => {
  it('refuses with 400 INVALID_MODEL and ORT\'s reason a precomputed model ORT cannot load or run, writing nothing', async () => {
    const h = await Harness.open();
    try {
      const cases: Array<[BrokenKind, RegExp]> = [
        ['matmul-mismatch', /^ONNX Runtime cannot load the model: Node \(MatMul_probs\) Op \(MatMul\) \[ShapeInferenceError\] Incompatible dimensions/],
        ['dangling-input', /^ONNX Runtime cannot load the model: .*'ghost'/],
        ['fails-on-run', /^the model failed to run on a zero input of shape \[1,1,28,28\]/],
        ['runs-at-batch-1-only', /^the model failed to run on a zero input of shape \[2,1,28,28\]/],
      ];
      for (const [kind, pattern] of cases) await refused(h, h.registry.register(withProfile({ arch: kind, model: buildBrokenModel(kind) })), 'INVALID_MODEL', pattern);
      assert.deepEqual(await h.catalogue(), []);
      assert.deepEqual(h.files(), []);
      assert.deepEqual(h.changes, []);
      // The name is free again, and a model ORT runs registers at once.
      const ok = await h.registry.register(withProfile({ arch: 'matmul-mismatch' }));
      assert.equal(ok.state, 'SUCCEEDED');
      assert.deepEqual(h.files(), [`matmul-mismatch/fp32-${ok.id.split('-').pop()}.onnx`]);
    } finally {
      await h.close();
    }
  });

  it('reports a validation-set registration ORT cannot load as FAILED with a clear error, committing and keeping nothing', async () => {
    const h = await Harness.open();
    try {
      const reg = await h.registry.register(req({ model: buildBrokenModel('matmul-mismatch') }));
      assert.equal(reg.state, 'PROFILING');
      await h.registry.idle();
      const failed = await h.registry.get(reg.id);
      assert.equal(failed.state, 'FAILED');
      assert.match(failed.error!, /^model failed to load: Node \(MatMul_probs\) Op \(MatMul\) \[ShapeInferenceError\] Incompatible dimensions for matrix multiplication$/);
      assert.deepEqual(await h.catalogue(), []);
      assert.deepEqual(h.files(), []);
      await h.restart();
      assert.equal((await h.registry.get(reg.id)).state, 'FAILED');
      assert.deepEqual(await h.catalogue(), []);
      assert.deepEqual(h.files(), []);
    } finally {
      await h.close();
    }
  });

  it('leaves no file and no empty use case behind a refused registration, across a restart', async () => {
    const h = await Harness.open();
    try {
      const badProfile = profileFile() as any;
      badProfile.variants[0].profile.latency[0].p50 = 'fast';
      await refused(h, h.registry.register(withProfile({ profile: badProfile })), 'INVALID_ARGUMENT', /p50 must be/);
      badProfile.variants[0].profile.latency[0].p50 = 0.1;
      badProfile.variants[0].profile.p99 = 1;
      await refused(h, h.registry.register(withProfile({ profile: badProfile })), 'INVALID_ARGUMENT', /unknown field "p99"/);
      await refused(h, h.registry.register(req({ validation: encodeValidationSet(buildTinyValset(4, [2, 2])) })), 'INVALID_ARGUMENT', /validation set samples have shape \[2,2\]/);
      await refused(h, h.registry.register(req({ validation: new Uint8Array(20) })), 'INVALID_ARGUMENT', /bad magic/);
      await refused(h, h.registry.register(req({ arch: 'x'.repeat(5000) })), 'INVALID_ARGUMENT', /^arch must be .*\(got "x{64}…" \(5000 characters\)\)$/);
      await h.restart();
      assert.deepEqual(await h.catalogue(), []);
      assert.deepEqual(h.files(), []);
    } finally {
      await h.close();
    }
  });

  it('reserves an architecture from the first request: 409 naming the registration while it profiles, at any precision', async () => {
    const h = await Harness.open();
    let open!: () => void;
    h.gate = new Promise((r) => (open = r));
    try {
      const first = await h.registry.register(req());
      assert.equal(first.state, 'PROFILING');
      const busy = new RegExp(`^architecture 'net' is being registered \\(registration ${first.id}\\); wait for that registration to finish`);
      await refused(h, h.registry.register(req()), 'ALREADY_EXISTS', busy);
      await refused(h, h.registry.register(req({ replace: true })), 'ALREADY_EXISTS', busy);
      await refused(h, h.registry.register(req({ precision: 'int8' })), 'ALREADY_EXISTS', busy);
      const other = await refused(h, h.registry.register(withProfile({ dataset: 'elsewhere' })), 'ALREADY_EXISTS', busy);
      assert.equal(other.details?.registration, first.id);
      open();
      await h.registry.idle();
      const done = await h.registry.get(first.id);
      assert.equal(done.state, 'SUCCEEDED', done.error);
      // Only the finished registration's model stays; its validation set went once profiled.
      const firstModel = `net/fp32-${first.id.split('-').pop()}.onnx`;
      assert.deepEqual(h.files(), [firstModel]);
      await refused(h, h.registry.register(req()), 'ALREADY_EXISTS', /already registered; pass --replace/);

      // replace replaces a finished registration: the new file, then the old one removed.
      const second = await h.registry.register(req({ replace: true }));
      await h.registry.idle();
      assert.equal((await h.registry.get(second.id)).state, 'SUCCEEDED');
      const arch = (await h.store.get<any>(keys.architecture('net')))!;
      assert.deepEqual(arch.artifacts.map((a: any) => a.key), [`net/fp32-${second.id.split('-').pop()}.onnx`]);
      assert.deepEqual(h.files(), [arch.artifacts[0].key]);
      const int8 = await h.registry.register(withProfile({ precision: 'int8' }));
      assert.equal(int8.state, 'SUCCEEDED');
    } finally {
      open();
      await h.close();
    }
  });

  it('reserves names across controllers sharing one store, and undoes what a stopped controller left half-way', async () => {
    const store = new MemoryStore();
    const a = await Harness.open({ store, controllerId: 'ctl-a' });
    const b = await Harness.open({ store, controllerId: 'ctl-b' });
    let open!: () => void;
    a.gate = new Promise((r) => (open = r));
    try {
      const first = await a.registry.register(req());
      const e = await refused(b, b.registry.register(req({ precision: 'int8' })), 'ALREADY_EXISTS', new RegExp(`\\(registration ${first.id}, on controller ctl-a\\)`));
      assert.deepEqual(e.details, { registration: first.id, controller: 'ctl-a' });
      open();
      await a.registry.idle();
      assert.equal((await a.registry.get(first.id)).state, 'SUCCEEDED');

      // A controller that stopped after its first writes (pending record, model file) and before the registration
      // record: once its claim is gone, another controller's resume() removes what it wrote.
      const pending = {
        artifact: { id: 'gone.fp32', arch: 'gone', precision: 'fp32', key: 'gone/fp32-dead.onnx', bytes: tiny.byteLength, sha256: '0'.repeat(64), inputName: 'input', outputName: 'probs', accuracy: null },
        validationKey: 'gone/fp32-dead.valset',
      };
      await store.set(keys.pending('gone.fp32-dead'), pending);
      await b.repo.put('gone/fp32-dead.onnx', tiny);
      await b.repo.put('gone/fp32-dead.valset', valset);
      assert.equal(await b.registry.resume(), 0);
      assert.equal(await store.get(keys.pending('gone.fp32-dead')), undefined);
      assert.deepEqual(b.files(), []);
    } finally {
      open();
      await a.registry.close();
      await b.registry.close();
      rmSync(a.dataDir, { recursive: true, force: true });
      rmSync(b.dataDir, { recursive: true, force: true });
    }
  });

  it('writes a use case only when its first architecture commits, and refuses one checked for another shape meanwhile', async () => {
    const h = await Harness.open();
    let open!: () => void;
    h.gate = new Promise((r) => (open = r));
    try {
      const profiled = await h.registry.register(req());
      assert.equal(await h.store.get(keys.useCase('classification/tiny')), undefined, 'no use case while profiling');
      // Another architecture creates the use case first, for another input shape.
      const small = buildTinyModel({ inputShape: [4], classes: 3 }).bytes;
      assert.equal((await h.registry.register(withProfile({ arch: 'small', model: small }))).state, 'SUCCEEDED');
      assert.deepEqual((await h.store.get<UseCase>(keys.useCase('classification/tiny')))?.inputShape, [4]);
      open();
      await h.registry.idle();
      const failed = await h.registry.get(profiled.id);
      assert.equal(failed.state, 'FAILED');
      assert.match(failed.error!, /use case classification\/tiny was registered meanwhile with input shape \[4\]; this model was checked for \[1,28,28\]/);
      assert.deepEqual(await h.catalogue(), ['arch/small', 'usecase/classification/tiny', 'variant/small.fp32.t1.b8.all']);
      assert.equal(h.files().length, 1);
    } finally {
      open();
      await h.close();
    }
  });
});
