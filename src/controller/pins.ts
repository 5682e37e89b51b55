// Variants an operator loaded explicitly (POST /v1/variants/:name/load) stay loaded until unloaded by name: the
// autoscaler never scales them to zero. The pins are kept in the metadata store (`pin/<variant>`), so they
// survive a restart and every controller's autoscaler sees them; each controller follows them in memory.

import { keys, type MetadataStore } from '../metadata/metadata-store.ts';

/** What the dispatcher needs of the pins. */
export interface PinSet {
  has(variant: string): boolean;
  /** A snapshot of every pinned variant. */
  all(): ReadonlySet<string>;
  add(variant: string): Promise<void>;
  remove(variant: string): Promise<void>;
}

/** Pins held in this process only (tests, and as the in-memory half of StorePins). */
export class MemoryPins implements PinSet {
  protected readonly pinned = new Set<string>();

  has(variant: string): boolean {
    return this.pinned.has(variant);
  }

  all(): ReadonlySet<string> {
    return new Set(this.pinned);
  }

  async add(variant: string): Promise<void> {
    this.pinned.add(variant);
  }

  async remove(variant: string): Promise<void> {
    this.pinned.delete(variant);
  }
}

/** Pins in the metadata store, followed through its change feed. */
export class StorePins extends MemoryPins {
  readonly #store: MetadataStore;
  #stop?: () => void;

  constructor(store: MetadataStore) {
    super();
    this.#store = store;
  }

  /** Reads the pins and follows them from now on. */
  async start(): Promise<void> {
    this.#stop = this.#store.watch(keys.pinPrefix, (c) => {
      if (c.type === 'reset') void this.#reload().catch(() => undefined);
      else if (c.type === 'set') this.pinned.add(c.key.slice(keys.pinPrefix.length));
      else this.pinned.delete(c.key.slice(keys.pinPrefix.length));
    });
    await this.#reload();
  }

  override async add(variant: string): Promise<void> {
    await this.#store.set(keys.pin(variant), { pinnedAt: new Date().toISOString() });
    await super.add(variant);
  }

  override async remove(variant: string): Promise<void> {
    await this.#store.delete(keys.pin(variant));
    await super.remove(variant);
  }

  close(): void {
    this.#stop?.();
  }

  async #reload(): Promise<void> {
    const listed = await this.#store.list(keys.pinPrefix);
    this.pinned.clear();
    for (const { key } of listed) this.pinned.add(key.slice(keys.pinPrefix.length));
  }
}
