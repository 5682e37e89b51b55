// Test kit: a stand-in Kubernetes API server (plain node:http, JSON) for the Kubernetes provisioner. It serves
// exactly the endpoints the provisioner uses, over the cluster model of kube-replica-set.ts (pods are real worker
// processes the test launches), and CHECKS every request the way the real API server would, and stricter:
//   bearer token · Accept · PATCH Content-Type (merge or strategic merge patch JSON) · the body's shape (a scale
//   patch sets only spec.replicas, a non-negative integer, and optionally metadata.resourceVersion; a pod patch
//   sets only annotations, with a 32-bit integer pod-deletion-cost) · known namespace, Deployment and pod ·
//   a labelSelector on every pod list (the provisioner must never list the whole namespace).
// Anything else is answered with the real server's Status object (4xx) and logged in `rejected()`, which tests
// assert is empty. A write with a stale metadata.resourceVersion gets 409 Conflict, as on a real server (that is
// not a rejection). `fail()` makes chosen calls fail (403, 409, 500) to test error handling.
//
// Endpoints:
//   GET|PATCH|PUT /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale
//   GET           /apis/apps/v1/namespaces/{ns}/deployments/{name}
//   GET           /api/v1/namespaces/{ns}/pods?labelSelector=k=v,…
//   PATCH         /api/v1/namespaces/{ns}/pods/{name}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { StandInCluster, timestamp, type ClusterOptions, type DeploymentModel, type PodModel } from './kube-replica-set.ts';

export type { ContainerExit, LaunchPod, PodContainer, StandInDeployment, StandInPod } from './kube-replica-set.ts';

export interface KubeApiServerOptions extends ClusterOptions {
  /** The bearer token every request must carry (default: a fixed test token). */
  token?: string;
}

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: unknown;
  /** RBAC terms: verb (get, list, patch, update), API group ('' or 'apps') and resource ('pods', 'deployments/scale', …). */
  verb: string;
  group: string;
  resource: string;
  /** The object named in the path, if any. */
  name?: string;
  status: number;
  /** What it answered (the object, or a Status). */
  response?: unknown;
  /** Why the stand-in refused it, when the client did something a real server (or this stricter one) refuses. */
  rejected?: string;
  /** Failed on purpose by `fail()`. */
  injected?: boolean;
}

/** Makes calls matching `verb` + `resource` fail with `status`: after `skip` of them pass, `times` times (default: every time). */
export interface InjectedFailure {
  verb: string;
  resource: string;
  status: 403 | 409 | 500;
  skip?: number;
  times?: number;
}

export interface KubeApiServer {
  readonly url: string;
  readonly token: string;
  readonly cluster: StandInCluster;
  /**
   * A KubeConfig pointing at this server with its token (plain HTTP, so skipTLSVerify, which client-node requires
   * for http: URLs); `over` swaps the server URL or the token (to test a wrong one).
   */
  kubeConfig(over?: { server?: string; token?: string }): KubeConfig;
  requests(): RecordedRequest[];
  rejected(): RecordedRequest[];
  fail(f: InjectedFailure): void;
  /** spec.replicas of a Deployment. */
  replicas(deployment: string): number;
  /** Stops serving and kills every pod's container. */
  close(): Promise<void>;
}

const TOKEN = 'stand-in-token';
const REASONS: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 406: 'NotAcceptable', 409: 'Conflict', 415: 'UnsupportedMediaType', 422: 'Invalid', 500: 'InternalError' };
const MERGE_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];
const QUALIFIED = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

class Refusal extends Error {
  constructor(readonly status: number, message: string, readonly legit = false) {
    super(message);
  }
}
const refuse = (status: number, message: string): never => {
  throw new Refusal(status, message);
};

interface Route {
  group: string;
  resource: string;
  ns: string;
  name?: string;
}

function route(path: string): Route | undefined {
  let m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)(\/scale)?$/.exec(path);
  if (m) return { group: 'apps', resource: m[3] ? 'deployments/scale' : 'deployments', ns: m[1], name: m[2] };
  m = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/.exec(path);
  if (m) return { group: '', resource: 'pods', ns: m[1], name: m[2] };
  return undefined;
}

const VERBS: Record<string, Record<string, string>> = {
  'deployments/scale': { GET: 'get', PATCH: 'patch', PUT: 'update' },
  deployments: { GET: 'get' },
  'pods/': { GET: 'list' },
  'pods/name': { PATCH: 'patch' },
};

export async function startKubeApiServer(opts: KubeApiServerOptions): Promise<KubeApiServer> {
  const token = opts.token ?? TOKEN;
  const cluster = new StandInCluster(opts);
  const log: RecordedRequest[] = [];
  const failures: InjectedFailure[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')));
  });

  function answer(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const r = route(url.pathname);
    const method = req.method ?? '';
    const rec: RecordedRequest = {
      method, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType: req.headers['content-type'], verb: '?', group: r?.group ?? '?', resource: r?.resource ?? '?',
      ...(r?.name ? { name: r.name } : {}), status: 0,
    };
    log.push(rec);
    let result: unknown;
    try {
      if (!r) refuse(404, `the server could not find the requested resource (the stand-in serves only the provisioner's endpoints, not ${method} ${url.pathname})`);
      const verb = VERBS[r!.resource === 'pods' ? (r!.name ? 'pods/name' : 'pods/') : r!.resource]?.[method];
      if (!verb) refuse(405, `${method} is not supported on ${url.pathname} by the stand-in`);
      rec.verb = verb!;
      if (req.headers.authorization !== `Bearer ${token}`) refuse(401, 'Unauthorized');
      const accept = req.headers.accept ?? '*/*';
      if (!/application\/json|\*\/\*/.test(accept)) refuse(406, `the stand-in answers only application/json, not "${accept}"`);
      if (raw) {
        try {
          rec.body = JSON.parse(raw);
        } catch {
          refuse(400, `the request body is not JSON: ${raw.slice(0, 100)}`);
        }
      }
      if (r!.ns !== cluster.namespace) refuse(404, `namespaces "${r!.ns}" not found`);
      const injected = failures.find((f) => f.verb === verb && f.resource === r!.resource && (f.times ?? Infinity) > 0 && !(f.skip && f.skip-- > 0));
      if (injected) {
        injected.times = (injected.times ?? Infinity) - 1;
        rec.injected = true;
        throw new Refusal(injected.status, injectedMessage(injected.status, verb!, r!, cluster.namespace), true);
      }
      result = handle(method, r!, url.searchParams, rec.contentType, rec.body);
      rec.status = 200;
    } catch (err) {
      const e = err instanceof Refusal ? err : new Refusal(500, `the stand-in failed: ${(err as Error).message}`);
      rec.status = e.status;
      if (!e.legit) rec.rejected = e.message;
      result = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: REASONS[e.status] ?? 'Unknown', code: e.status };
    }
    rec.response = result;
    res.writeHead(rec.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
  }

  function handle(method: string, r: Route, q: URLSearchParams, contentType: string | undefined, body: unknown): unknown {
    if (r.resource === 'pods' && !r.name) return listPods(q);
    if (method === 'GET' && [...q.keys()].length) refuse(400, `the stand-in accepts no query parameters here, got ${q}`);
    if (method !== 'GET' && !body) refuse(400, 'a write needs a body');
    if (method === 'GET' && body !== undefined) refuse(400, 'a GET has no body');
    if (r.resource === 'pods') return patchPod(r.name!, contentType, body);
    const d = cluster.deployments.get(r.name!) ?? refuse(404, `deployments.apps "${r.name}" not found`);
    if (r.resource === 'deployments') return deploymentJson(d);
    if (method === 'GET') return scaleJson(d);
    if (method === 'PATCH') {
      if (!MERGE_TYPES.includes(baseType(contentType))) refuse(415, `the stand-in accepts only ${MERGE_TYPES.join(' or ')} for a patch, got "${contentType}"`);
      const p = shape(body, { metadata: { resourceVersion: 'string' }, spec: { replicas: 'replicas' } }, 'scale patch');
      if (p.spec?.replicas === undefined) refuse(422, 'a scale patch must set spec.replicas');
      return writeScale(d, p.spec.replicas, p.metadata?.resourceVersion);
    }
    if (baseType(contentType) !== 'application/json') refuse(415, `an update takes application/json, got "${contentType}"`);
    const s = shape(body, {
      apiVersion: 'string', kind: 'string', metadata: { name: 'string', namespace: 'string', uid: 'string', resourceVersion: 'string', creationTimestamp: 'string' },
      spec: { replicas: 'replicas' }, status: { replicas: 'replicas', selector: 'string' },
    }, 'Scale');
    if (s.apiVersion !== 'autoscaling/v1' || s.kind !== 'Scale' || s.metadata?.name !== d.name || s.spec?.replicas === undefined) {
      refuse(422, `an update of ${d.name}/scale takes an autoscaling/v1 Scale named ${d.name} with spec.replicas`);
    }
    return writeScale(d, s.spec.replicas, s.metadata?.resourceVersion);
  }

  function writeScale(d: DeploymentModel, replicas: number, rv: string | undefined): unknown {
    if (rv !== undefined && rv !== d.resourceVersion) conflict(`deployments.apps "${d.name}"`);
    cluster.setReplicas(d, replicas);
    return scaleJson(d);
  }

  function listPods(q: URLSearchParams): unknown {
    const extra = [...q.keys()].filter((k) => k !== 'labelSelector');
    if (extra.length) refuse(400, `the stand-in supports only labelSelector on a pod list, got ${extra.join(', ')}`);
    const sel = q.get('labelSelector') ?? refuse(400, 'the stand-in requires a labelSelector on every pod list (the provisioner must never list the whole namespace)');
    const want = sel.split(',').map((term) => /^([^=!,\s]+)==?([^=!,\s]*)$/.exec(term) ?? refuse(400, `unable to parse requirement "${term}" of labelSelector "${sel}" (the stand-in takes k=v terms)`));
    const items = [...cluster.pods.values()].filter((p) => want.every(([, k, v]) => p.deployment.labels[k] === v)).sort((a, b) => a.created.localeCompare(b.created));
    return { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(Math.max(0, ...[...cluster.pods.values()].map((p) => Number(p.resourceVersion)))) }, items: items.map(podJson) };
  }

  function patchPod(name: string, contentType: string | undefined, body: unknown): unknown {
    if (!MERGE_TYPES.includes(baseType(contentType))) refuse(415, `the stand-in accepts only ${MERGE_TYPES.join(' or ')} for a patch, got "${contentType}"`);
    const p = shape(body, { metadata: { annotations: 'annotations', resourceVersion: 'string' } }, 'pod patch');
    const pod = cluster.pods.get(name) ?? refuse(404, `pods "${name}" not found`);
    if (p.metadata?.resourceVersion !== undefined && p.metadata.resourceVersion !== pod.resourceVersion) conflict(`pods "${name}"`);
    for (const [k, v] of Object.entries((p.metadata?.annotations ?? {}) as Record<string, string | null>)) {
      if (v === null) delete pod.annotations[k];
      else pod.annotations[k] = v;
    }
    cluster.touch(pod);
    return podJson(pod);
  }

  function deploymentJson(d: DeploymentModel): unknown {
    const pods = cluster.podsOf(d).filter((p) => !p.deleting);
    return {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: d.name, namespace: cluster.namespace, uid: d.uid, resourceVersion: d.resourceVersion, generation: 1, creationTimestamp: d.created, labels: d.labels },
      spec: {
        replicas: d.replicas, selector: { matchLabels: d.labels },
        template: { metadata: { labels: d.labels }, spec: { containers: [{ name: 'worker', image: 'infaas-ts:latest' }] } },
      },
      status: { observedGeneration: 1, replicas: pods.length, updatedReplicas: pods.length, readyReplicas: pods.filter((p) => p.ready).length, availableReplicas: pods.filter((p) => p.ready).length },
    };
  }

  function scaleJson(d: DeploymentModel): unknown {
    return {
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name: d.name, namespace: cluster.namespace, uid: d.uid, resourceVersion: d.resourceVersion, creationTimestamp: d.created },
      spec: { replicas: d.replicas },
      status: { replicas: cluster.podsOf(d).filter((p) => !p.deleting).length, selector: Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(',') },
    };
  }

  function podJson(p: PodModel): unknown {
    const d = p.deployment;
    const cond = (type: string, ok: boolean, extra: object = {}) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: p.created, ...extra });
    const state = p.running && p.container ? { running: { startedAt: p.created } }
      : p.waiting ? { waiting: p.waiting }
      : p.lastTerminated ? { terminated: { ...p.lastTerminated, finishedAt: timestamp() } }
      : undefined;
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: p.name, generateName: `${d.name}-${d.hash}-`, namespace: cluster.namespace, uid: p.uid, resourceVersion: p.resourceVersion, creationTimestamp: p.created,
        labels: { ...d.labels, 'pod-template-hash': d.hash }, annotations: { ...p.annotations }, ...(p.deleting ? { deletionTimestamp: p.deleting, deletionGracePeriodSeconds: 10 } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${d.name}-${d.hash}`, uid: d.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { containers: [{ name: 'worker', image: 'infaas-ts:latest' }] },
      status: {
        phase: p.running ? 'Running' : 'Pending',
        ...(p.scheduled ? { podIP: p.ip, podIPs: [{ ip: p.ip }], hostIP: '127.0.0.1' } : {}),
        conditions: [
          cond('PodScheduled', p.scheduled, p.scheduled ? {} : { reason: 'Unschedulable', message: d.hold }),
          cond('ContainersReady', p.ready),
          cond('Ready', p.ready, p.ready ? {} : { reason: 'ContainersNotReady' }),
        ],
        ...(p.scheduled
          ? { containerStatuses: [{ name: 'worker', image: 'infaas-ts:latest', imageID: '', ready: p.ready, started: p.running, restartCount: p.restartCount, ...(state ? { state } : {}), lastState: p.lastTerminated ? { terminated: { ...p.lastTerminated, finishedAt: timestamp() } } : {} }] }
          : {}),
      },
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    token,
    cluster,
    kubeConfig(over = {}) {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'stand-in', server: over.server ?? url, skipTLSVerify: true }],
        users: [{ name: 'infaas-controller', token: over.token ?? token }],
        contexts: [{ name: 'stand-in', cluster: 'stand-in', user: 'infaas-controller', namespace: cluster.namespace }],
        currentContext: 'stand-in',
      });
      return kc;
    },
    requests: () => log.map((r) => ({ ...r })),
    rejected: () => log.filter((r) => r.rejected).map((r) => ({ ...r })),
    fail: (f) => void failures.push({ ...f }),
    replicas: (name) => cluster.deployments.get(name)?.replicas ?? NaN,
    async close() {
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cluster.close();
    },
  };
}

function conflict(what: string): never {
  throw new Refusal(409, `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`, true);
}

function injectedMessage(status: number, verb: string, r: Route, ns: string): string {
  if (status === 403) {
    const resource = r.resource.split('/')[0];
    return `${resource}${r.group ? `.${r.group}` : ''} "${r.name ?? ''}" is forbidden: User "system:serviceaccount:${ns}:infaas-controller" cannot ${verb} resource "${r.resource}" in API group "${r.group}" in the namespace "${ns}"`;
  }
  if (status === 409) return `Operation cannot be fulfilled on ${r.resource} "${r.name}": the object has been modified; please apply your changes to the latest version and try again`;
  return 'Internal error occurred: the stand-in was told to fail this call';
}

const baseType = (ct: string | undefined) => (ct ?? '').split(';')[0].trim().toLowerCase();

type Shape = { [k: string]: Shape | 'string' | 'replicas' | 'annotations' };

/** Checks `body` has only the fields of `spec` with the right types; returns it typed loosely. */
function shape(body: unknown, spec: Shape, what: string, path = ''): any {
  if (!body || typeof body !== 'object' || Array.isArray(body)) refuse(422, `${what}: ${path || 'the body'} must be an object`);
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    const want = spec[k];
    const at = path ? `${path}.${k}` : k;
    if (!want) refuse(422, `${what}: field ${at} is not allowed here (the stand-in accepts only ${Object.keys(spec).map((s) => (path ? `${path}.${s}` : s)).join(', ')})`);
    if (want === 'string') {
      if (typeof v !== 'string') refuse(422, `${what}: ${at} must be a string`);
    } else if (want === 'replicas') {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 1000) refuse(422, `${what}: ${at}: Invalid value: ${JSON.stringify(v)}: must be a non-negative integer (at most 1000 in the stand-in)`);
    } else if (want === 'annotations') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) refuse(422, `${what}: ${at} must be an object`);
      for (const [ak, av] of Object.entries(v as Record<string, unknown>)) {
        if (!QUALIFIED.test(ak)) refuse(422, `${what}: ${at}: Invalid value: "${ak}": not a qualified name`);
        if (av !== null && typeof av !== 'string') refuse(422, `${what}: ${at}[${ak}] must be a string`);
        if (ak === 'controller.kubernetes.io/pod-deletion-cost' && av !== null && !(/^-?\d+$/.test(av as string) && Number(av) >= -(2 ** 31) && Number(av) < 2 ** 31)) {
          refuse(422, `${what}: ${at}[${ak}]: Invalid value: "${av}": must be a 32bit integer`);
        }
      }
    } else {
      shape(v, want, what, at);
    }
  }
  return body;
}
