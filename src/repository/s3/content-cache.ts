// ContentCache: downloaded files addressed by the SHA-256 of their bytes, `<dir>/sha256/<hash>`.
//
// A download streams into `<dir>/incoming/` while it is hashed; only a complete file whose hash was checked
// is fsynced and renamed to its final name, so a file under sha256/ always holds exactly the bytes its name
// says. Several processes may share one cache directory: names are unique and renames atomic. Cached files
// are read-only (mode 0444).

import { randomBytes, createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';

/** A complete download not yet in the cache: its temp path and the hash of what was received. */
export interface Received {
  temp: string;
  sha256: string;
  bytes: number;
}

export class ContentCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The path a file with this hash has in the cache (whether or not it is there). */
  pathOf(sha256: string): string {
    return join(this.dir, 'sha256', sha256);
  }

  /** The cached file with this hash, or undefined. */
  async lookup(sha256: string): Promise<string | undefined> {
    const path = this.pathOf(sha256);
    const s = await stat(path).catch(() => undefined);
    return s?.isFile() ? path : undefined;
  }

  /**
   * Streams `body` to a new temp file while hashing it. Rejects (leaving no temp file) when the stream fails,
   * or ends with another length than `expectedBytes`.
   */
  async receive(body: Readable, expectedBytes?: number): Promise<Received> {
    await this.ensureDirs();
    const temp = join(this.dir, 'incoming', `${process.pid}-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const fh = await open(temp, 'wx', 0o444);
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off)).bytesWritten;
        bytes += chunk.length;
      }
      if (expectedBytes !== undefined && bytes !== expectedBytes) throw new Error(`the download ended after ${bytes} of ${expectedBytes} bytes`);
      await fh.sync();
    } catch (e) {
      body.destroy();
      await fh.close().catch(() => undefined);
      await this.discard(temp);
      throw e;
    }
    await fh.close();
    return { temp, sha256: hash.digest('hex'), bytes };
  }

  /** Moves a received file whose hash was checked into the cache; returns its cache path. */
  async publish(received: Received): Promise<string> {
    await this.ensureDirs();
    const path = this.pathOf(received.sha256);
    await rename(received.temp, path);
    const dh = await open(join(this.dir, 'sha256'), 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    return path;
  }

  /** Removes a temp file that will not be published. */
  async discard(temp: string): Promise<void> {
    await rm(temp, { force: true });
  }

  /** Creates the cache's folders; every time, as someone may clear the cache while the process runs. */
  private async ensureDirs(): Promise<void> {
    await mkdir(join(this.dir, 'incoming'), { recursive: true });
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
  }
}
