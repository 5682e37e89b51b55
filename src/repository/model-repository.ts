// The model repository contract: where ONNX artifacts (and other blobs) live, addressed by key.
//
// Implementations: `local/` (a directory, the default) and `s3/` (S3-compatible object storage). Both must
// pass `conformance.ts` unchanged.
//
// Semantics: keys are relative paths made of [A-Za-z0-9._-] segments joined by '/'; a key with '..', a
// leading '/', or other characters is rejected with INVALID_ARGUMENT. `put` is atomic (a reader sees the
// old or the new bytes, never a mix) and durable when it resolves. `get` of a missing key rejects with
// NOT_FOUND. `localPath` gives a filesystem path a backend can open directly, when the implementation has
// one (the local directory does; object storage downloads to a cache first).
// Clarifications (checked by conformance.ts): a key segment may not be '.' or '..'; `localPath` of a missing
// key rejects with NOT_FOUND; `list(prefix)` matches the string prefix ('models' also lists 'models-x/y')
// and sorts by JavaScript string order; validation is in object-keys.ts. `localPath(key, { sha256 })` hands
// out only bytes with that hash and says 'does not match the registered hash' (INVALID_MODEL) otherwise.

import { invalid, invalidModel, type InfaasError } from '../core/errors.ts';

export interface ModelRepository {
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * A local file path holding the object's bytes (downloading it first if needed).
   *
   * With `expect.sha256` (lowercase hex SHA-256 of the bytes, as the metadata store's Artifact.sha256 records
   * it), the file at the returned path holds bytes with exactly that hash; when the stored object does not
   * match it (changed or damaged since it was registered, or corrupt every time it was fetched) the call
   * rejects with INVALID_MODEL, and a hash that is not 64 lowercase hex digits with INVALID_ARGUMENT. It never
   * returns a path to other bytes. The file is not to be modified by the caller.
   */
  localPath(key: string, expect?: ExpectedContent): Promise<string>;
}

/** What a caller knows of an object's bytes and wants checked before using them. */
export interface ExpectedContent {
  /** Lowercase hex SHA-256 of the object's bytes. */
  sha256?: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Checks `expect.sha256` is 64 lowercase hex digits (INVALID_ARGUMENT otherwise) and returns it, if given. */
export function expectedSha256(expect: ExpectedContent | undefined): string | undefined {
  const hash = expect?.sha256;
  if (hash === undefined) return undefined;
  if (typeof hash !== 'string' || !SHA256_HEX.test(hash)) {
    throw invalid(`expected sha256 ${JSON.stringify(hash)} is not 64 lowercase hex digits`, { sha256: String(hash) });
  }
  return hash;
}

/** The INVALID_MODEL error for an object whose bytes do not hash to `expected`; `why` says what happened. */
export function registeredHashMismatch(key: string, expected: string, actual: string, why: string): InfaasError {
  return invalidModel(`repository object '${key}' does not match the registered hash (sha256 ${actual}, registered ${expected}): ${why}`, { key, sha256: actual, expected });
}
