// The RedisStore's connections: ioredis clients set up to fail fast while the server is down and to
// reconnect forever, a bounded wait for the first connection, a health check that drops a connection that
// stopped answering, and Redis errors mapped to InfaasError codes.

import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { InfaasError, unavailable } from '../../core/errors.ts';
import { describeLocation, type RedisLocation } from './redis-url.ts';

/** How a RedisStore waits, times out and reconnects. */
export interface RedisTuning {
  /** How long `RedisStore.connect` waits for the server before rejecting with UNAVAILABLE (default 3000 ms). */
  connectTimeoutMs?: number;
  /**
   * A command with no reply after this long rejects with UNAVAILABLE (default 3000 ms) and the connection is
   * dropped and made again: the guard against a connection that is dead without being closed (a network
   * partition). The command may still have taken effect.
   */
  commandTimeoutMs?: number;
  /** How often an idle connection is PINGed to find out that it died that way (default 5000 ms). */
  healthCheckMs?: number;
  /** The longest pause between reconnect attempts (default 500 ms); attempts go on until `close`. */
  reconnectDelayMs?: number;
}

/** Replies that mean "not now" (the server is loading, busy, read-only, out of memory), not a bug. */
const TRANSIENT_REPLIES = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'MISCONF', 'OOM', 'TRYAGAIN', 'CLUSTERDOWN', 'NOREPLICAS']);
/** Replies that mean the server refuses this client (credentials, permissions): retrying cannot help. */
const REFUSALS = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM']);

/** One ioredis connection of a store, with the last connection error it reported (for messages). */
export class RedisLink {
  readonly client: Redis;
  readonly where: string;
  #lastError: Error | undefined;
  #health: NodeJS.Timeout | undefined;

  constructor(loc: RedisLocation, tuning: RedisTuning, name: string) {
    this.where = describeLocation(loc);
    const maxDelay = tuning.reconnectDelayMs ?? 500;
    const options: RedisOptions = {
      host: loc.host,
      port: loc.port,
      db: loc.db,
      ...(loc.username !== undefined ? { username: loc.username } : {}),
      ...(loc.password !== undefined ? { password: loc.password } : {}),
      ...(loc.tls ? { tls: isIP(loc.host) ? {} : { servername: loc.host } } : {}),
      connectionName: name,
      lazyConnect: true,
      // Fail fast instead of queueing while disconnected, and never resend a command after a drop: a
      // resent setIfAbsent or compareAndSet could report a loss for a write that won the first time.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt - 1, 10), maxDelay),
      connectTimeout: Math.min(tuning.connectTimeoutMs ?? 3000, 10_000),
      commandTimeout: tuning.commandTimeoutMs ?? 3000,
      disableClientInfo: true,
    };
    this.client = new Redis(options);
    // An 'error' event without a listener would only be logged, but it is the best explanation for the next
    // failed call, so keep it; ioredis goes on reconnecting by itself.
    this.client.on('error', (e: Error) => {
      // "Stream isn't writeable" follows the error that broke the connection; keep the cause
      if (!(this.#lastError && e.message.startsWith("Stream isn't writeable"))) this.#lastError = e;
    });
    this.client.on('ready', () => (this.#lastError = undefined));
    let pinging = false;
    this.#health = setInterval(() => {
      if (pinging || this.client.status !== 'ready') return;
      pinging = true;
      this.client.ping().then(
        () => (pinging = false),
        (e: Error) => {
          pinging = false;
          if (isTimeout(e)) this.#drop();
        },
      );
    }, tuning.healthCheckMs ?? 5000);
    this.#health.unref();
  }

  /**
   * Connects and resolves once `ready` resolves (by default: once the connection is ready), or rejects with
   * UNAVAILABLE after `ms` naming the server and the last error; a refusal (bad password) rejects at once.
   */
  async open(ms: number, ready?: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onError: ((e: Error) => void) | undefined;
    const refused = new Promise<never>((_, reject) => {
      onError = (e: Error) => {
        if (REFUSALS.has(replyCode(e) ?? '')) reject(unavailable(`metadata store (${this.where}) refused the connection: ${e.message}`));
      };
      this.client.on('error', onError);
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = this.#lastError ? `: ${this.#lastError.message}` : '';
        reject(unavailable(`metadata store (${this.where}) is unreachable: no connection within ${ms} ms${why}`));
      }, ms);
    });
    const connected = ready ?? new Promise<void>((resolve) => this.client.once('ready', () => resolve()));
    this.client.connect().catch(() => undefined); // failures show up as 'error' events; retries go on
    try {
      await Promise.race([connected, refused, timeout]);
    } finally {
      clearTimeout(timer);
      this.client.off('error', onError!);
    }
  }

  /** Closes the connection after the replies still due (QUIT), or at once when it is down; never rejects. */
  async close(): Promise<void> {
    clearInterval(this.#health);
    if (this.client.status === 'ready') {
      try {
        await this.client.quit();
        return;
      } catch {
        // fall through: drop it
      }
    }
    this.client.disconnect();
  }

  /** Any error from a command as an InfaasError: UNAVAILABLE when the server is out of reach or busy. */
  toStoreError(e: unknown): InfaasError {
    if (e instanceof InfaasError) return e;
    const err = e instanceof Error ? e : new Error(String(e));
    if (isTimeout(err)) this.#drop();
    const code = replyCode(err);
    if (code !== undefined) {
      if (TRANSIENT_REPLIES.has(code) || REFUSALS.has(code)) return unavailable(`metadata store (${this.where}) cannot serve the call: ${err.message}`);
      return new InfaasError('INTERNAL', `metadata store (${this.where}) failed: ${err.message}`);
    }
    return unavailable(`metadata store (${this.where}) is unreachable: ${this.#explain(err)}`);
  }

  /** Drops a connection that stopped answering, so that calls fail fast until a fresh one is up. */
  #drop(): void {
    if (this.client.status === 'ready') this.client.stream?.destroy();
  }

  #explain(err: Error): string {
    const last = this.#lastError ? this.#lastError.message : this.client.status;
    if (err.message.startsWith("Stream isn't writeable")) return `not connected (${last})`;
    if (err.name === 'MaxRetriesPerRequestError') return `the connection dropped before the reply came (${last})`;
    if (isTimeout(err)) return 'no reply in time (the call may still have taken effect)';
    return err.message;
  }
}

function isTimeout(e: Error): boolean {
  return e.message === 'Command timed out';
}

/** The first word of a Redis error reply (`WRONGPASS`, `LOADING`, `ERR`), or undefined for other errors. */
function replyCode(e: Error): string | undefined {
  if (e.name !== 'ReplyError') return undefined;
  return /^([A-Z]+)\b/.exec(e.message)?.[1] ?? 'ERR';
}
