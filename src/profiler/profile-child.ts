// Entry point of the profiling child process (forked by profile-job.ts): reads its job from argv, profiles the
// artifact, and reports progress, the result or a typed error to the parent over IPC, then exits. It exits at
// once when its parent goes away (a killed controller): another controller profiles the artifact again.

import { readFileSync } from 'node:fs';
import { asInfaasError, invalid } from '../core/errors.ts';
import { decodeValidationSet } from '../core/validation-set.ts';
import { profileArtifact } from './profiler.ts';
import type { ChildJob, ChildMessage } from './profile-job.ts';

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

async function main(): Promise<void> {
  try {
    const job = JSON.parse(process.argv[2] ?? '') as ChildJob;
    let bytes: Buffer;
    try {
      bytes = readFileSync(job.validationPath);
    } catch (e) {
      throw invalid(`cannot read the validation set (${(e as NodeJS.ErrnoException).code ?? 'error'})`); // no server path
    }
    const validation = decodeValidationSet(bytes);
    const result = await profileArtifact(
      { path: job.path, artifactId: job.artifactId, arch: job.arch, useCase: job.useCase, validation, grid: job.grid, workerClasses: job.workerClasses, effort: job.effort },
      (p) => void send({ type: 'progress', progress: p }),
    );
    await send({ type: 'result', result });
  } catch (e) {
    await send({ type: 'error', error: asInfaasError(e).toJSON() });
  }
  process.disconnect?.();
  process.exit(0);
}

process.once('disconnect', () => process.exit(1));
void main();
