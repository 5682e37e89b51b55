// MemoryStore: the MetadataStore contract held in a Map, for tests and the simulator. Not durable.

import type { MetadataStore, SetOptions, StoreChange } from '../metadata-store.ts';
import { checkKey, closedError, decodeValue, encodeValue, listDecoded } from '../json-value.ts';
import { Expiry, ttlOf, Watchers } from '../local-keys.ts';

export class MemoryStore implements MetadataStore {
  /** Key → JSON text of the value; storing text is what makes copies in and out deep. */
  private readonly data = new Map<string, string>();
  private readonly expiry: Expiry;
  private readonly watchers = new Watchers();
  private closed = false;

  /** `now`: the wall clock expiring keys are checked against (default Date.now). */
  constructor(opts: { now?: () => number } = {}) {
    this.expiry = new Expiry(opts.now);
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    this.check();
    checkKey(key);
    const text = this.current(key);
    return text === undefined ? undefined : decodeValue<T>(text);
  }

  async set(key: string, value: unknown, opts?: SetOptions): Promise<void> {
    this.check();
    checkKey(key);
    this.write(key, encodeValue(key, value), ttlOf(opts));
  }

  async setIfAbsent(key: string, value: unknown, opts?: SetOptions): Promise<boolean> {
    this.check();
    checkKey(key);
    const text = encodeValue(key, value);
    const ttl = ttlOf(opts);
    if (this.current(key) !== undefined) return false;
    this.write(key, text, ttl);
    return true;
  }

  async compareAndSet(key: string, expected: unknown, value: unknown, opts?: SetOptions): Promise<boolean> {
    this.check();
    checkKey(key);
    const want = expected === undefined ? undefined : encodeValue(key, expected);
    const text = value === undefined ? undefined : encodeValue(key, value);
    const ttl = ttlOf(opts);
    const current = this.current(key);
    if (current !== want) return false;
    if (text !== undefined) this.write(key, text, ttl);
    else if (current !== undefined) this.remove(key);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    this.check();
    checkKey(key);
    if (this.current(key) === undefined) return false;
    this.remove(key);
    return true;
  }

  async list<T = unknown>(prefix: string): Promise<Array<{ key: string; value: T }>> {
    this.check();
    for (const key of [...this.expiry.allExpired()]) this.drop(key);
    return listDecoded<T>(this.data, prefix);
  }

  watch(prefix: string, listener: (change: StoreChange) => void): () => void {
    return this.watchers.add(prefix, listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Number of keys held (for tests and the simulator's reports). */
  get size(): number {
    return this.data.size;
  }

  /** The key's stored text, or undefined when it is absent or has expired. */
  private current(key: string): string | undefined {
    if (this.expiry.expired(key)) this.drop(key);
    return this.data.get(key);
  }

  private write(key: string, text: string, ttl: number | undefined): void {
    this.data.set(key, text);
    this.expiry.set(key, ttl);
    this.watchers.emit({ type: 'set', key, text });
  }

  private remove(key: string): void {
    this.drop(key);
    this.watchers.emit({ type: 'delete', key });
  }

  /** Forgets a key without telling watchers (an expiry is not reported). */
  private drop(key: string): void {
    this.data.delete(key);
    this.expiry.clear(key);
  }

  private check(): void {
    if (this.closed) throw closedError();
  }
}
