// The stand-in Kubernetes API server checks what it is sent (so a provisioner test that ends with no rejected
// request means something) and models a Deployment's pods like a ReplicaSet and a kubelet. Fake containers here;
// the provisioner's tests run real worker processes.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startKubeApiServer, type ContainerExit, type KubeApiServer, type PodContainer } from './kube-api-server.ts';

const NS = 'ns1';
const D = 'infaas-worker-cpu-2';
const base = `/apis/apps/v1/namespaces/${NS}/deployments/${D}`;

/** Containers that run until killed, started once `gate` resolves; `exit(name)` ends one by itself (a crash). */
function fakeRuntime(gate: Promise<void> = Promise.resolve()) {
  const launched: string[] = [];
  const signals: string[] = [];
  const running = new Map<string, (e: ContainerExit) => void>();
  return {
    launched,
    signals,
    exit: (name: string, code: number) => running.get(name)!({ code, signal: null }),
    launch: async (pod: { name: string; ip: string }): Promise<PodContainer> => {
      await gate;
      launched.push(`${pod.name}@${pod.ip}`);
      let done!: (e: ContainerExit) => void;
      const exited = new Promise<ContainerExit>((r) => (done = r));
      running.set(pod.name, done);
      return { exited, kill: (signal) => (signals.push(`${signal} ${pod.name}`), done({ code: null, signal })) };
    },
  };
}

/** A stand-in over one Deployment `D` (labels app=w), closed when the test ends however it ends. */
async function standIn(t: TestContext, replicas: number, launch: ReturnType<typeof fakeRuntime>['launch']): Promise<KubeApiServer> {
  const s = await startKubeApiServer({ namespace: NS, deployments: [{ name: D, labels: { app: 'w' }, replicas }], launch });
  t.after(() => s.close());
  await s.cluster.idle();
  return s;
}

async function call(s: KubeApiServer, method: string, path: string, o: { body?: unknown; type?: string; token?: string | null } = {}) {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (o.token !== null) headers.authorization = `Bearer ${o.token ?? s.token}`;
  if (o.body !== undefined) headers['content-type'] = o.type ?? 'application/merge-patch+json';
  const res = await fetch(s.url + path, { method, headers, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
  return { status: res.status, body: (await res.json()) as any };
}

test('requests a real API server would refuse, or the stand-in does not serve, are refused with a Status and logged', async (t) => {
  const rt = fakeRuntime();
  const s = await standIn(t, 0, rt.launch);
  const refused: Array<[number, Promise<{ status: number; body: any }>]> = [
    [401, call(s, 'GET', `${base}/scale`, { token: null })],
    [401, call(s, 'GET', `${base}/scale`, { token: 'nope' })],
    [415, call(s, 'PATCH', `${base}/scale`, { body: [{ op: 'replace', path: '/spec/replicas', value: 1 }], type: 'application/json-patch+json' })],
    [422, call(s, 'PATCH', `${base}/scale`, { body: { spec: { replicas: -1 } } })],
    [422, call(s, 'PATCH', `${base}/scale`, { body: { spec: { replicas: 1.5 } } })],
    [422, call(s, 'PATCH', `${base}/scale`, { body: { spec: { replicas: 1 }, status: { replicas: 1 } } })],
    [422, call(s, 'PATCH', `${base}/scale`, { body: { metadata: { labels: { a: 'b' } } } })],
    [422, call(s, 'PUT', `${base}/scale`, { body: { spec: { replicas: 1 } }, type: 'application/json' })],
    [404, call(s, 'GET', `/apis/apps/v1/namespaces/${NS}/deployments/other`)],
    [404, call(s, 'GET', `/apis/apps/v1/namespaces/other/deployments/${D}`)],
    [400, call(s, 'GET', `/api/v1/namespaces/${NS}/pods`)],
    [400, call(s, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%20in%20(w)`)],
    [400, call(s, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app=w&watch=true`)],
    [405, call(s, 'DELETE', `/api/v1/namespaces/${NS}/pods/p`)],
    [404, call(s, 'PATCH', `/api/v1/namespaces/${NS}/pods/p`, { body: { metadata: { annotations: { a: 'b' } } } })],
    [404, call(s, 'GET', '/api/v1/nodes')],
  ];
  for (const [status, p] of refused) {
    const r = await p;
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.kind, 'Status');
    assert.equal(r.body.code, status);
  }
  assert.equal(s.rejected().length, refused.length);
  assert.ok(s.rejected().every((r) => r.rejected));
  assert.equal(s.replicas(D), 0);
});

test('scale up creates Pending pods that turn Ready once launched; scale down deletes the lowest deletion cost first', async (t) => {
  let open!: () => void;
  const rt = fakeRuntime(new Promise((r) => (open = r)));
  const s = await startKubeApiServer({ namespace: NS, deployments: [{ name: D, labels: { app: 'w' }, replicas: 1 }], launch: rt.launch });
  t.after(() => s.close());
  const [first] = (await call(s, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app=w`)).body.items;
  assert.equal(first.status.phase, 'Pending', 'Pending until its launch resolves');
  assert.equal(first.status.conditions.find((c: any) => c.type === 'Ready').status, 'False');
  open();
  await s.cluster.idle();
  const scale = await call(s, 'GET', `${base}/scale`);
  assert.equal(scale.body.spec.replicas, 1);
  assert.equal(scale.body.status.selector, 'app=w');
  const stale = scale.body.metadata.resourceVersion;
  const put = await call(s, 'PUT', `${base}/scale`, { body: { ...scale.body, spec: { replicas: 3 } }, type: 'application/json' });
  assert.equal(put.status, 200);
  // A write conditional on the old version is a conflict, as on a real server (not a rejection).
  assert.equal((await call(s, 'PATCH', `${base}/scale`, { body: { metadata: { resourceVersion: stale }, spec: { replicas: 9 } } })).status, 409);
  const pending = await call(s, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app=w`);
  assert.equal(pending.body.items.length, 3);
  await s.cluster.idle();
  const pods = (await call(s, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dw`)).body.items;
  assert.deepEqual(rt.launched, pods.map((p: any) => `${p.metadata.name}@${p.status.podIP}`));
  assert.deepEqual(pods.map((p: any) => p.status.podIP), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  for (const p of pods) {
    assert.match(p.metadata.name, new RegExp(`^${D}-\\w{10}-\\w{5}$`));
    assert.equal(p.status.phase, 'Running');
    assert.deepEqual(p.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
  }
  const victim = pods[1].metadata.name;
  const mark = await call(s, 'PATCH', `/api/v1/namespaces/${NS}/pods/${victim}`, {
    body: { metadata: { annotations: { 'controller.kubernetes.io/pod-deletion-cost': '-1000000' } } }, type: 'application/strategic-merge-patch+json',
  });
  assert.equal(mark.status, 200);
  assert.equal((await call(s, 'PATCH', `/api/v1/namespaces/${NS}/pods/${victim}`, { body: { metadata: { annotations: { 'controller.kubernetes.io/pod-deletion-cost': 'x' } } } })).status, 422);
  assert.equal((await call(s, 'PATCH', `${base}/scale`, { body: { spec: { replicas: 2 } } })).status, 200);
  await s.cluster.idle();
  assert.deepEqual(rt.signals, [`SIGTERM ${victim}`]);
  assert.deepEqual([...s.cluster.pods.keys()], [pods[0].metadata.name, pods[2].metadata.name]);
  assert.equal(s.rejected().length, 1);
});

test('a container that exits by itself is restarted in the same pod with restartCount + 1', async (t) => {
  const rt = fakeRuntime();
  const s = await standIn(t, 1, rt.launch);
  const [name] = s.cluster.pods.keys();
  rt.exit(name, 137);
  await s.cluster.idle();
  const [pod] = (await call(s, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app=w`)).body.items;
  assert.equal(pod.metadata.name, name);
  assert.equal(pod.status.containerStatuses[0].restartCount, 1);
  assert.equal(pod.status.containerStatuses[0].lastState.terminated.exitCode, 137);
  assert.equal(pod.status.containerStatuses[0].ready, true);
  assert.deepEqual(rt.launched, [`${name}@127.0.0.2`, `${name}@127.0.0.2`]);
  assert.deepEqual(s.rejected(), []);
});
