// The controller's in-memory view of what is registered: use cases, architectures, variants and the indexed
// Catalogue the selection policy searches. Immutable: a registration (here or, through the store's change
// feed, on another controller) gives a new index, so a query never reads the store or a half-applied change.

import { excerpt, notFound } from '../core/errors.ts';
import type { Architecture, UseCase, Variant } from '../core/types.ts';
import { keys, type MetadataStore, type StoreChange } from '../metadata/metadata-store.ts';
import { Catalogue } from '../policy/catalogue.ts';

export class ModelIndex {
  readonly useCases: ReadonlyMap<string, UseCase>;
  readonly architectures: ReadonlyMap<string, Architecture>;
  readonly variants: ReadonlyMap<string, Variant>;
  readonly catalogue: Catalogue;

  private constructor(useCases: UseCase[], archs: Architecture[], variants: Variant[]) {
    this.useCases = new Map(useCases.map((u) => [u.id, u]));
    this.architectures = new Map(archs.map((a) => [a.name, a]));
    this.variants = new Map(variants.map((v) => [v.name, v]));
    this.catalogue = new Catalogue(variants);
  }

  /** A new index with one registration applied (no store read; the catalogue is rebuilt). */
  with(change: { useCase: UseCase; architecture: Architecture; variants: Variant[]; removed: string[] }): ModelIndex {
    const useCases = new Map(this.useCases).set(change.useCase.id, change.useCase);
    const archs = new Map(this.architectures).set(change.architecture.name, change.architecture);
    const variants = new Map(this.variants);
    for (const name of change.removed) variants.delete(name);
    for (const v of change.variants) variants.set(v.name, v);
    return new ModelIndex([...useCases.values()], [...archs.values()], [...variants.values()]);
  }

  /**
   * A new index with the store's changes to use cases, architectures and variants applied (other keys are
   * ignored), or this one when none of them changes anything (a change this controller already applied).
   */
  applying(changes: readonly StoreChange[]): ModelIndex {
    const maps = { useCases: new Map(this.useCases), archs: new Map(this.architectures), variants: new Map(this.variants) };
    let changed = false;
    const apply = <T>(map: Map<string, T>, name: string, c: StoreChange) => {
      if (c.type === 'delete') changed = map.delete(name) || changed;
      else if (c.type === 'set' && JSON.stringify(map.get(name)) !== JSON.stringify(c.value)) {
        map.set(name, c.value as T);
        changed = true;
      }
    };
    for (const c of changes) {
      if (c.type === 'reset') continue;
      if (c.key.startsWith(keys.useCasePrefix)) apply(maps.useCases, c.key.slice(keys.useCasePrefix.length), c);
      else if (c.key.startsWith(keys.archPrefix)) apply(maps.archs, c.key.slice(keys.archPrefix.length), c);
      else if (c.key.startsWith(keys.variantsPrefix)) apply(maps.variants, c.key.slice(keys.variantsPrefix.length), c);
    }
    return changed ? new ModelIndex([...maps.useCases.values()], [...maps.archs.values()], [...maps.variants.values()]) : this;
  }

  static empty(): ModelIndex {
    return new ModelIndex([], [], []);
  }

  static async load(store: MetadataStore): Promise<ModelIndex> {
    const [ucs, archs, vs] = await Promise.all([
      store.list<UseCase>(keys.useCasePrefix),
      store.list<Architecture>(keys.archPrefix),
      store.list<Variant>(keys.variantsPrefix),
    ]);
    return new ModelIndex(ucs.map((e) => e.value), archs.map((e) => e.value), vs.map((e) => e.value));
  }

  useCase(id: string): UseCase {
    const uc = this.useCases.get(id);
    if (!uc) {
      const known = [...this.useCases.keys()].join(', ') || 'none registered yet';
      throw notFound(`unknown use case ${excerpt(id)} (known: ${known})`);
    }
    return uc;
  }

  architecture(name: string): Architecture {
    const a = this.architectures.get(name);
    if (!a) throw notFound(`unknown architecture ${excerpt(name)}; list them with \`infaas modarch <task> <dataset>\``);
    return a;
  }

  variant(name: string): Variant {
    const v = this.variants.get(name);
    if (!v) throw notFound(`unknown variant ${excerpt(name)}; list them with \`infaas modinfo <arch>\``);
    return v;
  }

  variantsOf(arch: string): Variant[] {
    return [...this.variants.values()].filter((v) => v.arch === arch).sort((a, b) => a.name.localeCompare(b.name));
  }

  architecturesOf(useCase: string): Architecture[] {
    return [...this.architectures.values()].filter((a) => a.useCase === useCase).sort((a, b) => a.name.localeCompare(b.name));
  }
}
