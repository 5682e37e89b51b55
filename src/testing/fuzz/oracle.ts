// Fuzzing: the oracle. A client-reachable parser either accepts its input or refuses it with a clear InfaasError
// (a 4xx at the REST edge) whose message names no absolute server path and echoes at most ~200 characters of the
// input; it never throws anything else (a crash, a 500), and never answers with a stack trace.

import { InfaasError, type ErrorCode } from '../../core/errors.ts';
import { HTTP_STATUS } from '../../frontends/rest/errors.ts';

/** What went wrong in one case: `kind` is a stable signature (numbers and quoted text normalised away). */
export interface Verdict {
  kind: string;
  detail: string;
}

/** Longest run of client input a message may repeat. */
export const MAX_ECHO = 200;

export interface MessageRules {
  /** Absolute paths of the server (data dir, tmp dir, home, repository checkout) that a message must not contain. */
  privatePaths: readonly string[];
  /** Texts the client sent (body, URL, header values): a message may repeat at most MAX_ECHO characters of one. */
  echoSources: readonly string[];
}

/** The signature of a message: digits become N, quoted text '…', cut to 90 characters. */
export function signature(text: string): string {
  return text
    .replace(/(["'`]).*?\1/g, '$1…$1')
    .replace(/\d+(\.\d+)?/g, 'N')
    .replace(/\s+/g, ' ')
    .slice(0, 90);
}

/** Length of the longest stretch of `msg` found in one of `sources` when it is at least `limit` long, else 0. */
export function echoedLength(msg: string, sources: readonly string[], limit = MAX_ECHO): number {
  // Any common stretch of length >= limit contains one of these aligned windows of half its length.
  const w = Math.floor(limit / 2);
  for (let i = 0; i + w <= msg.length; i += w) {
    const win = msg.slice(i, i + w);
    for (const s of sources) {
      const at = s.indexOf(win);
      if (at < 0) continue;
      let lo = 0;
      while (i - lo - 1 >= 0 && at - lo - 1 >= 0 && msg[i - lo - 1] === s[at - lo - 1]) lo++;
      let hi = w;
      while (i + hi < msg.length && at + hi < s.length && msg[i + hi] === s[at + hi]) hi++;
      if (lo + hi >= limit) return lo + hi;
    }
  }
  return 0;
}

/** Checks a message (and the JSON of its details) against the rules; returns what is wrong. */
export function checkMessage(text: string, rules: MessageRules): Verdict | undefined {
  const path = rules.privatePaths.find((p) => p.length > 1 && text.includes(p));
  if (path !== undefined) return { kind: 'server path in message', detail: `${text.slice(0, 300)} (contains ${path})` };
  if (/\n\s+at .+\(.*:\d+:\d+\)/.test(text)) return { kind: 'stack trace in message', detail: text.slice(0, 300) };
  const echoed = echoedLength(text, rules.echoSources);
  if (echoed) return { kind: `message echoes ${MAX_ECHO}+ characters of input`, detail: `${echoed} characters echoed: ${text.slice(0, 300)}…` };
  return undefined;
}

/** Codes a parser may refuse a client's input with (they map to 4xx). */
export function isClientCode(code: ErrorCode): boolean {
  return HTTP_STATUS[code] >= 400 && HTTP_STATUS[code] < 500;
}

/** The verdict on what an in-process parser threw. */
export function judgeThrown(e: unknown, rules: MessageRules): Verdict | undefined {
  if (!(e instanceof InfaasError)) {
    const err = e as { name?: string; message?: string };
    const name = err?.name ?? typeof e;
    return { kind: `crash: ${name}: ${signature(String(err?.message ?? e))}`, detail: String(err?.message ?? e).slice(0, 300) };
  }
  if (!isClientCode(e.code)) return { kind: `refused with ${e.code} (HTTP ${HTTP_STATUS[e.code]}): ${signature(e.message)}`, detail: e.message.slice(0, 300) };
  return checkMessage(e.message + (e.details ? ` ${JSON.stringify(e.details)}` : ''), rules);
}

/** The verdict on one HTTP response: 2xx, or a 4xx with a JSON body {code, error} that passes checkMessage. */
export function judgeResponse(status: number, body: string, rules: MessageRules): Verdict | undefined {
  if (status >= 200 && status < 300) return undefined;
  let json: { code?: unknown; error?: unknown; stack?: unknown } | undefined;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const code = typeof json?.code === 'string' ? json.code : '?';
  const error = typeof json?.error === 'string' ? json.error : '';
  if (status >= 500) return { kind: `HTTP ${status} ${code}: ${signature(error || body)}`, detail: (error || body).slice(0, 300) };
  if (status < 400) return { kind: `HTTP ${status}`, detail: body.slice(0, 300) };
  if (!json || code === '?' || !error) return { kind: `HTTP ${status} without a JSON {code, error} body`, detail: body.slice(0, 300) };
  if (json.stack !== undefined) return { kind: 'stack in error body', detail: body.slice(0, 300) };
  return checkMessage(body, rules);
}
