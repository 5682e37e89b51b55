// RedisStore: the MetadataStore contract over a Redis server, shared by several controllers and workers.
// Each mutation is one Lua script (scripts.ts); watchers ride on pub/sub (change-feed.ts).

import { invalid } from '../../core/errors.ts';
import type { MetadataStore, SetOptions, StoreChange } from '../metadata-store.ts';
import { checkKey, checkPrefix, closedError, decodeValue, encodeValue } from '../json-value.ts';
import { ttlOf } from '../local-keys.ts';
import { ChangeFeed } from './change-feed.ts';
import { RedisLink, type RedisTuning } from './connection.ts';
import { checkLocation, DEFAULT_PORT, DEFAULT_PREFIX, parseRedisUrl, type RedisLocation } from './redis-url.ts';
import { bindScripts, layoutFor, type Layout, type StoreScripts } from './scripts.ts';

export type { RedisTuning } from './connection.ts';

/**
 * Where to connect, as options: a `url`, or `host` (and `port`, ...); location fields given beside a `url`
 * override what it says (e.g. another `prefix`). Tuning fields (timeouts) may accompany either.
 */
export interface RedisStoreOptions extends Partial<RedisLocation>, RedisTuning {
  url?: string;
}

/** Keys and values fetched per round trip by `list`. */
const PAGE = 1000;
const MGET_CHUNK = 256;
/** A lone UTF-16 surrogate: Redis stores UTF-8, in which such a key would turn into U+FFFD and collide. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * A MetadataStore kept in Redis under one namespace (key prefix). Several instances over the same server
 * and prefix share one state: setIfAbsent and compareAndSet are atomic across them, and watchers hear the
 * changes every instance makes. Durable as far as the server's persistence goes (run it with
 * `appendonly yes` and `appendfsync always`). While the server is unreachable, calls reject at once with
 * UNAVAILABLE (a connection that stops answering is dropped after `commandTimeoutMs`); the connections come
 * back by themselves. A call that rejects with UNAVAILABLE may still have taken effect.
 */
export class RedisStore implements MetadataStore {
  /** Where it is connected (without the password). */
  readonly location: Readonly<Omit<RedisLocation, 'password'>>;
  readonly #link: RedisLink;
  readonly #feed: ChangeFeed;
  readonly #layout: Layout;
  readonly #scripts: StoreScripts;
  readonly #inflight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  private constructor(location: RedisLocation, link: RedisLink, feed: ChangeFeed) {
    const { password: _password, ...shown } = location;
    this.location = shown;
    this.#link = link;
    this.#feed = feed;
    this.#layout = layoutFor(location.prefix, location.db);
    this.#scripts = bindScripts(link.client, this.#layout);
  }

  /**
   * Connects (a command connection and a subscriber connection for `watch`) and resolves once both are
   * ready. Rejects with INVALID_ARGUMENT for a bad URL or options, and with UNAVAILABLE naming host:port when
   * the server cannot be reached within `connectTimeoutMs` (default 3 s) or refuses the credentials.
   */
  static async connect(target: string | RedisStoreOptions): Promise<RedisStore> {
    const { location, tuning } = resolveTarget(target);
    const link = new RedisLink(location, tuning, 'infaas-metadata');
    const feedLink = new RedisLink(location, tuning, 'infaas-metadata-watch');
    const feed = new ChangeFeed(feedLink, layoutFor(location.prefix, location.db).channel);
    const ms = tuning.connectTimeoutMs ?? 3000;
    try {
      await Promise.all([link.open(ms), feedLink.open(ms, feed.started)]);
    } catch (e) {
      await Promise.all([link.close(), feedLink.close()]);
      throw e;
    }
    return new RedisStore(location, link, feed);
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    this.#check();
    checkStoreKey(key);
    const text = await this.#run(() => this.#link.client.get(this.#layout.valueKey(key)));
    return text === null ? undefined : decodeValue<T>(text);
  }

  async set(key: string, value: unknown, opts?: SetOptions): Promise<void> {
    this.#check();
    checkStoreKey(key);
    const text = encodeValue(key, value);
    const ttl = ttlOf(opts);
    await this.#run(() => this.#scripts.set(key, text, ttl));
  }

  async setIfAbsent(key: string, value: unknown, opts?: SetOptions): Promise<boolean> {
    this.#check();
    checkStoreKey(key);
    const text = encodeValue(key, value);
    const ttl = ttlOf(opts);
    return this.#run(() => this.#scripts.setIfAbsent(key, text, ttl));
  }

  async compareAndSet(key: string, expected: unknown, value: unknown, opts?: SetOptions): Promise<boolean> {
    this.#check();
    checkStoreKey(key);
    const want = expected === undefined ? undefined : encodeValue(key, expected);
    const text = value === undefined ? undefined : encodeValue(key, value);
    const ttl = ttlOf(opts);
    return this.#run(() => this.#scripts.compareAndSet(key, want, text, ttl));
  }

  async delete(key: string): Promise<boolean> {
    this.#check();
    checkStoreKey(key);
    return this.#run(() => this.#scripts.delete(key));
  }

  async list<T = unknown>(prefix: string): Promise<Array<{ key: string; value: T }>> {
    this.#check();
    checkPrefix(prefix);
    const texts = await this.#run(() => this.#fetch(prefix));
    return [...texts]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, text]) => ({ key, value: decodeValue<T>(text) }));
  }

  /** See MetadataStore; after `close` it registers nothing (and returns a no-op). */
  watch(prefix: string, listener: (change: StoreChange) => void): () => void {
    checkPrefix(prefix);
    if (typeof listener !== 'function') throw invalid('watch listener must be a function');
    if (this.#closing) return () => undefined;
    return this.#feed.add(prefix, listener);
  }

  /** Lets the calls already made finish, then closes both connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inflight]);
      await Promise.all([this.#link.close(), this.#feed.close()]);
    })();
    return this.#closing;
  }

  /** Every key under `prefix` with its value's text: index pages, then values in chunks; expired keys dropped. */
  async #fetch(prefix: string): Promise<Map<string, string>> {
    const { client } = this.#link;
    const bytes = Buffer.from(prefix, 'utf8');
    // Every UTF-8 string that starts with the prefix's bytes sorts from it up to it + 0xFF (never in UTF-8).
    const max = prefix === '' ? '+' : Buffer.concat([Buffer.from('['), bytes, Buffer.from([0xff])]);
    let min: string | Buffer = prefix === '' ? '-' : Buffer.concat([Buffer.from('['), bytes]);
    const keys: string[] = [];
    for (;;) {
      const page = await client.zrangebylex(this.#layout.index, min, max, 'LIMIT', 0, PAGE);
      keys.push(...page.filter((k) => k.startsWith(prefix)));
      if (page.length < PAGE) break;
      min = `(${page[page.length - 1]}`;
    }
    const texts = new Map<string, string>();
    const gone: string[] = [];
    for (let i = 0; i < keys.length; i += MGET_CHUNK) {
      const chunk = keys.slice(i, i + MGET_CHUNK);
      const values = await client.mget(chunk.map(this.#layout.valueKey));
      chunk.forEach((k, j) => {
        const text = values[j];
        if (text === null || text === undefined) gone.push(k);
        else texts.set(k, text);
      });
    }
    // Expired keys leave the index here, lazily; the script keeps any key written again meanwhile.
    if (gone.length > 0) this.#scripts.prune(gone).catch(() => undefined);
    return texts;
  }

  /** Sends a call (synchronously, so calls reach Redis in call order) and maps its errors. */
  #run<T>(op: () => Promise<T>): Promise<T> {
    const p = op().catch((e: unknown) => {
      throw this.#link.toStoreError(e);
    });
    this.#inflight.add(p);
    const done = () => void this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  #check(): void {
    if (this.#closing) throw closedError();
  }
}

function checkStoreKey(key: unknown): asserts key is string {
  checkKey(key);
  if (LONE_SURROGATE.test(key)) throw invalid('metadata key must be well-formed Unicode (it has a lone surrogate)', { key });
}

function resolveTarget(target: string | RedisStoreOptions): { location: RedisLocation; tuning: RedisTuning } {
  if (typeof target === 'string') return { location: parseRedisUrl(target), tuning: {} };
  if (!target || typeof target !== 'object') throw invalid('RedisStore.connect needs a redis URL or options');
  const { url, connectTimeoutMs, commandTimeoutMs, reconnectDelayMs, healthCheckMs, ...fields } = target;
  const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<RedisLocation>;
  if (url === undefined && given.host === undefined) throw invalid('RedisStore.connect needs a url or a host');
  const base: RedisLocation = url !== undefined ? parseRedisUrl(url) : { host: '', port: DEFAULT_PORT, db: 0, tls: false, prefix: DEFAULT_PREFIX };
  const tuning = { connectTimeoutMs, commandTimeoutMs, reconnectDelayMs, healthCheckMs };
  for (const [name, ms] of Object.entries(tuning)) {
    if (ms !== undefined && (!Number.isInteger(ms) || ms <= 0)) throw invalid(`RedisStore ${name} must be a positive integer, got ${String(ms)}`);
  }
  return { location: checkLocation({ ...base, ...given }), tuning };
}
