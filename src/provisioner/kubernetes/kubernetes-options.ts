// The options of the Kubernetes provisioner, their defaults, and how its KubeConfig is loaded (in the cluster from
// the pod's ServiceAccount, elsewhere from the default kubeconfig). The composition root builds these once.

import { KubeConfig } from '@kubernetes/client-node';
import type { WorkerHello } from '../../protocol/worker-protocol.ts';
import type { WorkerHandle } from '../provisioner.ts';

export interface KubernetesProvisionerOptions {
  /** Namespace of the worker Deployments (in the cluster: the controller's own, from the downward API). */
  namespace: string;
  /** API server and credentials: `loadKubeConfig('in-cluster' | 'default')`, or one a test builds. */
  kubeConfig: KubeConfig;
  /**
   * Connects to a started worker and returns what it answered to the protocol's hello (the connection is then
   * closed). The composition root passes the transport's client, e.g.
   * `async (h, o) => { const c = await TcpWorkerClient.connect(h.id, h.address, o); c.close(); return c.hello; }`.
   * `start` resolves only once this answers with the pod's name as id.
   */
  hello: (handle: WorkerHandle, opts: { timeoutMs: number }) => Promise<WorkerHello>;
  /** The Deployment of each worker class (default: `infaas-worker-<class>`, see defaultDeploymentName). */
  deployments?: Record<string, string>;
  /** The port every worker pod listens on (default 7070). */
  workerPort?: number;
  /** How long `start` waits for a new pod to be Ready and answer hello (default 180 s). */
  startTimeoutMs?: number;
  /** How long `stop` waits for the pod to be gone (default 60 s). */
  stopTimeoutMs?: number;
  /** How often pods are listed while waiting and to notice exits (default 2 s). */
  pollIntervalMs?: number;
  /** Longest a single API call may take before it counts as failed (default 30 s). */
  apiTimeoutMs?: number;
  /**
   * Written into the `infaas.io/claimed-by` annotation of the pods this process starts, so that controllers
   * scaling the same Deployment at once never take the same pod (default: host name, pid and a random suffix).
   */
  identity?: string;
  /** Receives what goes wrong in the background (poll failures); default: stderr. */
  warn?: (msg: string) => void;
}

export type ResolvedKubernetesOptions = Required<Omit<KubernetesProvisionerOptions, 'deployments'>> & { deployments: Record<string, string> };

export const DEFAULTS = {
  workerPort: 7070,
  startTimeoutMs: 180_000,
  stopTimeoutMs: 60_000,
  pollIntervalMs: 2000,
  apiTimeoutMs: 30_000,
} as const;

/** The Deployment that holds the workers of a class unless configured otherwise: `infaas-worker-<class>`. */
export function defaultDeploymentName(workerClass: string): string {
  return `infaas-worker-${workerClass}`;
}

/**
 * A KubeConfig from the pod's ServiceAccount ('in-cluster': token, CA and API address mounted by Kubernetes) or
 * from $KUBECONFIG / ~/.kube/config ('default').
 */
export function loadKubeConfig(source: 'in-cluster' | 'default'): KubeConfig {
  const kc = new KubeConfig();
  if (source === 'in-cluster') kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
