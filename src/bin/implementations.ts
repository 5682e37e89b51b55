// Which implementation serves each contract, chosen from configuration in one place (composition roots only):
// the metadata store (embedded log in the data dir, or Redis), the model repository (a local directory, or
// S3-compatible object storage), both from URLs.

import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { invalid } from '../core/errors.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';
import { EmbeddedStore } from '../metadata/embedded/log-store.ts';
import { RedisStore } from '../metadata/redis/redis-store.ts';
import type { ModelRepository } from '../repository/model-repository.ts';
import { LocalRepository } from '../repository/local/local-repository.ts';
import { S3Repository } from '../repository/s3/s3-repository.ts';
import { parseS3Url } from '../repository/s3/s3-options.ts';

export interface OpenedStore {
  store: MetadataStore;
  /** 'embedded' or 'redis'. */
  kind: 'embedded' | 'redis';
  /** For logs: where it is. */
  where: string;
}

/** Redis for a `redis://` / `rediss://` URL; otherwise the embedded store in `dataDir` (one controller at a time). */
export async function openMetadataStore(url: string | undefined, dataDir: string): Promise<OpenedStore> {
  if (url === undefined) return { store: await EmbeddedStore.open(dataDir), kind: 'embedded', where: dataDir };
  if (!/^rediss?:\/\//.test(url)) throw invalid(`metadata store URL '${url}' is not supported: use redis://HOST:PORT/DB (or leave it out for the embedded store)`);
  const store = await RedisStore.connect(url);
  const { host, port, db, prefix } = store.location;
  return { store, kind: 'redis', where: `redis ${host}:${port}/${db} (prefix ${prefix})` };
}

export interface OpenedRepository {
  repo: ModelRepository;
  /** The repository as a URL other processes can open (`file:///dir` or `s3://bucket/prefix`). */
  url: string;
  close(): void;
}

/**
 * An S3 repository for `s3://bucket/prefix` (endpoint, region and credentials from the standard AWS variables in
 * `env`; downloads cached in `cacheDir`), else a local directory given as `file:///dir` or a path (relative to
 * the current directory).
 */
export function openRepository(url: string, cacheDir: string, env: NodeJS.ProcessEnv): OpenedRepository {
  if (url.startsWith('s3://')) {
    const repo = new S3Repository(parseS3Url(url, env, cacheDir));
    return { repo, url, close: () => repo.close() };
  }
  let dir: string;
  if (url.startsWith('file://')) dir = fileURLToPath(url);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw invalid(`model repository URL '${url}' is not supported: use s3://BUCKET/PREFIX, file:///DIR or a directory`);
  else dir = isAbsolute(url) ? url : resolve(url);
  return { repo: new LocalRepository(dir), url: pathToFileURL(dir).href, close: () => undefined };
}
