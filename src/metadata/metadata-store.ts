// The metadata store contract: a small durable key/value store shared by the controller(s) and workers.
//
// Implementations: `embedded/` (default; an append-only, fsync'd log file in the data directory, no server to
// run), `redis/` (shared by several controllers and workers), and `memory/` (tests, the simulator). Every one
// passes `conformance.ts` unchanged.
//
// Semantics every implementation guarantees:
// - Keys are non-empty strings; values are JSON-serialisable and come back deep-equal (never the same object).
// - `set` and `delete` are durable when their promise resolves: a restart, or SIGKILL of the process right
//   after, keeps them. (Redis: as durable as the server's persistence settings make them; run it with
//   `appendonly yes` and `appendfsync always` for the same guarantee.)
// - `list(prefix)` returns every key that starts with `prefix`, with its value, sorted by key.
// - `setIfAbsent` is atomic: of several concurrent callers for one key, exactly one gets `true`, across every
//   store instance over the same state (several controllers on one Redis included).
// - `compareAndSet` is atomic in the same way: of several callers that read the same value and try to replace
//   it, exactly one succeeds.
// - `close` flushes and releases files/connections; any call after `close` rejects.
// Clarifications (checked by conformance.ts):
// - An empty key, or a value JSON cannot represent (undefined, a function, a BigInt, a cycle), rejects with
//   INVALID_ARGUMENT. Values go through a JSON round trip (a Date comes back as a string, NaN as null).
// - "Sorted by key" is JavaScript string order (UTF-16 code units, `a < b`); prefixes match literally (no
//   glob characters). Calls after `close` reject with UNAVAILABLE; calls made before it still complete.
// - Mutations issued through one store instance take effect in call order. A read may already see a
//   mutation whose promise has not resolved yet (it is not durable until then).
// - When the backing server cannot be reached, calls reject with UNAVAILABLE (a message that says so) instead
//   of waiting for it; the store reconnects by itself and later calls succeed again. A mutation that rejects
//   with UNAVAILABLE may still have taken effect (the connection dropped after the server applied it): its
//   outcome is unknown, and a caller that must know re-reads the key.
//
// Expiring keys (`SetOptions.ttlMs`) hold ephemeral state: worker heartbeats, leases. From `ttlMs` after the
// write that set it, the key is absent for every call (get, list, setIfAbsent, compareAndSet). A later write
// without `ttlMs` makes the key permanent again. An expiring key may be lost by a restart of an embedded store
// (nothing that expires is worth keeping across one); its expiry is not reported to watchers.
//
// Watching (`watch`): a listener receives every later change to a key under its prefix made through any store
// instance over the same state (this one included), each change once, in the order the changes took effect;
// `set` events carry the new value (a fresh copy); a call that changes nothing (a delete of an absent key)
// delivers nothing. When an implementation may have missed changes (its connection to the server dropped), it
// delivers `{type: 'reset'}` once it is connected again: the listener should then re-read what it follows with
// `list`, retrying if that read fails too (the store may still be reconnecting). A change made just before
// `watch` was called may still reach the new listener. Listeners are called asynchronously (never inside the
// mutating call) and a listener that throws does not affect the store or other listeners.

export interface SetOptions {
  /** The key expires this many milliseconds after the write (a positive integer); see "Expiring keys" above. */
  ttlMs?: number;
}

/** One change delivered to a watcher. */
export type StoreChange =
  | { type: 'set'; key: string; value: unknown }
  | { type: 'delete'; key: string }
  /** The watcher may have missed changes (a reconnect): re-read everything it follows. */
  | { type: 'reset' };

export interface MetadataStore {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, opts?: SetOptions): Promise<void>;
  /** Stores only when the key is absent; returns whether it stored. */
  setIfAbsent(key: string, value: unknown, opts?: SetOptions): Promise<boolean>;
  /**
   * Atomically replaces the key's value with `value` when it currently holds `expected`, and returns whether it
   * did. `expected === undefined` means "the key is absent"; `value === undefined` deletes the key. Values
   * compare by their JSON text, so a value read with `get` and passed back unchanged always matches.
   */
  compareAndSet(key: string, expected: unknown, value: unknown, opts?: SetOptions): Promise<boolean>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;
  list<T = unknown>(prefix: string): Promise<Array<{ key: string; value: T }>>;
  /** Calls `listener` with each later change under `prefix` (see "Watching" above); returns a function that stops it. */
  watch(prefix: string, listener: (change: StoreChange) => void): () => void;
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
  /** A registration's artifact while it waits for or undergoes profiling (deleted when the job ends). */
  pending: (registration: string) => `pending/${registration}`,
  pendingPrefix: 'pending/',
  /** A lease (leader election, a registration being profiled): {holder, ...}, expiring. */
  lease: (name: string) => `lease/${name}`,
  /** Variants loaded explicitly by an operator: kept loaded until unloaded by name. */
  pin: (variant: string) => `pin/${variant}`,
  pinPrefix: 'pin/',
  /** What each controller's dispatcher saw in the last autoscaling window (expiring), for the leader. */
  dispatchWindow: (controller: string) => `window/${controller}`,
  dispatchWindowPrefix: 'window/',
  /** Cluster-wide settings the controllers publish for workers (e.g. where the model repository is). */
  cluster: 'cluster/settings',
};
