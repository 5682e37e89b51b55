// Test kit, the cluster behind the stand-in Kubernetes API server (kube-api-server.ts): Deployments whose
// ReplicaSet creates and deletes pods as spec.replicas changes, and a kubelet that runs each pod's container
// through a `launch` callback (the test forks a real worker process on the pod's own loopback IP), reports
// the pod Pending until the launch resolves and Running + Ready after, and restarts a container that exits
// by itself under the same pod name with restartCount + 1. Scale-down picks its victims like the real
// ReplicaSet controller: unscheduled, Pending and not-Ready pods first, then the lowest
// `controller.kubernetes.io/pod-deletion-cost`, then the most recently Ready, most restarted, newest.

import { randomUUID } from 'node:crypto';
import { constants } from 'node:os';

export interface StandInPod {
  readonly name: string;
  /** Its own loopback address (127.0.0.2, 127.0.0.3, …): every pod listens on the same port, as real pods do. */
  readonly ip: string;
  readonly deployment: string;
}

export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running container, as `launch` hands it over. */
export interface PodContainer {
  /** Settles when the process has ended. */
  readonly exited: Promise<ContainerExit>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the pod's container; resolves once it is ready (the kubelet's readiness probe passed). */
export type LaunchPod = (pod: StandInPod) => Promise<PodContainer>;

export interface StandInDeployment {
  name: string;
  /** The selector's matchLabels, which are also the pod template's labels. */
  labels: Record<string, string>;
  /** Initial spec.replicas (default 0). */
  replicas?: number;
}

export interface ClusterOptions {
  namespace: string;
  deployments: StandInDeployment[];
  launch: LaunchPod;
  /** How long a pod being deleted has between SIGTERM and SIGKILL (default 5 s). */
  graceMs?: number;
  /** The last byte-triple of the first pod IP, counted up from there (default 2: 127.0.0.2). */
  firstIp?: number;
}

export interface PodModel {
  name: string;
  uid: string;
  ip: string;
  deployment: DeploymentModel;
  annotations: Record<string, string>;
  created: string;
  resourceVersion: string;
  scheduled: boolean;
  running: boolean;
  ready: boolean;
  readySince: number;
  restartCount: number;
  lastTerminated?: { exitCode: number; reason: string };
  waiting?: { reason: string; message?: string };
  deleting?: string;
  container?: PodContainer;
  launching?: Promise<void>;
}

export interface DeploymentModel {
  name: string;
  uid: string;
  hash: string;
  labels: Record<string, string>;
  replicas: number;
  resourceVersion: string;
  created: string;
  /** Set: new pods stay Pending, unschedulable, with this message. */
  hold?: string;
}

const ALPHANUM = 'bcdfghjklmnpqrstvwxz2456789';
const rand = (n: number) => Array.from({ length: n }, () => ALPHANUM[Math.floor(Math.random() * ALPHANUM.length)]).join('');
export const timestamp = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const COST = 'controller.kubernetes.io/pod-deletion-cost';

export class StandInCluster {
  readonly namespace: string;
  readonly deployments = new Map<string, DeploymentModel>();
  readonly pods = new Map<string, PodModel>();
  readonly #o: ClusterOptions;
  readonly #busy = new Set<Promise<unknown>>();
  #rv = 1000;
  #nextIp: number;
  #closed = false;
  #reconciling = false;

  constructor(o: ClusterOptions) {
    this.#o = o;
    this.namespace = o.namespace;
    this.#nextIp = o.firstIp ?? 2;
    for (const d of o.deployments) {
      const model: DeploymentModel = { name: d.name, uid: randomUUID(), hash: rand(10), labels: { ...d.labels }, replicas: d.replicas ?? 0, resourceVersion: '', created: timestamp() };
      this.touch(model);
      this.deployments.set(d.name, model);
    }
    for (const d of this.deployments.values()) this.reconcile(d);
  }

  /** A new resourceVersion for an object that changed. */
  touch(o: { resourceVersion: string }): void {
    o.resourceVersion = String(++this.#rv);
  }

  podsOf(d: DeploymentModel): PodModel[] {
    return [...this.pods.values()].filter((p) => p.deployment === d);
  }

  setReplicas(d: DeploymentModel, replicas: number): void {
    if (d.replicas === replicas) return;
    d.replicas = replicas;
    this.touch(d);
    this.reconcile(d);
  }

  /** The ReplicaSet controller: creates or deletes pods until the active ones match spec.replicas. */
  reconcile(d: DeploymentModel): void {
    if (this.#closed || this.#reconciling) return;
    this.#reconciling = true;
    const active = this.podsOf(d).filter((p) => !p.deleting);
    for (let i = active.length; i < d.replicas; i++) this.#create(d);
    if (active.length > d.replicas) for (const p of active.sort(deleteFirst).slice(0, active.length - d.replicas)) void this.delete(p);
    this.#reconciling = false;
  }

  /**
   * Deletes a pod (SIGTERM, SIGKILL after the grace period), as the ReplicaSet does on a scale-down or someone
   * does by hand (an eviction, `kubectl delete pod`): then the ReplicaSet creates a replacement at once.
   * Resolves once the pod is gone and any replacement has been launched.
   */
  delete(p: PodModel): Promise<void> {
    if (!p.deleting) {
      p.deleting = timestamp();
      p.ready = false;
      this.touch(p);
      this.touch(p.deployment);
      this.#track(this.#terminate(p));
      this.reconcile(p.deployment);
    }
    return this.idle();
  }

  /** SIGKILLs the pod's container as a crash would; resolves once the kubelet has noted the exit (and relaunches it). */
  async crash(name: string): Promise<void> {
    const c = this.pods.get(name)?.container;
    if (!c) throw new Error(`stand-in: pod ${name} has no running container to crash`);
    c.kill('SIGKILL');
    await c.exited;
  }

  /** Resolves once no pod is being launched or deleted. */
  async idle(): Promise<void> {
    while (this.#busy.size) await Promise.allSettled([...this.#busy]);
  }

  /** Kills every container at once and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.pods.values()) {
      p.deleting ??= timestamp();
      p.container?.kill('SIGKILL');
    }
    await this.idle();
    for (const p of this.pods.values()) p.container?.kill('SIGKILL');
    await Promise.allSettled([...this.pods.values()].map((p) => p.container?.exited));
    this.pods.clear();
  }

  #create(d: DeploymentModel): void {
    const ip = this.#nextIp++;
    const p: PodModel = {
      name: `${d.name}-${d.hash}-${rand(5)}`, uid: randomUUID(), ip: `127.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}`, deployment: d,
      annotations: {}, created: timestamp(), resourceVersion: '', scheduled: !d.hold, running: false, ready: false, readySince: 0, restartCount: 0,
      waiting: d.hold ? undefined : { reason: 'ContainerCreating' },
    };
    this.touch(p);
    this.touch(d);
    this.pods.set(p.name, p);
    if (p.scheduled) this.#run(p);
  }

  /** The kubelet: starts the container; when it exits by itself, counts a restart and starts it again. */
  #run(p: PodModel): void {
    const pod: StandInPod = { name: p.name, ip: p.ip, deployment: p.deployment.name };
    p.launching = this.#track(
      this.#o.launch(pod).then(
        (c) => {
          p.container = c;
          if (p.deleting || this.#closed) return;
          Object.assign(p, { running: true, ready: true, readySince: Date.now(), waiting: undefined });
          this.touch(p);
          this.touch(p.deployment);
          void c.exited.then((exit) => {
            if (p.deleting || this.#closed || p.container !== c) return;
            const signo = exit.signal ? (constants.signals[exit.signal] ?? 9) : 0;
            Object.assign(p, { ready: false, container: undefined, restartCount: p.restartCount + 1 });
            p.lastTerminated = { exitCode: exit.code ?? 128 + signo, reason: 'Error' };
            this.touch(p);
            this.touch(p.deployment);
            this.#run(p);
          });
        },
        (e: Error) => {
          p.waiting = { reason: 'CrashLoopBackOff', message: e.message };
          this.touch(p);
        },
      ),
    );
  }

  async #terminate(p: PodModel): Promise<void> {
    await p.launching;
    const c = p.container;
    if (c) {
      c.kill('SIGTERM');
      const force = setTimeout(() => c.kill('SIGKILL'), this.#o.graceMs ?? 5000);
      await c.exited;
      clearTimeout(force);
    }
    this.pods.delete(p.name);
    this.touch(p.deployment);
  }

  #track<T>(work: Promise<T>): Promise<void> {
    const done = work.then(() => undefined, () => undefined);
    this.#busy.add(done);
    void done.then(() => this.#busy.delete(done));
    return done;
  }
}

/** The real ReplicaSet controller's order of pods to delete (pkg/controller: ActivePodsWithRanks), first first. */
function deleteFirst(a: PodModel, b: PodModel): number {
  const cost = (p: PodModel) => Number(p.annotations[COST] ?? 0);
  return (
    Number(a.scheduled) - Number(b.scheduled) ||
    Number(a.running) - Number(b.running) ||
    Number(a.ready) - Number(b.ready) ||
    cost(a) - cost(b) ||
    b.readySince - a.readySince ||
    b.restartCount - a.restartCount ||
    b.created.localeCompare(a.created)
  );
}
