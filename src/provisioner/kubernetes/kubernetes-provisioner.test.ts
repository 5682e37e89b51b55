// KubernetesProvisioner against the stand-in API server (src/testing/kube-api-server.ts), whose pods are REAL
// worker processes, each on its own loopback IP and the shared worker port: the provisioner conformance suite,
// the exact API calls of start and stop, two controllers scaling at once, API errors, timeouts, a wrong worker,
// a pod deleted behind the provisioner's back, and that every call is allowed by the Role in deploy/kubernetes.
// Every test ends with zero requests the stand-in rejected. Nothing here talks to a real cluster.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadAllYaml, type V1Role } from '@kubernetes/client-node';
import type { InfaasError } from '../../core/errors.ts';
import type { WorkerClass } from '../../core/types.ts';
import { startKubeApiServer, type ContainerExit, type KubeApiServer, type LaunchPod, type RecordedRequest } from '../../testing/kube-api-server.ts';
import { TcpWorkerClient } from '../../transport/worker-connection.ts';
import { TestRepo } from '../../worker/test-fixtures.ts';
import { runProvisionerConformance } from '../conformance.ts';
import type { WorkerExit, WorkerHandle } from '../provisioner.ts';
import { workerArgv } from '../worker-options.ts';
import { KubernetesProvisioner } from './kubernetes-provisioner.ts';
import type { KubernetesProvisionerOptions } from './kubernetes-options.ts';

const NS = 'infaas-test';
const DEPLOYMENT = 'infaas-worker-cpu-2';
const SELECTOR = 'app=infaas-worker,worker-class=cpu-2';
const cpu2: WorkerClass = { name: 'cpu-2', threads: 2, memoryMB: 256, pricePerHour: 0.1 };
const ENTRY = fileURLToPath(new URL('../../bin/worker-main.ts', import.meta.url));
const DEPLOY_DIR = fileURLToPath(new URL('../../../deploy/kubernetes/', import.meta.url));
const TSX = import.meta.resolve('tsx');
const repo = new TestRepo();
/** Every request every stand-in saw, for the RBAC check at the end. */
const seen: RecordedRequest[] = [];
after(() => repo.remove());

const hello = async (h: WorkerHandle, o = { timeoutMs: 10_000 }) => {
  const c = await TcpWorkerClient.connect(h.id, h.address, o);
  c.close();
  return c.hello;
};
const codeOf = (e: unknown) => (e as InfaasError).code;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** The kubelet's container runtime for the stand-in: forks a real worker with `--id <pod name>` on the pod's IP. */
function forkWorkers(port: number, idOf: (pod: string) => string): LaunchPod {
  return (pod) =>
    new Promise((resolve, reject) => {
      const args = workerArgv({ id: idOf(pod.name), workerClass: 'cpu-2', threads: 1, memoryBudgetMB: 256, repository: repo.root, listen: { host: pod.ip, port } });
      const proc = fork(ENTRY, args, { execArgv: ['--import', TSX], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let stderr = '';
      proc.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<ContainerExit>((done) => proc.once('exit', (code, signal) => done({ code, signal })));
      proc.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve({ exited, kill: (s) => void proc.kill(s) }));
      void exited.then((e) => reject(new Error(`worker of pod ${pod.name} exited during start (${e.signal ?? e.code}): ${stderr.trim().split('\n').at(-1)}`)));
    });
}

interface TestCluster {
  server: KubeApiServer;
  provisioner(over?: Partial<KubernetesProvisionerOptions>): KubernetesProvisioner;
  /** Shuts every provisioner down, kills the pods, and checks the stand-in rejected nothing (but `expected`). */
  close(expected?: (r: RecordedRequest) => boolean): Promise<void>;
}

const open = new Set<TestCluster>();
after(async () => {
  for (const c of open) await c.close(() => true);
});

async function openCluster(o: { replicas?: number; idOf?: (pod: string) => string } = {}): Promise<TestCluster> {
  const port = await freePort();
  const server = await startKubeApiServer({
    namespace: NS,
    deployments: [{ name: DEPLOYMENT, labels: { app: 'infaas-worker', 'worker-class': 'cpu-2' }, replicas: o.replicas ?? 0 }],
    launch: forkWorkers(port, o.idOf ?? ((pod) => pod)),
  });
  await server.cluster.idle();
  const made: KubernetesProvisioner[] = [];
  const c: TestCluster = {
    server,
    provisioner(over = {}) {
      const p = new KubernetesProvisioner({ namespace: NS, kubeConfig: server.kubeConfig(), hello, workerPort: port, pollIntervalMs: 50, startTimeoutMs: 20_000, stopTimeoutMs: 20_000, ...over });
      made.push(p);
      return p;
    },
    async close(expected = () => false) {
      if (!open.delete(c)) return;
      for (const p of made) await p.shutdown();
      await server.close();
      seen.push(...server.requests());
      assert.deepEqual(server.rejected().filter((r) => !expected(r)), [], 'requests the stand-in API server rejected');
    },
  };
  open.add(c);
  return c;
}

/** One line per call: verb, resource, name and what a write changed; consecutive identical lines collapse. */
function calls(log: RecordedRequest[]): string[] {
  const lines = log.map((r) => {
    const b = r.body as { spec?: { replicas?: number }; metadata?: { annotations?: Record<string, string> } } | undefined;
    const what = r.resource === 'deployments/scale' && r.verb === 'patch' ? ` replicas=${b?.spec?.replicas}`
      : r.resource === 'pods' && r.verb === 'patch' ? ` ${Object.entries(b?.metadata?.annotations ?? {}).map(([k, v]) => `${k}=${v}`).join(',')}`
      : r.verb === 'list' ? ` ${r.query.labelSelector}` : '';
    return `${r.verb} ${r.resource}${r.name ? ` ${r.name}` : ''}${what}${r.status === 200 ? '' : ` → ${r.status}`}`;
  });
  return lines.filter((l, i) => l !== lines[i - 1]);
}

runProvisionerConformance('KubernetesProvisioner (stand-in API server, real workers)', async () => {
  const c = await openCluster();
  return { provisioner: c.provisioner(), workerClass: cpu2, hello, crash: (h) => c.server.cluster.crash(h.id), cleanup: () => c.close() };
});

test('start and stop make exactly the expected API calls, retrying a scale patch refused with 409', async () => {
  const c = await openCluster({ replicas: 1 });
  const [existing] = c.server.cluster.pods.keys();
  const p = c.provisioner({ identity: 'controller-a' });
  const h = await p.start(cpu2);
  assert.notEqual(h.id, existing, 'a worker that was Ready before the scale-up is never taken');
  assert.equal(h.address, `tcp://${c.server.cluster.pods.get(h.id)!.ip}:${h.address.split(':').at(-1)}`);
  const started = c.server.requests();
  assert.deepEqual(calls(started), [
    `get deployments ${DEPLOYMENT}`,
    `list pods ${SELECTOR}`,
    `get deployments/scale ${DEPLOYMENT}`,
    `patch deployments/scale ${DEPLOYMENT} replicas=2`,
    `list pods ${SELECTOR}`,
    `patch pods ${h.id} infaas.io/claimed-by=controller-a`,
  ]);
  // Both writes are conditional on the version read, and are merge patches.
  const read = started.find((r) => r.resource === 'deployments/scale' && r.verb === 'get')!;
  const patches = started.filter((r) => r.verb === 'patch');
  assert.ok(patches.every((r) => r.contentType === 'application/merge-patch+json'));
  const readVersion = (read.response as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  assert.deepEqual(patches[0].body, { metadata: { resourceVersion: readVersion }, spec: { replicas: 2 } });
  assert.equal(typeof (patches[1].body as { metadata: { resourceVersion?: string } }).metadata.resourceVersion, 'string');

  c.server.fail({ verb: 'patch', resource: 'deployments/scale', status: 409, times: 1 });
  const mark = c.server.requests().length;
  await p.stop(h.id);
  const stopped = calls(c.server.requests().slice(mark));
  assert.deepEqual(stopped.filter((l) => !l.startsWith('list pods')), [
    `patch pods ${h.id} controller.kubernetes.io/pod-deletion-cost=-1000000`,
    `get deployments/scale ${DEPLOYMENT}`,
    `patch deployments/scale ${DEPLOYMENT} replicas=1 → 409`,
    `get deployments/scale ${DEPLOYMENT}`,
    `patch deployments/scale ${DEPLOYMENT} replicas=1`,
  ]);
  assert.equal(stopped.at(-1), `list pods ${SELECTOR}`, 'stop waits on the pod list until the pod is gone');
  assert.deepEqual([...c.server.cluster.pods.keys()], [existing], 'the ReplicaSet removed exactly the stopped pod');
  assert.equal(c.server.replicas(DEPLOYMENT), 1);
  await c.close();
});

test('two controllers starting at once: replicas = initial + 2, each with its own pod, none with the old one', async () => {
  const c = await openCluster({ replicas: 1 });
  const [existing] = c.server.cluster.pods.keys();
  const a = c.provisioner({ identity: 'controller-a' });
  const b = c.provisioner({ identity: 'controller-b' });
  const [ha, hb] = await Promise.all([a.start(cpu2), b.start(cpu2)]);
  assert.notEqual(ha.id, hb.id);
  assert.ok(![ha.id, hb.id].includes(existing));
  assert.equal(c.server.replicas(DEPLOYMENT), 3);
  assert.deepEqual(a.list(), [ha]);
  assert.deepEqual(b.list(), [hb]);
  assert.equal(c.server.cluster.pods.get(ha.id)!.annotations['infaas.io/claimed-by'], 'controller-a');
  assert.equal(c.server.cluster.pods.get(hb.id)!.annotations['infaas.io/claimed-by'], 'controller-b');
  assert.equal((await hello(ha)).id, ha.id);
  assert.equal((await hello(hb)).id, hb.id);
  await Promise.all([a.stop(ha.id), b.stop(hb.id)]);
  assert.equal(c.server.replicas(DEPLOYMENT), 1);
  assert.deepEqual([...c.server.cluster.pods.keys()], [existing]);
  await c.close();
});

test('API errors become UNAVAILABLE naming the API server, the call and the likely fix', async () => {
  const c = await openCluster();
  const p = c.provisioner();
  const api = `kubernetes API ${c.server.url}`;

  c.server.fail({ verb: 'patch', resource: 'deployments/scale', status: 403, times: 1 });
  await assert.rejects(p.start(cpu2), (e) => {
    assert.equal(codeOf(e), 'UNAVAILABLE');
    assert.match((e as Error).message, new RegExp(`^${esc(api)}: patch deployment ${NS}/${DEPLOYMENT} scale failed: 403 Forbidden: deployments.apps "${DEPLOYMENT}" is forbidden: .*\\(is the controller's ServiceAccount allowed to patch deployments/scale in namespace ${NS}\\?\\)$`));
    return true;
  });
  assert.equal(c.server.replicas(DEPLOYMENT), 0);

  // A failure after the scale-up gives the replica back.
  c.server.fail({ verb: 'list', resource: 'pods', status: 500, skip: 1, times: 1 });
  await assert.rejects(p.start(cpu2), (e) => codeOf(e) === 'UNAVAILABLE' && (e as Error).message.startsWith(`${api}: list pods ${NS}/${SELECTOR} failed: 500 InternalError`));
  assert.equal(c.server.replicas(DEPLOYMENT), 0);

  await assert.rejects(p.start({ ...cpu2, name: 'gpu-1' }), (e) =>
    codeOf(e) === 'UNAVAILABLE' && (e as Error).message === `${api}: get deployment ${NS}/infaas-worker-gpu-1 failed: 404 NotFound: deployments.apps "infaas-worker-gpu-1" not found (does the worker Deployment exist in namespace ${NS}?)`);

  await assert.rejects(c.provisioner({ kubeConfig: c.server.kubeConfig({ token: 'wrong' }) }).start(cpu2), (e) =>
    codeOf(e) === 'UNAVAILABLE' && (e as Error).message === `${api}: get deployment ${NS}/${DEPLOYMENT} failed: 401 Unauthorized (is the controller's ServiceAccount token valid?)`);

  const nowhere = c.server.kubeConfig({ server: `http://127.0.0.1:${await freePort()}` });
  await assert.rejects(c.provisioner({ kubeConfig: nowhere }).start(cpu2), (e) => codeOf(e) === 'UNAVAILABLE' && /ECONNREFUSED.*\(is the API server reachable from here\?\)$/.test((e as Error).message));

  await c.server.cluster.idle();
  assert.equal(c.server.cluster.pods.size, 0);
  await c.close((r) => r.status === 401 || r.name === 'infaas-worker-gpu-1');
});

test('a pod that never becomes Ready: UNAVAILABLE naming the deployment, namespace and pod state; the scale-up is undone', async () => {
  const c = await openCluster();
  c.server.cluster.deployments.get(DEPLOYMENT)!.hold = '0/3 nodes are available: 3 Insufficient cpu.';
  const p = c.provisioner({ startTimeoutMs: 300 });
  await assert.rejects(p.start(cpu2), (e) => {
    assert.equal(codeOf(e), 'UNAVAILABLE');
    assert.match((e as Error).message, new RegExp(`^kubernetes: no new worker of deployment ${NS}/${DEPLOYMENT} became ready within 300 ms: pod ${DEPLOYMENT}-\\w+-\\w{5} is Pending: Unschedulable \\(0/3 nodes are available: 3 Insufficient cpu\\.\\)$`));
    return true;
  });
  assert.equal(c.server.replicas(DEPLOYMENT), 0);
  await c.server.cluster.idle();
  assert.equal(c.server.cluster.pods.size, 0);
  await c.close();
});

test('a Ready pod whose worker answers hello with another id is refused and given back', async () => {
  const c = await openCluster({ idOf: () => 'not-the-pod' });
  await assert.rejects(c.provisioner().start(cpu2), (e) =>
    codeOf(e) === 'UNAVAILABLE' && new RegExp(`^kubernetes: pod ${DEPLOYMENT}-\\S+ of deployment ${NS}/${DEPLOYMENT} is Ready but its worker at tcp://127\\.0\\.0\\.2:\\d+ answers hello as "not-the-pod": run workers with --id \\$\\(POD_NAME\\)$`).test((e as Error).message));
  assert.equal(c.server.replicas(DEPLOYMENT), 0);
  await c.server.cluster.idle();
  assert.equal(c.server.cluster.pods.size, 0);
  await c.close();
});

test('a pod deleted behind its back (eviction) fires onExit; the ReplicaSet replacement is not taken', async () => {
  const c = await openCluster();
  const p = c.provisioner();
  const exits: WorkerExit[] = [];
  p.onExit((e) => exits.push(e));
  const h = await p.start(cpu2);
  await c.server.cluster.delete(c.server.cluster.pods.get(h.id)!);
  await eventually(() => exits.length > 0);
  assert.deepEqual(exits, [{ id: h.id, code: null, signal: null }]);
  assert.deepEqual(p.list(), []);
  assert.equal(c.server.replicas(DEPLOYMENT), 1);
  assert.equal(c.server.cluster.pods.size, 1);
  assert.ok(!c.server.cluster.pods.has(h.id));
  await c.close();
});

test('every call made above is allowed by the Role in deploy/kubernetes', () => {
  const docs = readdirSync(DEPLOY_DIR).filter((f) => f.endsWith('.yaml')).flatMap((f) => loadAllYaml(readFileSync(DEPLOY_DIR + f, 'utf8')));
  const role = docs.find((d): d is V1Role => d.kind === 'Role' && d.metadata?.name === 'infaas-controller');
  assert.ok(role, 'a Role infaas-controller');
  const allowed = (r: RecordedRequest) =>
    role.rules!.some((rule) => rule.apiGroups?.includes(r.group) && rule.resources?.includes(r.resource) && rule.verbs.includes(r.verb));
  const used = new Set(seen.filter((r) => r.status !== 401).map((r) => `${r.group || 'core'} ${r.resource} ${r.verb}`));
  assert.deepEqual([...used].sort(), ['apps deployments get', 'apps deployments/scale get', 'apps deployments/scale patch', 'core pods list', 'core pods patch']);
  assert.deepEqual(seen.filter((r) => r.status !== 401 && !allowed(r)).map((r) => `${r.verb} ${r.resource}`), []);
});

async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
