// The metadata store contract: a small durable key/value store shared by the controller(s) and workers.
//
// Two implementations: `embedded/` (default; an append-only, fsync'd log file in the data directory, no
// server to run) and, later, Redis. Both must pass `conformance.ts` unchanged.
//
// Semantics every implementation guarantees:
// - Keys are non-empty strings; values are JSON-serialisable and come back deep-equal (never the same object).
// - `set` and `delete` are durable when their promise resolves: a restart, or SIGKILL of the process right
//   after, keeps them.
// - `list(prefix)` returns every key that starts with `prefix`, with its value, sorted by key.
// - `setIfAbsent` is atomic: of several concurrent callers for one key, exactly one gets `true`.
// - `close` flushes and releases files/connections; any call after `close` rejects.
// Clarifications (checked by conformance.ts):
// - An empty key, or a value JSON cannot represent (undefined, a function, a BigInt, a cycle), rejects with
//   INVALID_ARGUMENT. Values go through a JSON round trip (a Date comes back as a string, NaN as null).
// - "Sorted by key" is JavaScript string order (UTF-16 code units, `a < b`); prefixes match literally (no
//   glob characters). Calls after `close` reject with UNAVAILABLE; calls made before it still complete.
// - Mutations issued through one store instance take effect in call order. A read may already see a
//   mutation whose promise has not resolved yet (it is not durable until then).

export interface MetadataStore {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  /** Stores only when the key is absent; returns whether it stored. */
  setIfAbsent(key: string, value: unknown): Promise<boolean>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;
  list<T = unknown>(prefix: string): Promise<Array<{ key: string; value: T }>>;
  close(): Promise<void>;
}

/** Key layout, in one place so every component agrees. */
export const keys = {
  useCase: (id: string) => `usecase/${id}`,
  architecture: (name: string) => `arch/${name}`,
  variant: (name: string) => `variant/${name}`,
  variantsPrefix: 'variant/',
  archPrefix: 'arch/',
  useCasePrefix: 'usecase/',
  worker: (id: string) => `worker/${id}`,
  workerPrefix: 'worker/',
  registration: (id: string) => `registration/${id}`,
  registrationPrefix: 'registration/',
};
