// Keeps a controller's ModelIndex current with registrations made anywhere: follows the metadata store's changes
// to use cases, architectures and variants, applies each burst of them at once (a registration writes several
// keys), and reloads the whole index after a reconnect ('reset'). Queries only ever read the in-memory index.

import { keys, type MetadataStore, type StoreChange } from '../metadata/metadata-store.ts';
import { ModelIndex } from './model-index.ts';
import type { PoolLogger } from './worker-pool.ts';

export class CatalogueSync {
  readonly #store: MetadataStore;
  readonly #get: () => ModelIndex;
  readonly #set: (index: ModelIndex) => void;
  readonly #log: PoolLogger;
  readonly #stops: Array<() => void> = [];
  #pending: StoreChange[] = [];
  #flushing?: Promise<void>;

  /** `get`/`set`: the controller's current index (the registry also replaces it on its own commits). */
  constructor(opts: { store: MetadataStore; get: () => ModelIndex; set: (index: ModelIndex) => void; log: PoolLogger }) {
    this.#store = opts.store;
    this.#get = opts.get;
    this.#set = opts.set;
    this.#log = opts.log;
  }

  /** Follows the store from now on (call before loading the index, so no change falls between the two). */
  start(): void {
    for (const prefix of [keys.useCasePrefix, keys.archPrefix, keys.variantsPrefix]) {
      this.#stops.push(this.#store.watch(prefix, (c) => this.#onChange(c)));
    }
  }

  /** Resolves once every change received so far is applied. */
  async settled(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  close(): void {
    for (const stop of this.#stops.splice(0)) stop();
  }

  #onChange(c: StoreChange): void {
    this.#pending.push(c);
    this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
  }

  /** Applies pending changes until none are left (changes arriving meanwhile join the next round). */
  async #flush(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r)); // let the rest of a burst arrive
    while (this.#pending.length) {
      const changes = this.#pending;
      this.#pending = [];
      if (!changes.some((c) => c.type === 'reset')) {
        this.#set(this.#get().applying(changes));
        continue;
      }
      try {
        this.#set(await ModelIndex.load(this.#store));
      } catch (e) {
        this.#log.warn(`cannot reload the catalogue after a reconnect: ${(e as Error).message}; keeping the one held and trying again in 1 s`);
        const retry = setTimeout(() => this.#onChange({ type: 'reset' }), 1000);
        retry.unref();
      }
    }
  }
}
