// Composition of the Kubernetes provisioner: its KubeConfig (in the cluster from the pod's ServiceAccount,
// elsewhere from $KUBECONFIG / ~/.kube/config), namespace and Deployments from the configuration, and the
// transport's hello to check each new pod is the worker it asked for.

import { existsSync } from 'node:fs';
import type { InfaasConfig } from '../config/config.ts';
import { KubernetesProvisioner } from '../provisioner/kubernetes/kubernetes-provisioner.ts';
import { loadKubeConfig } from '../provisioner/kubernetes/kubernetes-options.ts';
import { TcpWorkerClient } from '../transport/worker-connection.ts';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function kubernetesProvisioner(config: InfaasConfig, env: NodeJS.ProcessEnv, controllerId: string): KubernetesProvisioner {
  const k = config.provisioner.kubernetes ?? {};
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(SERVICE_ACCOUNT_NAMESPACE);
  return new KubernetesProvisioner({
    namespace: k.namespace ?? 'infaas',
    kubeConfig: loadKubeConfig(inCluster ? 'in-cluster' : 'default'),
    hello: async (h, o) => {
      const c = await TcpWorkerClient.connect(h.id, h.address, o);
      c.close();
      return c.hello;
    },
    identity: controllerId,
    ...(k.deployments ? { deployments: k.deployments } : {}),
    ...(k.workerPort ? { workerPort: k.workerPort } : {}),
  });
}
