// What the Kubernetes provisioner reads from a pod: whether it is a ready worker, how often its containers
// restarted and how the last one ended, whether a controller claimed it, and a one-line account of its state
// for error messages ("pod infaas-worker-cpu-2-…-x2k4p is Pending: Unschedulable (0/3 nodes are available …)").

import { constants } from 'node:os';
import type { V1Pod } from '@kubernetes/client-node';

/** The annotation a controller writes on the pods it started (value: its identity). */
export const CLAIM_ANNOTATION = 'infaas.io/claimed-by';
/** The annotation that makes the ReplicaSet remove this pod first on a scale-down. */
export const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
/** Low enough to go before any pod nobody marked (the default cost is 0). */
export const STOP_DELETION_COST = '-1000000';

export const podName = (pod: V1Pod): string => pod.metadata?.name ?? '';

export const isTerminating = (pod: V1Pod): boolean => pod.metadata?.deletionTimestamp != null;

export const claimOf = (pod: V1Pod): string | undefined => pod.metadata?.annotations?.[CLAIM_ANNOTATION];

/** Condition Ready=True, an IP, and not on its way out. */
export function isReady(pod: V1Pod): boolean {
  return !isTerminating(pod) && !!pod.status?.podIP && !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Restarts of all its containers together (grows when Kubernetes restarts a crashed container). */
export function restartsOf(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
}

/** How the most recently ended container ended: its exit code, and the signal when the runtime reports one. */
export function lastExitOf(pod: V1Pod): { code: number | null; signal: string | null } {
  const ended = (pod.status?.containerStatuses ?? [])
    .map((c) => c.lastState?.terminated)
    .filter((t) => t != null)
    .sort((a, b) => (b.finishedAt?.getTime?.() ?? 0) - (a.finishedAt?.getTime?.() ?? 0))[0];
  if (!ended) return { code: null, signal: null };
  const signal = ended.signal ? (Object.entries(constants.signals).find(([, n]) => n === ended.signal)?.[0] ?? `signal ${ended.signal}`) : null;
  return { code: typeof ended.exitCode === 'number' ? ended.exitCode : null, signal };
}

/** `k1=v1,k2=v2` (sorted) from a Deployment's matchLabels, for a pod list's labelSelector. */
export function selectorOf(matchLabels: Record<string, string>): string {
  return Object.keys(matchLabels)
    .sort()
    .map((k) => `${k}=${matchLabels[k]}`)
    .join(',');
}

/** `tcp://ip:port`, with brackets around an IPv6 address. */
export function workerAddress(ip: string, port: number): string {
  return `tcp://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/** "pod NAME is PHASE: REASON (MESSAGE)", from the most telling part of its status. */
export function describePod(pod: V1Pod): string {
  const s = pod.status;
  const head = `pod ${podName(pod)} is ${isTerminating(pod) ? 'terminating' : (s?.phase ?? 'Unknown')}`;
  const why = (reason?: string, message?: string) => `${head}: ${reason ?? 'no reason given'}${message ? ` (${message})` : ''}`;
  const unscheduled = s?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unscheduled) return why(unscheduled.reason ?? 'not scheduled', unscheduled.message);
  for (const c of s?.containerStatuses ?? []) {
    if (c.state?.waiting) return why(c.state.waiting.reason, c.state.waiting.message);
    if (c.state?.terminated) return why(c.state.terminated.reason ?? `exited with code ${c.state.terminated.exitCode}`, c.state.terminated.message);
  }
  const notReady = s?.conditions?.find((c) => c.type === 'Ready' && c.status !== 'True');
  if (notReady) return why(`not Ready${notReady.reason ? ` (${notReady.reason})` : ''}`, notReady.message);
  if (s?.phase === 'Running' && !s.podIP) return why('no pod IP yet');
  return head;
}
