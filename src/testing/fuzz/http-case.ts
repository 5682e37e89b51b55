// Fuzzing: one HTTP request a generator made, what the oracle expects of its answer beyond "2xx or a clear 4xx",
// and what the generators know about the server they target.

/** One request, written byte for byte by the raw client (so headers and lengths can lie). */
export interface HttpCase {
  /** Which parser it aims at (the row of the report), e.g. "infer json", "register multipart". */
  target: string;
  label: string;
  method: string;
  /** Path with query string, already encoded as it goes on the wire. */
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** Send Content-Length as the body's length plus this (a lie when not 0); absent: no Content-Length at all. */
  lengthDelta?: number;
  /** Close the connection after this many body bytes (a client that gives up mid-upload). */
  cutAt?: number;
  /** Content-Length declares more than the server's limit: it must answer 413 without waiting for the body. */
  expectEarly413?: boolean;
  /** Must be refused (4xx), and why: e.g. "non-finite input", "unknown field". */
  mustReject?: string;
  /** Must succeed (2xx): a valid request to a fixture. */
  mustAccept?: boolean;
  /** The body is valid JSON: a refusal must not call it malformed. */
  validJson?: boolean;
  /** Decoding may take long: probe health while it runs. */
  heavy?: boolean;
  /** After a 201 registration: query the new variant once (a registered model must be servable). */
  followUp?: 'query-registered';
}

/** What the generators may aim at on the server under test. */
export interface FuzzWorld {
  /** Registered fixture variants, all taking [N,1,28,28]. */
  variants: string[];
  archs: string[];
  useCase: { task: string; dataset: string };
  workers: string[];
  registrationIds: string[];
}

export const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8');

/** Percent-encodes the UTF-8 bytes of `s` (a lone surrogate becomes U+FFFD, where encodeURIComponent throws). */
export function encodeComponent(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** A query string from pairs, each part percent-encoded (or left raw when `raw`). */
export function queryString(pairs: Array<[string, string]>, raw = false): string {
  if (!pairs.length) return '';
  const enc = raw ? (s: string) => s : encodeComponent;
  return '?' + pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}
