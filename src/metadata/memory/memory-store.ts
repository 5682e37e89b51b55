// MemoryStore: the MetadataStore contract held in a Map, for tests and the simulator. Not durable.

import type { MetadataStore } from '../metadata-store.ts';
import { checkKey, closedError, decodeValue, encodeValue, listDecoded } from '../json-value.ts';

export class MemoryStore implements MetadataStore {
  /** Key → JSON text of the value; storing text is what makes copies in and out deep. */
  private readonly data = new Map<string, string>();
  private closed = false;

  async get<T = unknown>(key: string): Promise<T | undefined> {
    this.check();
    checkKey(key);
    const text = this.data.get(key);
    return text === undefined ? undefined : decodeValue<T>(text);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.check();
    checkKey(key);
    this.data.set(key, encodeValue(key, value));
  }

  async setIfAbsent(key: string, value: unknown): Promise<boolean> {
    this.check();
    checkKey(key);
    const text = encodeValue(key, value);
    if (this.data.has(key)) return false;
    this.data.set(key, text);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    this.check();
    checkKey(key);
    return this.data.delete(key);
  }

  async list<T = unknown>(prefix: string): Promise<Array<{ key: string; value: T }>> {
    this.check();
    return listDecoded<T>(this.data, prefix);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Number of keys held (for tests and the simulator's reports). */
  get size(): number {
    return this.data.size;
  }

  private check(): void {
    if (this.closed) throw closedError();
  }
}
