// The model repository contract: where ONNX artifacts (and other blobs) live, addressed by key.
//
// Implementations: `local/` (a directory, the default) and, later, S3-compatible object storage. Both must
// pass `conformance.ts` unchanged.
//
// Semantics: keys are relative paths made of [A-Za-z0-9._-] segments joined by '/'; a key with '..', a
// leading '/', or other characters is rejected with INVALID_ARGUMENT. `put` is atomic (a reader sees the
// old or the new bytes, never a mix) and durable when it resolves. `get` of a missing key rejects with
// NOT_FOUND. `localPath` gives a filesystem path a backend can open directly, when the implementation has
// one (the local directory does; object storage downloads to a cache first).
// Clarifications (checked by conformance.ts): a key segment may not be '.' or '..'; `localPath` of a missing
// key rejects with NOT_FOUND; `list(prefix)` matches the string prefix ('models' also lists 'models-x/y')
// and sorts by JavaScript string order; validation is in object-keys.ts.

export interface ModelRepository {
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** A local file path holding the object's bytes (downloading it first if needed). */
  localPath(key: string): Promise<string>;
}
