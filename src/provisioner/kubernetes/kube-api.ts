// The five Kubernetes API calls the provisioner makes, through @kubernetes/client-node: read a Deployment's
// selector, read and patch its scale, list its pods, patch a pod's annotations. Each call has a deadline, and
// every failure becomes an UNAVAILABLE InfaasError naming the API server, the call and the likely fix
// ("kubernetes API https://10.0.0.1:443: patch deployment infaas/infaas-worker-cpu-2 scale failed: 403 Forbidden: …
// (is the controller's ServiceAccount allowed to patch deployments/scale in namespace infaas?)").
//
// Patches are JSON merge patches. client-node 1.4 picks a PATCH's Content-Type from the first JSON-like type the
// OpenAPI spec lists, which is application/json-patch+json, so every patch sets its Content-Type explicitly.
// A patch carrying metadata.resourceVersion is applied only if the object is still at that version (else 409).

import { STATUS_CODES } from 'node:http';
import { ApiException, AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { InfaasError, unavailable } from '../../core/errors.ts';

/** The outcome of a conditional write: applied, refused because the object changed (409), or the object is gone (404). */
export type WriteResult = 'ok' | 'conflict' | 'gone';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubeApi {
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly namespace: string;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #timeoutMs: number;

  constructor(kubeConfig: KubeConfig, namespace: string, timeoutMs: number) {
    this.server = kubeConfig.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
    this.namespace = namespace;
    this.#apps = kubeConfig.makeApiClient(AppsV1Api);
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#timeoutMs = timeoutMs;
  }

  /** The Deployment's spec.selector.matchLabels (its pods carry these labels). */
  async deploymentSelector(name: string): Promise<Record<string, string>> {
    const d = await this.#call(`get deployment ${this.namespace}/${name}`, 'get deployments', () => this.#apps.readNamespacedDeployment({ name, namespace: this.namespace }));
    const labels = d.spec?.selector?.matchLabels;
    if (!labels || !Object.keys(labels).length) {
      throw unavailable(`kubernetes API ${this.server}: deployment ${this.namespace}/${name} has no spec.selector.matchLabels; the provisioner needs them to find its pods`);
    }
    return labels;
  }

  async readScale(name: string): Promise<{ replicas: number; resourceVersion: string }> {
    const s = await this.#call(`get deployment ${this.namespace}/${name} scale`, 'get deployments/scale', () => this.#apps.readNamespacedDeploymentScale({ name, namespace: this.namespace }));
    return { replicas: s.spec?.replicas ?? 0, resourceVersion: s.metadata?.resourceVersion ?? '' };
  }

  /** Sets spec.replicas if the Deployment is still at `resourceVersion`. */
  patchScale(name: string, replicas: number, resourceVersion: string): Promise<WriteResult> {
    const body = { metadata: { resourceVersion }, spec: { replicas } };
    return this.#write(`patch deployment ${this.namespace}/${name} scale`, 'patch deployments/scale', () =>
      this.#apps.patchNamespacedDeploymentScale({ name, namespace: this.namespace, body }, MERGE_PATCH),
    );
  }

  async listPods(labelSelector: string): Promise<V1Pod[]> {
    const list = await this.#call(`list pods ${this.namespace}/${labelSelector}`, 'list pods', () => this.#core.listNamespacedPod({ namespace: this.namespace, labelSelector }));
    return list.items;
  }

  /** Merges `annotations` into the pod's, if it is still at `resourceVersion` (when given). */
  patchPodAnnotations(name: string, annotations: Record<string, string>, resourceVersion?: string): Promise<WriteResult> {
    const body = { metadata: { annotations, ...(resourceVersion ? { resourceVersion } : {}) } };
    return this.#write(`patch pod ${this.namespace}/${name}`, 'patch pods', () => this.#core.patchNamespacedPod({ name, namespace: this.namespace, body }, MERGE_PATCH));
  }

  async #write(what: string, permission: string, fn: () => Promise<unknown>): Promise<WriteResult> {
    try {
      await this.#call(what, permission, fn, [404, 409]);
      return 'ok';
    } catch (e) {
      if (e instanceof ApiException && e.code === 409) return 'conflict';
      if (e instanceof ApiException && e.code === 404) return 'gone';
      throw e;
    }
  }

  /** Runs one call with a deadline; errors become UNAVAILABLE except the status codes in `passThrough`. */
  async #call<T>(what: string, permission: string, fn: () => Promise<T>, passThrough: number[] = []): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(`kubernetes API ${this.server}: ${what} failed: no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([fn(), deadline]);
    } catch (e) {
      if (e instanceof ApiException && passThrough.includes(e.code)) throw e;
      throw this.#error(what, permission, e);
    } finally {
      clearTimeout(timer);
    }
  }

  #error(what: string, permission: string, e: unknown) {
    if (!(e instanceof ApiException)) {
      if (e instanceof InfaasError) return e;
      return unavailable(`kubernetes API ${this.server}: ${what} failed: ${e instanceof Error ? e.message : String(e)} (is the API server reachable from here?)`, { server: this.server, call: what });
    }
    const status = statusOf(e.body);
    const reason = status.reason ?? STATUS_CODES[e.code] ?? 'error';
    const [verb, resource] = permission.split(' ');
    const hint =
      e.code === 401 ? " (is the controller's ServiceAccount token valid?)"
      : e.code === 403 ? ` (is the controller's ServiceAccount allowed to ${verb} ${resource} in namespace ${this.namespace}?)`
      : e.code === 404 && resource.startsWith('deployments') ? ` (does the worker Deployment exist in namespace ${this.namespace}?)`
      : '';
    return unavailable(`kubernetes API ${this.server}: ${what} failed: ${e.code} ${reason}${status.message ? `: ${status.message}` : ''}${hint}`, {
      server: this.server,
      call: what,
      status: e.code,
    });
  }
}

/** The reason and message of a Status body, whether client-node handed it over parsed or as text. */
function statusOf(body: unknown): { reason?: string; message?: string } {
  let b = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      return body ? { message: body.slice(0, 300) } : {};
    }
  }
  if (!b || typeof b !== 'object') return {};
  const { reason, message } = b as { reason?: unknown; message?: unknown };
  return { reason: typeof reason === 'string' ? reason : undefined, message: typeof message === 'string' ? message : undefined };
}
