// Refuses a query whose batch no variant it could run on takes, before its inputs are converted or its images
// decoded: the answer variant selection would give after all that work (src/policy/select-variant.ts).

import { InfaasError, invalid } from '../core/errors.ts';
import { useCaseId } from '../core/types.ts';
import type { QuerySpec } from '../core/query.ts';
import type { Catalogue } from '../policy/catalogue.ts';

/**
 * @throws INVALID_ARGUMENT for an exact variant whose maxBatch is below `batch`; SLO_UNSATISFIABLE when no variant
 *   of the architecture or use case takes `batch`. Unknown names pass: the lookup that follows says they are unknown.
 */
export function checkBatchFits(spec: QuerySpec, batch: number, catalogue: Catalogue): void {
  if (spec.level === 'variant') {
    const e = catalogue.entry(spec.variant);
    if (e && batch > e.maxBatch) throw invalid(`variant ${e.name} takes at most ${e.maxBatch} samples per request (got ${batch})`, { variant: e.name, maxBatch: e.maxBatch });
    return;
  }
  const group = spec.level === 'arch' ? catalogue.byArchCost(spec.arch) : catalogue.byUseCaseCost(useCaseId(spec.task, spec.dataset));
  if (!group.length) return;
  let largest = 0;
  for (const e of group) largest = Math.max(largest, e.maxBatch);
  if (batch <= largest) return;
  const what = spec.level === 'arch' ? `architecture ${spec.arch}` : `use case ${useCaseId(spec.task, spec.dataset)}`;
  throw new InfaasError('SLO_UNSATISFIABLE', `no variant of ${what} accepts batch ${batch} (largest max batch ${largest})`, {
    alternatives: {},
    request: { batch, latencyMs: spec.latencyMs, ...(spec.level === 'usecase' ? { minAccuracy: spec.minAccuracy } : {}) },
  });
}
