// The policy sets by name: what `infaas simulate --policy` and the benchmark choose from.

import { invalid } from '../../core/errors.ts';
import type { ScalingPolicy } from '../scaling-policy.ts';
import { infaasPolicy } from './infaas.ts';
import { oursPolicy } from './ours.ts';
import { replicaOnlyPolicy } from './replica-only.ts';
import { staticPeakPolicy } from './static-peak.ts';

export type PolicyName = 'ours' | 'infaas' | 'static-peak' | 'replica-only';
export const POLICY_NAMES: readonly PolicyName[] = ['ours', 'infaas', 'static-peak', 'replica-only'];

/**
 * A fresh policy by name. The state type is erased to `unknown` here: the policy only ever receives the
 * state its own init/tick returned, so the shell never needs to know it.
 * Throws INVALID_ARGUMENT for an unknown name, listing the valid ones.
 */
export function getPolicy(name: string): ScalingPolicy<unknown> {
  switch (name) {
    case 'ours': return erase(oursPolicy());
    case 'infaas': return erase(infaasPolicy());
    case 'static-peak': return erase(staticPeakPolicy());
    case 'replica-only': return erase(replicaOnlyPolicy());
    default: throw invalid(`unknown policy "${name}"; valid policies: ${POLICY_NAMES.join(', ')}`, { policy: name, valid: [...POLICY_NAMES] });
  }
}

function erase<S>(p: ScalingPolicy<S>): ScalingPolicy<unknown> {
  return p as unknown as ScalingPolicy<unknown>;
}
