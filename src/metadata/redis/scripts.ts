// The RedisStore's mutations as Lua scripts: each changes the value, keeps the key index in step and
// publishes the change, in one atomic step on the server; plus the lazy index clean-up after expiries.
//
// Layout under the namespace prefix P: the value of key k is the string `P v:k` holding its JSON text (with
// PX for an expiring key); the sorted set `P idx` holds every key (score 0, ordered by bytes) for `list`;
// changes are published on `P changes` as {"t":"s","k":key,"v":value} or {"t":"d","k":key}, and only when
// something changed (pub/sub channels are server-wide, not per database, so a store on database N > 0
// publishes on `P changes@N`). The key's JSON text is computed by the caller, so scripts never re-encode.

import type { Redis } from 'ioredis';

/** Common arguments: KEYS = value key, index; ARGV[1..3] = key, key as JSON text, change channel. */
const WRITE = `
local function write(text, ttl)
  if ttl == '' then redis.call('SET', KEYS[1], text) else redis.call('SET', KEYS[1], text, 'PX', ttl) end
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
  redis.call('PUBLISH', ARGV[3], '{"t":"s","k":' .. ARGV[2] .. ',"v":' .. text .. '}')
end
local function remove()
  local n = redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  if n == 1 then redis.call('PUBLISH', ARGV[3], '{"t":"d","k":' .. ARGV[2] .. '}') end
  return n
end
`;

/** ARGV[4] = value text, ARGV[5] = ttl in ms or ''. */
const SET = `${WRITE}
write(ARGV[4], ARGV[5])
return 1`;

/** ARGV[4] = value text, ARGV[5] = ttl in ms or ''. Returns 1 when it stored. */
const SET_IF_ABSENT = `${WRITE}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
write(ARGV[4], ARGV[5])
return 1`;

/**
 * ARGV[4] = '1' when a value is expected (its text in ARGV[5]), '0' when the key must be absent;
 * ARGV[6] = '1' to store ARGV[7] (ttl in ARGV[8] or ''), '0' to delete. Returns 1 when it matched.
 */
const COMPARE_AND_SET = `${WRITE}
local cur = redis.call('GET', KEYS[1])
if ARGV[4] == '1' then
  if cur ~= ARGV[5] then return 0 end
elseif cur then
  return 0
end
if ARGV[6] == '1' then write(ARGV[7], ARGV[8]) elseif cur then remove() end
return 1`;

/** Returns 1 when the key existed. */
const DELETE = `${WRITE}
return remove()`;

/** KEYS = index, then the value keys of ARGV's keys: drops each key from the index whose value is gone. */
const PRUNE = `
local n = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then n = n + redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return n`;

/** Where one store's state lives in Redis (see the layout above). */
export interface Layout {
  valueKey(key: string): string;
  index: string;
  channel: string;
}

export function layoutFor(prefix: string, db = 0): Layout {
  return { valueKey: (key) => `${prefix}v:${key}`, index: `${prefix}idx`, channel: `${prefix}changes${db === 0 ? '' : `@${db}`}` };
}

/** The scripts bound to one connection and layout; every call sends one EVALSHA (EVAL the first time). */
export interface StoreScripts {
  set(key: string, text: string, ttlMs: number | undefined): Promise<unknown>;
  setIfAbsent(key: string, text: string, ttlMs: number | undefined): Promise<boolean>;
  /** `expected`/`text` undefined: the key must be absent / delete the key. */
  compareAndSet(key: string, expected: string | undefined, text: string | undefined, ttlMs: number | undefined): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  /** Drops these keys from the index where their values are gone (expired); safe against a concurrent write. */
  prune(keys: string[]): Promise<unknown>;
}

type ScriptCall = (...args: Array<string | number>) => Promise<number>;

export function bindScripts(client: Redis, layout: Layout): StoreScripts {
  const define = (name: string, lua: string, numberOfKeys?: number): ScriptCall => {
    client.defineCommand(name, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys });
    const fn = (client as unknown as Record<string, ScriptCall>)[name];
    return (...args) => fn.apply(client, args);
  };
  const set = define('infaasMetaSet', SET, 2);
  const setIfAbsent = define('infaasMetaSetIfAbsent', SET_IF_ABSENT, 2);
  const cas = define('infaasMetaCompareAndSet', COMPARE_AND_SET, 2);
  const del = define('infaasMetaDelete', DELETE, 2);
  const prune = define('infaasMetaPrune', PRUNE);
  const head = (key: string) => [layout.valueKey(key), layout.index, key, JSON.stringify(key), layout.channel];
  const ttl = (ms: number | undefined) => (ms === undefined ? '' : String(ms));
  return {
    set: (key, text, ttlMs) => set(...head(key), text, ttl(ttlMs)),
    setIfAbsent: async (key, text, ttlMs) => (await setIfAbsent(...head(key), text, ttl(ttlMs))) === 1,
    compareAndSet: async (key, expected, text, ttlMs) =>
      (await cas(...head(key), expected === undefined ? '0' : '1', expected ?? '', text === undefined ? '0' : '1', text ?? '', ttl(ttlMs))) === 1,
    delete: async (key) => (await del(...head(key))) === 1,
    prune: (keys) => prune(keys.length + 1, layout.index, ...keys.map(layout.valueKey), ...keys),
  };
}
