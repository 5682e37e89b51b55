// Registers the bundled model zoo (zoo/manifest.json) for `infaas demo`, skipping what is already registered,
// through the same API a remote `infaas register` uses; profiling runs one artifact at a time.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InfaasApi } from '../api/facade.ts';
import type { Registry } from '../controller/registry.ts';
import { InfaasError } from '../core/errors.ts';
import { ZOO_DIR, readZooManifest } from '../zoo/manifest.ts';

/**
 * Registers every zoo artifact not yet registered; resolves when all profiling has finished. An architecture's
 * name is reserved while one of its artifacts is being registered, so fp32 artifacts go first, all architectures
 * at once, and the others (int8) join them once those have finished. Gives up waiting once `signal` aborts.
 */
export async function registerZoo(api: InfaasApi, registry: Registry, log: (s: string) => void, filter?: (arch: string) => boolean, signal?: AbortSignal): Promise<void> {
  const manifest = readZooManifest();
  // Each use case's validation set and labels are read once, and only if one of its artifacts is registered.
  const inputs = new Map<string, { validation: Buffer; labels?: string[] }>();
  const inputsOf = (uc: (typeof manifest.useCases)[number]) => {
    let got = inputs.get(uc.validation);
    if (!got) {
      const labels = uc.labels ? readFileSync(join(ZOO_DIR, uc.labels), 'utf8').split('\n').filter(Boolean) : undefined;
      got = { validation: readFileSync(join(ZOO_DIR, uc.validation)), ...(labels ? { labels } : {}) };
      inputs.set(uc.validation, got);
    }
    return got;
  };
  let registered = 0;
  for (const round of [0, 1]) {
    const ids: string[] = [];
    for (const uc of manifest.useCases) {
      for (const a of uc.architectures) {
        if (filter && !filter(a.name)) continue;
        // fp32 first: an int8 artifact joins the architecture its fp32 one created.
        const ordered = [...a.artifacts].sort((x, y) => (x.precision === 'fp32' ? -1 : 1) - (y.precision === 'fp32' ? -1 : 1));
        for (const art of round === 0 ? ordered.slice(0, 1) : ordered.slice(1)) {
          const { validation, labels } = inputsOf(uc);
          try {
            const reg = await api.register({
              task: uc.task, dataset: uc.dataset, arch: a.name, description: a.description, precision: art.precision,
              model: readFileSync(join(ZOO_DIR, art.file)), validation, labels,
            });
            ids.push(reg.id);
          } catch (e) {
            if (e instanceof InfaasError && e.code === 'ALREADY_EXISTS') continue;
            throw e;
          }
        }
      }
    }
    if (!ids.length) continue;
    registered += ids.length;
    log(`profiling ${ids.length} zoo artifacts (one at a time)...`);
    for (const id of ids) {
      let reg = await registry.get(id);
      while (reg.state === 'PROFILING') {
        if (signal?.aborted) return;
        await new Promise((r) => setTimeout(r, 100));
        reg = await registry.get(id);
      }
      if (reg.state === 'FAILED') log(`  ${reg.arch} (${reg.precision}): FAILED: ${reg.error}`);
      else log(`  ${reg.arch} (${reg.precision}): ${reg.variants?.length ?? 0} variants`);
    }
  }
  if (!registered) log('model zoo already registered');
}
