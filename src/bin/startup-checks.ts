// What `infaas serve` checks and prepares before it starts anything that must be undone: the data directory
// (created, writable), the REST port (free), where local workers' Unix sockets live (under the data directory), and
// the messages a failed listen turns into. Each failure is one InfaasError saying what to change.

import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { InfaasError, invalid, unavailable } from '../core/errors.ts';

/** Creates the data directory if needed and checks this process may write in it. */
export function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw invalid(`cannot create the data dir ${dir} (${errnoText(e)}): give --data-dir a directory this user can create`);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw invalid(`the data dir ${dir} is not writable by this user (${errnoText(e)}): give --data-dir a directory it can write, or change its permissions`);
  }
}

/** Longest Unix socket path the kernel takes (108 bytes on Linux, 104 on macOS, with the terminating NUL). */
const SOCKET_PATH_MAX = process.platform === 'linux' ? 107 : 103;
/** Longest socket file name a local provisioner makes: `w<seq>-<pid>.sock`. */
const SOCKET_NAME_MAX = 24;

/**
 * The directory for local workers' Unix sockets, emptied of any left by a server that was killed: `<dataDir>/run`,
 * or, where that path is too long for a socket address, a directory of the OS temporary directory named after the
 * data dir (so the next server on the same data dir empties it too). The caller holds the data dir's lock, and
 * removes the directory when it stops.
 */
export function prepareSocketDir(dataDir: string): string {
  let dir = join(dataDir, 'run');
  if (Buffer.byteLength(dir) + 1 + SOCKET_NAME_MAX > SOCKET_PATH_MAX) {
    dir = join(tmpdir(), `infaas-run-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Fails at once, before any worker starts, when `host:port` cannot be listened on (another server has the port,
 * the host is not an address of this machine); port 0 (any free port) always can. The real listen may still
 * fail if another process takes the port meanwhile: `listenError` words that failure the same way.
 */
export async function checkListenable(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e) => reject(listenError(e, host, port)));
    probe.listen({ host, port }, () => probe.close(() => resolve()));
  });
}

/** A failed listen on `host:port`, said as what to change. */
export function listenError(e: unknown, host: string, port: number): InfaasError {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return unavailable(`port ${port} on ${host} is already in use (another infaas server?): stop it, or give another --port (0 picks a free one)`, { host, port });
    case 'EADDRNOTAVAIL':
      return invalid(`cannot listen on ${host}: it is not an address of this machine; give --host 127.0.0.1, 0.0.0.0 or one of its addresses`, { host, port });
    case 'EACCES':
      return invalid(`not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges): give another --port`, { host, port });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return invalid(`cannot listen on ${host}: no such host name; give --host an address of this machine`, { host, port });
    default:
      return e instanceof InfaasError ? e : unavailable(`cannot listen on ${host}:${port}: ${errnoText(e)}`, { host, port });
  }
}

/** `ENOTDIR: not a directory` from a system error (without the path the caller names already). */
function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const text = typeof err?.errno === 'number' ? getSystemErrorMap().get(err.errno)?.[1] : undefined;
  if (err?.code) return text ? `${err.code}: ${text}` : err.code;
  return e instanceof Error ? e.message : String(e);
}
