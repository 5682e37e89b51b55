// Where a RedisStore connects: `redis://[user:password@]host:port[/db][?prefix=NAME]` (`rediss://` for TLS)
// parsed and checked into typed options, with INVALID_ARGUMENT errors that say what is wrong.

import { invalid } from '../../core/errors.ts';

/** The namespace every key, the index and the change channel live under unless a URL says otherwise. */
export const DEFAULT_PREFIX = 'infaas:';
export const DEFAULT_PORT = 6379;

/** A Redis server and the namespace (key prefix) one MetadataStore keeps its state under. */
export interface RedisLocation {
  /** Host name or IP address (an IPv6 address without brackets). */
  host: string;
  port: number;
  /** Logical database number (`SELECT`); 0 unless the URL has a path. */
  db: number;
  username?: string;
  password?: string;
  /** Connect with TLS (`rediss://`). */
  tls: boolean;
  /** Prepended to every Redis key and channel the store uses; stores with different prefixes never meet. */
  prefix: string;
}

/**
 * Parses a Redis URL. The port defaults to 6379, the database to 0 and the prefix to `infaas:`; user name
 * and password are percent-decoded. Anything else (another scheme, a missing host, a bad port or database,
 * an unknown query parameter, a fragment) rejects with INVALID_ARGUMENT.
 */
export function parseRedisUrl(text: string): RedisLocation {
  if (typeof text !== 'string' || text.trim() === '') throw invalid('redis URL must be a non-empty string');
  const bad = (why: string) => invalid(`invalid redis URL '${redact(text)}': ${why} (expected redis://[user:password@]host:port[/db][?prefix=NAME])`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw bad(`scheme must be redis: or rediss:, got ${url.protocol}`);
  if (!text.slice(url.protocol.length).startsWith('//')) throw bad('missing // before the host');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) throw bad('missing host');
  if (url.hash) throw bad('a fragment (#...) is not allowed');
  const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
  let db = 0;
  const path = url.pathname;
  if (path !== '' && path !== '/') {
    if (!/^\/\d{1,5}$/.test(path)) throw bad(`database must be a number after the host, got '${path}'`);
    db = Number(path.slice(1));
  }
  let prefix = DEFAULT_PREFIX;
  for (const [name, value] of url.searchParams) {
    if (name !== 'prefix') throw bad(`unknown parameter '${name}' (only prefix is supported)`);
    prefix = value;
  }
  return checkLocation({
    host,
    port,
    db,
    ...(url.username ? { username: decode(url.username, bad) } : {}),
    ...(url.password ? { password: decode(url.password, bad) } : {}),
    tls: url.protocol === 'rediss:',
    prefix,
  });
}

/** Checks a location given as options (or parsed from a URL); returns it unchanged. */
export function checkLocation(loc: RedisLocation): RedisLocation {
  if (typeof loc.host !== 'string' || loc.host === '') throw invalid('redis host must be a non-empty string');
  if (!Number.isInteger(loc.port) || loc.port < 1 || loc.port > 65535) throw invalid(`redis port must be an integer from 1 to 65535, got ${String(loc.port)}`);
  if (!Number.isInteger(loc.db) || loc.db < 0) throw invalid(`redis database must be a non-negative integer, got ${String(loc.db)}`);
  if (typeof loc.prefix !== 'string' || loc.prefix === '') throw invalid('redis key prefix must be a non-empty string');
  if (typeof loc.tls !== 'boolean') throw invalid('redis tls must be true or false');
  if (loc.username !== undefined && typeof loc.username !== 'string') throw invalid('redis username must be a string');
  if (loc.password !== undefined && typeof loc.password !== 'string') throw invalid('redis password must be a string');
  return loc;
}

/** `redis 127.0.0.1:6379` (or `rediss [::1]:6380`), for messages; never includes credentials. */
export function describeLocation(loc: Pick<RedisLocation, 'host' | 'port' | 'tls'>): string {
  const host = loc.host.includes(':') ? `[${loc.host}]` : loc.host;
  return `${loc.tls ? 'rediss' : 'redis'} ${host}:${loc.port}`;
}

function decode(part: string, bad: (why: string) => Error): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw bad('bad percent-encoding in the user name or password');
  }
}

/** The URL with any password replaced, so that an error message never carries it. */
function redact(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, '$1***@');
}
