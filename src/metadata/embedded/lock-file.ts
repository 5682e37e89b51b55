// Single-writer lock on a data directory: a lock file holding the owner's pid, taken over when stale.

import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { unavailable } from '../../core/errors.ts';

/** A held lock; `release` removes the lock file (only if it is still ours). */
export interface DirLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Lock paths held by this process: a second open in the same process is refused like any other. */
const heldHere = new Set<string>();

/**
 * Takes `<dir>/<name>` exclusively. The file appears atomically, already holding our pid (written to a temp
 * file, then hard-linked into place, which fails if the lock exists). An existing lock whose pid is alive
 * makes this reject with UNAVAILABLE "data dir X is in use by pid N"; a lock whose pid is dead, or is our own
 * pid but not held by this process (a restarted container often gets the same pid), or is unreadable, is
 * stale and taken over. Limits: pids are only meaningful on one host (no NFS-shared data dirs), and two
 * processes taking over the same stale lock at the same instant can both succeed.
 */
export async function acquireDirLock(dir: string, name = 'meta.lock'): Promise<DirLock> {
  const path = resolve(join(dir, name));
  if (heldHere.has(path)) throw inUse(dir, process.pid);
  heldHere.add(path); // reserved synchronously, so concurrent opens in this process cannot both pass
  try {
    await takeLock(dir, path);
    return { path, release: () => release(path) };
  } catch (e) {
    heldHere.delete(path);
    throw e;
  }
}

async function takeLock(dir: string, path: string): Promise<void> {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temp, `${process.pid}\n`, { flush: true });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(temp, path);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = await readOwner(path);
      if (owner === 'gone') continue;
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) throw inUse(dir, owner);
      await unlink(path).catch(ignoreMissing);
    }
    throw unavailable(`could not take the lock ${path}: it keeps changing hands`);
  } finally {
    await unlink(temp).catch(ignoreMissing);
  }
}

async function release(path: string): Promise<void> {
  if (!heldHere.delete(path)) return;
  if ((await readOwner(path)) === process.pid) await unlink(path).catch(ignoreMissing);
}

/** The pid in a lock file; undefined when unreadable; 'gone' when the file vanished meanwhile. */
async function readOwner(path: string): Promise<number | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUse(dir: string, pid: number) {
  return unavailable(`data dir ${dir} is in use by pid ${pid}${pid === process.pid ? ' (this process)' : ''}`, { dir, pid });
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
}
