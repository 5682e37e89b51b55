// ONNX Runtime's error messages made fit for a client: the reason only, short, and without the server's paths
// (ORT prefixes load errors with "Load model from <absolute path> failed:" and run errors with its source location).

/** Longest reason kept, characters. */
const MAX_REASON = 300;
const LOAD_PREFIX = /^Load model from .*? failed:\s*/s;
/** "/onnxruntime_src/<file>:<line> <C++ function signature> " in run errors. */
const SOURCE_LOCATION = /\/onnxruntime_src\/\S+:\d+\s+(?:[\w:~<>]+\([^()]*\)(?:\s+const)?\s+)?/g;
/** An absolute path of at least two segments, at the start or after a space, quote, bracket, '=' or ':'. */
const ABSOLUTE_PATH = /(^|[\s'"([=:])\/(?:[^\s'"()/]+\/)+[^\s'"()]*/g;

/**
 * The reason in an error thrown by ONNX Runtime (or anything else), with `paths` (the files the server gave it)
 * and any other absolute path replaced, ORT's source locations dropped, whitespace collapsed, and cut to a few
 * hundred characters.
 */
export function ortReason(e: unknown, paths: readonly string[] = []): string {
  let m = e instanceof Error ? e.message : String(e);
  for (const p of paths) if (p) m = m.split(`Load model from ${p} failed:`).join('').split(p).join('<model file>');
  m = m.replace(LOAD_PREFIX, '').replace(SOURCE_LOCATION, '').replace(ABSOLUTE_PATH, '$1<path>').replace(/\s+/g, ' ').trim();
  if (!m) m = 'no reason given';
  return m.length > MAX_REASON ? `${m.slice(0, MAX_REASON - 1)}…` : m;
}
