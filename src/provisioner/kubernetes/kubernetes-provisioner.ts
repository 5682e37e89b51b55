// Provisioner of Kubernetes workers: each worker class is a Deployment (`infaas-worker-<class>`), a worker is
// one of its pods (id: the pod's name; the worker runs with `--id $(POD_NAME)`), and workers come and go by
// scaling the Deployment through the API. Several controllers may scale the same Deployment at once.
//
// start: scale +1 (read the scale, patch replicas with the resourceVersion read, re-read and retry on 409), then
//   list the Deployment's pods until a new one is Ready with an IP, claim it (annotation `infaas.io/claimed-by`,
//   patched with the pod's resourceVersion, so two controllers never take the same pod), and check its worker
//   answers hello with the pod's name. Pods that were already Ready before the scale-up are never taken. On
//   failure (timeout, API error, wrong worker) the scale-up is undone, so a retrying caller cannot pile up
//   Pending pods.
// stop: mark the pod `controller.kubernetes.io/pod-deletion-cost: -1000000`, scale −1 (the ReplicaSet removes
//   the cheapest pod to delete: this one, unless a pod is still unscheduled, Pending or not Ready — those go
//   first whatever their cost), and wait until the pod is gone.
// Exits: the claimed pods are listed every pollIntervalMs; one that vanished, or whose containers restarted
//   (Kubernetes restarted a crashed worker in place), fires onExit. A restarted pod is back in list() once Ready.

import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import { InfaasError, invalid, unavailable } from '../../core/errors.ts';
import type { WorkerClass } from '../../core/types.ts';
import type { Provisioner, WorkerExit, WorkerHandle } from '../provisioner.ts';
import { KubeApi } from './kube-api.ts';
import { DEFAULTS, defaultDeploymentName, type KubernetesProvisionerOptions, type ResolvedKubernetesOptions } from './kubernetes-options.ts';
import {
  CLAIM_ANNOTATION, DELETION_COST_ANNOTATION, STOP_DELETION_COST, claimOf, describePod, isReady, isTerminating, lastExitOf, podName, restartsOf,
  selectorOf, workerAddress,
} from './pod-state.ts';

interface Worker {
  handle: WorkerHandle;
  deployment: string;
  restarts: number;
  ready: boolean;
  /** Order of registration, so a pod list sent before a worker was claimed does not count it as gone. */
  seq: number;
}

/** Scale patches refused with 409 in a row before giving up. */
const MAX_CONFLICTS = 20;

export class KubernetesProvisioner implements Provisioner {
  readonly kind = 'kubernetes';
  readonly replacesCrashed = true;
  readonly #o: ResolvedKubernetesOptions;
  readonly #api: KubeApi;
  readonly #workers = new Map<string, Worker>();
  readonly #selectors = new Map<string, string>();
  readonly #listeners: Array<(exit: WorkerExit) => void> = [];
  #seq = 0;
  #timer?: NodeJS.Timeout;
  #polling?: Promise<void>;
  #closed = false;

  constructor(opts: KubernetesProvisionerOptions) {
    this.#o = {
      ...DEFAULTS,
      identity: `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      warn: (m: string) => process.stderr.write(`[kubernetes] ${m}\n`),
      ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as KubernetesProvisionerOptions),
      deployments: opts.deployments ?? {},
    };
    if (!opts.namespace) throw invalid('kubernetes provisioner: a namespace is required');
    if (!Number.isInteger(this.#o.workerPort) || this.#o.workerPort < 1 || this.#o.workerPort > 65535) throw invalid(`kubernetes provisioner: workerPort must be 1..65535, got ${this.#o.workerPort}`);
    for (const k of ['startTimeoutMs', 'stopTimeoutMs', 'pollIntervalMs', 'apiTimeoutMs'] as const) {
      if (!(this.#o[k] > 0)) throw invalid(`kubernetes provisioner: ${k} must be positive, got ${this.#o[k]}`);
    }
    this.#api = new KubeApi(opts.kubeConfig, opts.namespace, this.#o.apiTimeoutMs);
  }

  /** The Deployment that holds the workers of `workerClass`. */
  deploymentOf(workerClass: string): string {
    return this.#o.deployments[workerClass] ?? defaultDeploymentName(workerClass);
  }

  async start(workerClass: WorkerClass): Promise<WorkerHandle> {
    this.#checkOpen();
    const deployment = this.deploymentOf(workerClass.name);
    const deadline = Date.now() + this.#o.startTimeoutMs;
    const selector = await this.#selector(deployment);
    const before = new Set((await this.#api.listPods(selector)).filter(isReady).map(podName));
    const scaled = await this.#scaleBy(deployment, +1);
    let candidate: V1Pod | undefined;
    try {
      const replicas = `replicas ${scaled.from} → ${scaled.to}`;
      let lastSeen = `no new pod has appeared (${replicas})`;
      for (;;) {
        this.#checkOpen();
        const pods = (await this.#api.listPods(selector)).filter((p) => !before.has(podName(p)) && !isTerminating(p));
        const fresh = pods.filter((p) => !claimOf(p)).sort((a, b) => created(a) - created(b) || podName(a).localeCompare(podName(b)));
        for (const pod of fresh.filter(isReady)) {
          const claim = await this.#api.patchPodAnnotations(podName(pod), { [CLAIM_ANNOTATION]: this.#o.identity }, pod.metadata?.resourceVersion);
          if (claim !== 'ok') continue; // another controller took it, or it is gone
          candidate = pod;
          const handle: WorkerHandle = { id: podName(pod), workerClass: workerClass.name, address: workerAddress(pod.status!.podIP!, this.#o.workerPort) };
          await this.#checkHello(handle, deployment, deadline);
          this.#workers.set(handle.id, { handle, deployment, restarts: restartsOf(pod), ready: true, seq: ++this.#seq });
          this.#schedulePoll();
          return handle;
        }
        if (fresh.length) lastSeen = describePod(fresh[fresh.length - 1]);
        else if (pods.some((p) => claimOf(p) !== this.#o.identity)) lastSeen = `other controllers took the new pods (${replicas})`;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw unavailable(`kubernetes: no new worker of deployment ${this.#api.namespace}/${deployment} became ready within ${this.#o.startTimeoutMs} ms: ${lastSeen}`, {
            deployment,
            namespace: this.#api.namespace,
          });
        }
        await sleep(Math.min(this.#o.pollIntervalMs, left));
      }
    } catch (e) {
      throw await this.#undoScaleUp(deployment, candidate && podName(candidate), e);
    }
  }

  async stop(id: string): Promise<void> {
    const w = this.#workers.get(id);
    if (!w) return;
    const marked = await this.#api.patchPodAnnotations(id, { [DELETION_COST_ANNOTATION]: STOP_DELETION_COST });
    if (marked === 'gone') return this.#gone(w, { code: null, signal: null });
    await this.#scaleBy(w.deployment, -1);
    const selector = await this.#selector(w.deployment);
    const deadline = Date.now() + this.#o.stopTimeoutMs;
    for (;;) {
      const pod = (await this.#api.listPods(selector)).find((p) => podName(p) === id);
      if (!pod) return this.#gone(w, { code: null, signal: null });
      const left = deadline - Date.now();
      if (left <= 0) {
        throw unavailable(`kubernetes: worker ${id} of deployment ${this.#api.namespace}/${w.deployment} was not removed within ${this.#o.stopTimeoutMs} ms after scaling down: ${describePod(pod)}`);
      }
      await sleep(Math.min(this.#o.pollIntervalMs, left));
    }
  }

  list(): WorkerHandle[] {
    return [...this.#workers.values()].filter((w) => w.ready).map((w) => w.handle);
  }

  onExit(listener: (exit: WorkerExit) => void): void {
    this.#listeners.push(listener);
  }

  /** Stops watching; the workers keep running (they belong to the cluster). */
  async shutdown(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#polling;
    this.#workers.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw unavailable('kubernetes provisioner is shut down');
  }

  async #selector(deployment: string): Promise<string> {
    let s = this.#selectors.get(deployment);
    if (!s) {
      s = selectorOf(await this.#api.deploymentSelector(deployment));
      this.#selectors.set(deployment, s);
    }
    return s;
  }

  /** Read-modify-write of spec.replicas, retried while other writers change the Deployment in between. */
  async #scaleBy(deployment: string, delta: number): Promise<{ from: number; to: number }> {
    for (let attempt = 1; ; attempt++) {
      const { replicas, resourceVersion } = await this.#api.readScale(deployment);
      const to = Math.max(0, replicas + delta);
      const r = await this.#api.patchScale(deployment, to, resourceVersion);
      if (r === 'ok') return { from: replicas, to };
      if (r === 'gone' || attempt >= MAX_CONFLICTS) {
        throw unavailable(`kubernetes API ${this.#api.server}: patch deployment ${this.#api.namespace}/${deployment} scale failed: ${r === 'gone' ? 'the deployment is gone' : `still conflicting after ${attempt} attempts`}`);
      }
    }
  }

  /** Gives back the replica a failed start asked for; returns the error to throw, noting a failed undo. */
  async #undoScaleUp(deployment: string, pod: string | undefined, cause: unknown): Promise<InfaasError> {
    const err = cause instanceof InfaasError ? cause : unavailable(String((cause as Error)?.message ?? cause));
    try {
      if (pod) await this.#api.patchPodAnnotations(pod, { [DELETION_COST_ANNOTATION]: STOP_DELETION_COST });
      await this.#scaleBy(deployment, -1);
      return err;
    } catch (undo) {
      return new InfaasError(err.code, `${err.message}; scaling the deployment back down failed too: ${(undo as Error).message}`, err.details);
    }
  }

  /** Waits until the worker at `handle` answers hello as `handle.id` (a Ready pod may still be opening its port). */
  async #checkHello(handle: WorkerHandle, deployment: string, deadline: number): Promise<void> {
    for (;;) {
      let why = '';
      let answeredAs: string | undefined;
      try {
        const hello = await this.#o.hello(handle, { timeoutMs: Math.max(1000, Math.min(10_000, deadline - Date.now())) });
        if (hello.id === handle.id) return;
        answeredAs = hello.id;
      } catch (e) {
        // the transport's own handshake refuses a process answering as another worker (details.answeredAs)
        const theirs = e instanceof InfaasError ? e.details?.answeredAs : undefined;
        if (typeof theirs === 'string') answeredAs = theirs;
        why = (e as Error).message;
      }
      if (answeredAs !== undefined) {
        throw unavailable(
          `kubernetes: pod ${handle.id} of deployment ${this.#api.namespace}/${deployment} is Ready but its worker at ${handle.address} answers hello as "${answeredAs}": run workers with --id $(POD_NAME)`,
        );
      }
      this.#checkOpen();
      const left = deadline - Date.now();
      if (left <= 0) throw unavailable(`kubernetes: pod ${handle.id} of deployment ${this.#api.namespace}/${deployment} is Ready but its worker does not answer: ${why}`);
      await sleep(Math.min(this.#o.pollIntervalMs, left));
    }
  }

  #schedulePoll(): void {
    if (this.#closed || this.#timer || !this.#workers.size) return;
    this.#timer = setTimeout(() => {
      this.#polling = this.#poll()
        .catch((e: Error) => this.#o.warn(`watching workers: ${e.message}`))
        .finally(() => {
          this.#timer = undefined;
          this.#polling = undefined;
          this.#schedulePoll();
        });
    }, this.#o.pollIntervalMs);
    this.#timer.unref();
  }

  /** One look at every Deployment with claimed workers: fires onExit for the vanished and the restarted. */
  async #poll(): Promise<void> {
    const deployments = new Set([...this.#workers.values()].map((w) => w.deployment));
    for (const deployment of deployments) {
      const mark = this.#seq;
      const pods = new Map((await this.#api.listPods(await this.#selector(deployment))).map((p) => [podName(p), p]));
      if (this.#closed) return;
      for (const w of this.#workers.values()) {
        if (w.deployment !== deployment || w.seq > mark) continue;
        const pod = pods.get(w.handle.id);
        if (!pod) {
          this.#gone(w, { code: null, signal: null });
          continue;
        }
        const restarts = restartsOf(pod);
        w.ready = isReady(pod);
        if (restarts > w.restarts) {
          w.restarts = restarts;
          this.#emit({ id: w.handle.id, ...lastExitOf(pod) });
        }
      }
    }
  }

  #gone(w: Worker, how: { code: number | null; signal: string | null }): void {
    if (this.#workers.get(w.handle.id) !== w) return;
    this.#workers.delete(w.handle.id);
    this.#emit({ id: w.handle.id, ...how });
  }

  #emit(exit: WorkerExit): void {
    for (const l of this.#listeners) {
      try {
        l(exit);
      } catch (e) {
        this.#o.warn(`an onExit listener threw: ${(e as Error).message}`);
      }
    }
  }
}

const created = (pod: V1Pod): number => pod.metadata?.creationTimestamp?.getTime?.() ?? 0;
