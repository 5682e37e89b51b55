// LocalRepository: the default ModelRepository, objects stored as files under one root directory.
//
// A key maps to the path <root>/<key>. `put` writes a temp file next to the target (its name holds '~',
// which no key can, so it never shows in listings), fsyncs it, renames it into place and fsyncs the
// directory. Limitation of a file tree: an object 'a' and an object 'a/b' cannot both exist; the second
// put rejects with INVALID_ARGUMENT. `localPath(key, { sha256 })` hashes a file once and remembers the hash
// for as long as its size, mtime, ctime and inode stay the same (a put renames a new inode into place; an
// edit in place changes ctime), so a load checks the bytes without reading them again.
// Errors name objects by key, never by path: a file system error becomes an InfaasError with the key and errno code.

import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InfaasError, invalid, notFound } from '../../core/errors.ts';
import { expectedSha256, registeredHashMismatch, type ExpectedContent, type ModelRepository } from '../model-repository.ts';
import { checkObjectKey, checkObjectPrefix, isSegment, prefixDirSegments } from '../object-keys.ts';

export class LocalRepository implements ModelRepository {
  /** The absolute root directory (created on the first put). */
  readonly root: string;
  /** Verified hashes by path, valid while the file's identity (size, mtime, ctime, inode) is unchanged. */
  readonly #hashes = new Map<string, { id: string; sha256: string }>();
  #filesHashed = 0;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      if (code(e) === 'EEXIST' || code(e) === 'ENOTDIR') throw conflict(key);
      throw fsFailure('write', key, e);
    }
    const temp = `${path}.~${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await writeFile(temp, data, { flush: true });
      this.#hashes.delete(path);
      await rename(temp, path);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      if (code(e) === 'EISDIR' || code(e) === 'ENOTDIR' || code(e) === 'ENOTEMPTY') throw conflict(key);
      throw fsFailure('write', key, e);
    }
    await syncDir(dir).catch((e: unknown) => {
      throw fsFailure('write', key, e);
    });
  }

  async get(key: string): Promise<Uint8Array> {
    const path = this.pathOf(key);
    try {
      return new Uint8Array(await readFile(path));
    } catch (e) {
      if (isMissing(e)) throw missing(key);
      throw fsFailure('read', key, e);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.fileStat(this.pathOf(key))) !== undefined;
  }

  async delete(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    this.#hashes.delete(path);
    try {
      await unlink(path);
      return true;
    } catch (e) {
      if (isMissing(e) || code(e) === 'EPERM') return false;
      throw fsFailure('delete', key, e);
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkObjectPrefix(prefix);
    const base = prefixDirSegments(prefix);
    const out: string[] = [];
    await this.walk(base, out).catch((e: unknown) => {
      throw fsFailure('list', prefix, e);
    });
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  async localPath(key: string, expect?: ExpectedContent): Promise<string> {
    const path = this.pathOf(key);
    const want = expectedSha256(expect);
    let actual: string;
    try {
      const s = await this.fileStat(path);
      if (!s) throw missing(key);
      if (want === undefined) return path;
      const known = this.#hashes.get(path);
      actual = known?.id === identity(s) ? known.sha256 : await this.hashFile(path);
    } catch (e) {
      if (e instanceof InfaasError) throw e;
      if (isMissing(e)) throw missing(key);
      throw fsFailure('read', key, e);
    }
    if (actual !== want) throw registeredHashMismatch(key, want, actual, 'its file in the repository was changed or damaged after it was registered');
    return path;
  }

  /** How many times a file's bytes were read to hash them (a file is hashed again only after it changes). */
  get filesHashed(): number {
    return this.#filesHashed;
  }

  private pathOf(key: string): string {
    checkObjectKey(key);
    return join(this.root, ...key.split('/'));
  }

  /** Collects the keys of every object under the directory `segs`. */
  private async walk(segs: string[], out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(join(this.root, ...segs), { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const ent of entries) {
      if (!isSegment(ent.name)) continue; // temp files and anything that is not an object
      const child = [...segs, ent.name];
      const kind = ent.isSymbolicLink() ? await this.kindOf(join(this.root, ...child)) : ent.isDirectory() ? 'dir' : ent.isFile() ? 'file' : 'other';
      if (kind === 'dir') await this.walk(child, out);
      else if (kind === 'file') out.push(child.join('/'));
    }
  }

  /** Hashes the file and remembers the hash, unless the file changed while it was read. */
  private async hashFile(path: string): Promise<string> {
    const fh = await open(path, 'r');
    try {
      const before = await fh.stat();
      const hash = createHash('sha256');
      for await (const chunk of fh.createReadStream({ autoClose: false })) hash.update(chunk);
      const sha256 = hash.digest('hex');
      this.#filesHashed++;
      const after = await fh.stat();
      if (identity(before) === identity(after)) this.#hashes.set(path, { id: identity(after), sha256 });
      else this.#hashes.delete(path);
      return sha256;
    } finally {
      await fh.close();
    }
  }

  private async kindOf(path: string): Promise<'dir' | 'file' | 'other'> {
    const s = await stat(path).catch(() => undefined);
    return s?.isDirectory() ? 'dir' : s?.isFile() ? 'file' : 'other';
  }

  private async fileStat(path: string) {
    try {
      const s = await stat(path);
      return s.isFile() ? s : undefined;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const identity = (s: Stats) => `${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`;
const code = (e: unknown) => (e as NodeJS.ErrnoException).code;
const isMissing = (e: unknown) => code(e) === 'ENOENT' || code(e) === 'ENOTDIR' || code(e) === 'EISDIR';
const missing = (key: string) => notFound(`no object '${key}' in the model repository`, { key });
/** A file system error, by key and errno code only (its message holds the server's absolute path). */
function fsFailure(op: string, key: string, e: unknown): InfaasError {
  if (e instanceof InfaasError) return e;
  const errno = code(e) ?? 'error';
  return new InfaasError(errno === 'ENOSPC' || errno === 'EDQUOT' ? 'UNAVAILABLE' : 'INTERNAL', `model repository: cannot ${op} '${key}' (${errno})`, { key, errno });
}
const conflict = (key: string) => invalid(`repository key '${key}' conflicts with an existing object or folder of that name`, { key });
