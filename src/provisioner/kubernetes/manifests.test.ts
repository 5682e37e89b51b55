// The manifests in deploy/kubernetes, checked without a cluster: every document validates against the Kubernetes
// schema of its apiVersion/kind (kubernetes-models), has no field the typed client drops (a misspelt field is
// otherwise accepted silently: the schemas allow unknown fields and client-node's loadAllYaml discards them),
// and the objects fit together (Services ↔ pod labels and ports, probes ↔ container ports, ServiceAccount ↔
// Role ↔ RoleBinding, worker Deployment names ↔ the provisioner's naming, env references, the Secret example).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { defaultDeploymentName } from './kubernetes-options.ts';

const DIR = fileURLToPath(new URL('../../../deploy/kubernetes/', import.meta.url));
/** The YAML parser client-node itself uses, for the documents exactly as written. */
const yaml = createRequire(import.meta.resolve('@kubernetes/client-node'))('js-yaml') as { loadAll(text: string): unknown[] };

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
};

interface Doc {
  where: string;
  raw: any;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const texts = new Map(files.map((f) => [f, readFileSync(DIR + f, 'utf8')]));
const docs: Doc[] = files.flatMap((f) => yaml.loadAll(texts.get(f)!).filter((d) => d != null).map((raw: any, i) => ({ where: `${f} #${i + 1} (${raw?.kind} ${raw?.metadata?.name})`, raw })));
const all = (kind: string) => docs.filter((d) => d.raw.kind === kind).map((d) => d.raw);
const deployments = all('Deployment');
const containersOf = (d: any): any[] => d.spec.template.spec.containers;
const subset = (sel: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(sel).every(([k, v]) => labels[k] === v);
/** A probe's or Service's port (number or name) matches one of the container's ports. */
const portMatches = (port: unknown, c: any) => (c.ports ?? []).some((p: any) => p.containerPort === port || (p.name !== undefined && p.name === port));

test('deploy/kubernetes holds the expected objects', () => {
  assert.deepEqual(files, ['00-namespace.yaml', '10-redis.yaml', '20-rbac.yaml', '30-controller.yaml', '40-worker-cpu-2.yaml']);
  assert.deepEqual(docs.map((d) => `${d.raw.kind}/${d.raw.metadata.name}`).sort(), [
    'Deployment/infaas-controller', 'Deployment/infaas-redis', 'Deployment/infaas-worker-cpu-2', 'Namespace/infaas',
    'PersistentVolumeClaim/infaas-redis-data', 'Role/infaas-controller', 'RoleBinding/infaas-controller', 'Service/infaas', 'Service/infaas-redis',
    'ServiceAccount/infaas-controller',
  ]);
});

test('every document validates against the Kubernetes schema of its apiVersion/kind', () => {
  for (const { where, raw } of docs) {
    const Model = MODELS[`${raw.apiVersion}/${raw.kind}`];
    assert.ok(Model, `${where}: no schema for ${raw.apiVersion} ${raw.kind} in this test; add its kubernetes-models class`);
    assert.doesNotThrow(() => new Model(raw).validate(), `${where} does not validate`);
  }
  // The validation does catch mistakes: a wrong type fails.
  const broken = structuredClone(deployments[0]);
  broken.spec.replicas = 'two';
  assert.throws(() => new Deployment(broken).validate(), /replicas must be integer/);
});

test('no document has a field the Kubernetes types do not know (a misspelt field would be dropped silently)', () => {
  for (const [f, text] of texts) {
    const typed = JSON.parse(JSON.stringify(loadAllYaml(text).filter((d) => d != null)));
    const raw = yaml.loadAll(text).filter((d) => d != null);
    assert.equal(typed.length, raw.length);
    raw.forEach((doc, i) => assert.deepEqual(dropped(doc, typed[i]), [], `${f} #${i + 1}: fields unknown to the Kubernetes types`));
  }
  assert.deepEqual(dropped({ spec: { replicaz: 1 } }, { spec: {} }), ['spec.replicaz']);
});

/** Paths present in `raw` and missing from `typed`. */
function dropped(raw: unknown, typed: unknown, path = ''): string[] {
  if (Array.isArray(raw)) return raw.flatMap((v, i) => dropped(v, (typed as unknown[] | undefined)?.[i], `${path}[${i}]`));
  if (!raw || typeof raw !== 'object') return [];
  return Object.entries(raw).flatMap(([k, v]) => {
    const at = path ? `${path}.${k}` : k;
    const t = (typed as Record<string, unknown> | undefined)?.[k];
    return t === undefined && v !== undefined ? [at] : dropped(v, t, at);
  });
}

test('namespaced objects are in the namespace infaas, which the first file creates', () => {
  assert.deepEqual(yaml.loadAll(texts.get(files[0])!).map((d: any) => `${d.kind}/${d.metadata.name}`), ['Namespace/infaas']);
  for (const { where, raw } of docs) if (raw.kind !== 'Namespace') assert.equal(raw.metadata.namespace, 'infaas', where);
});

test('each Deployment selects its own pods, and each Service selects a Deployment\'s pods on a port they expose', () => {
  for (const d of deployments) assert.ok(subset(d.spec.selector.matchLabels, d.spec.template.metadata.labels), `${d.metadata.name}: selector does not match its pod labels`);
  for (const s of all('Service')) {
    const target = deployments.filter((d) => subset(s.spec.selector, d.spec.template.metadata.labels));
    assert.equal(target.length, 1, `Service ${s.metadata.name} selects the pods of exactly one Deployment`);
    for (const p of s.spec.ports) {
      assert.ok(containersOf(target[0]).some((c) => portMatches(p.targetPort ?? p.port, c)), `Service ${s.metadata.name} port ${p.port} → ${p.targetPort}: no such container port`);
    }
  }
  const byName = (n: string) => all('Service').find((s) => s.metadata.name === n);
  assert.equal(byName('infaas').spec.ports[0].port, 8080);
  assert.equal(byName('infaas-redis').spec.ports[0].port, 6379);
});

test('every container has readiness and liveness probes, on ports it exposes', () => {
  for (const d of deployments) {
    for (const c of containersOf(d)) {
      const where = `${d.metadata.name}/${c.name}`;
      for (const kind of ['readinessProbe', 'livenessProbe']) {
        const probe = c[kind];
        assert.ok(probe, `${where} has no ${kind}`);
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
        if (port !== undefined) assert.ok(portMatches(port, c), `${where} ${kind} probes port ${port}, which the container does not expose`);
        else assert.ok(probe.exec?.command?.length, `${where} ${kind} has no handler`);
      }
    }
  }
  const controller = containersOf(deployments.find((d) => d.metadata.name === 'infaas-controller'))[0];
  assert.equal(controller.readinessProbe.httpGet.path, '/v1/health');
  assert.equal(controller.livenessProbe.httpGet.path, '/v1/health');
  const redis = containersOf(deployments.find((d) => d.metadata.name === 'infaas-redis'))[0];
  assert.match(redis.readinessProbe.exec.command.join(' '), /redis-cli ping/);
  assert.match(redis.livenessProbe.exec.command.join(' '), /redis-cli ping/);
});

test('the controllers run as a ServiceAccount bound to the Role the Kubernetes provisioner needs', () => {
  const controller = deployments.find((d) => d.metadata.name === 'infaas-controller');
  const account = controller.spec.template.spec.serviceAccountName;
  assert.equal(account, 'infaas-controller');
  assert.ok(all('ServiceAccount').some((a) => a.metadata.name === account), `ServiceAccount ${account} exists`);
  const [binding] = all('RoleBinding');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: account, namespace: 'infaas' }]);
  assert.equal(binding.roleRef.kind, 'Role');
  const role = all('Role').find((r) => r.metadata.name === binding.roleRef.name);
  assert.ok(role, `Role ${binding.roleRef.name} exists`);
  const can = (group: string, resource: string, verb: string) =>
    role.rules.some((r: any) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
  for (const [g, r, v] of [['apps', 'deployments', 'get'], ['apps', 'deployments/scale', 'get'], ['apps', 'deployments/scale', 'patch'], ['', 'pods', 'list'], ['', 'pods', 'patch']]) {
    assert.ok(can(g, r, v), `the Role allows ${v} ${r}`);
  }
  assert.ok(!can('apps', 'deployments', 'patch') && !can('', 'pods', 'delete'), 'and no more than it needs');
});

test('worker Deployments are named as the provisioner expects and run the worker with the pod\'s name and IP', () => {
  const workers = deployments.filter((d) => d.spec.template.metadata.labels.app === 'infaas-worker');
  assert.equal(workers.length, 1);
  for (const d of workers) {
    const cls = d.spec.template.metadata.labels['worker-class'];
    assert.equal(d.metadata.name, defaultDeploymentName(cls));
    assert.ok(subset({ app: 'infaas-worker', 'worker-class': cls }, d.spec.selector.matchLabels));
    const [c] = containersOf(d);
    assert.deepEqual([...c.command, ...c.args], [
      'node', 'bin/infaas.mjs', 'worker', '--metadata', 'redis://infaas-redis:6379/0', '--listen', '0.0.0.0:7070', '--advertise', '$(POD_IP):7070', '--id', '$(POD_NAME)', '--class', cls,
    ]);
    assert.ok(portMatches(7070, c));
    assert.deepEqual(c.resources, { requests: { cpu: '2', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } });
    assert.equal(d.spec.template.spec.terminationGracePeriodSeconds, 10);
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    assert.equal(env.POD_NAME, 'metadata.name');
    assert.equal(env.POD_IP, 'status.podIP');
  }
});

test('every $(VAR) in a command is defined in its container\'s env, and every referenced Secret key is in the Secret example', () => {
  const secret = commentedSecret();
  assert.doesNotThrow(() => new Secret(secret).validate());
  assert.deepEqual(secret.metadata, { name: 'infaas-s3', namespace: 'infaas' });
  for (const d of deployments) {
    for (const c of containersOf(d)) {
      const defined = new Set((c.env ?? []).map((e: any) => e.name));
      for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
        for (const [, v] of String(arg).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) assert.ok(defined.has(v), `${d.metadata.name}/${c.name}: $(${v}) is not in its env`);
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) assert.ok(ref.name === secret.metadata.name && ref.key in secret.stringData, `${d.metadata.name}/${c.name} needs ${ref.name}/${ref.key}`);
      }
    }
  }
});

test('the controllers use Redis and S3 through the Services and settings of these manifests', () => {
  const [c] = containersOf(deployments.find((d) => d.metadata.name === 'infaas-controller'));
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath ?? e.valueFrom?.secretKeyRef?.name]));
  assert.equal(env.INFAAS_METADATA_URL, 'redis://infaas-redis:6379/0');
  assert.equal(env.INFAAS_REPOSITORY_URL, 's3://infaas-models/models');
  assert.equal(env.INFAAS_PROVISIONER, 'kubernetes');
  assert.equal(env.INFAAS_K8S_NAMESPACE, 'metadata.namespace');
  assert.equal(env.AWS_ACCESS_KEY_ID, 'infaas-s3');
  assert.equal(env.AWS_SECRET_ACCESS_KEY, 'infaas-s3');
  assert.equal(deployments.find((d) => d.metadata.name === 'infaas-controller').spec.replicas, 2);
  const redis = deployments.find((d) => d.metadata.name === 'infaas-redis');
  assert.match(containersOf(redis)[0].args.join(' '), /--appendonly yes --appendfsync always/);
  const claim = redis.spec.template.spec.volumes.find((v: any) => v.persistentVolumeClaim).persistentVolumeClaim.claimName;
  assert.ok(all('PersistentVolumeClaim').some((p) => p.metadata.name === claim), `PersistentVolumeClaim ${claim} exists`);
  for (const d of deployments.filter((x) => x.metadata.name !== 'infaas-redis')) {
    for (const x of containersOf(d)) assert.deepEqual([x.image, x.imagePullPolicy], ['infaas-ts:latest', 'IfNotPresent'], `${d.metadata.name}/${x.name}`);
  }
});

/** The example Secret written as comments in 30-controller.yaml, uncommented and parsed. */
function commentedSecret(): any {
  const lines = texts.get('30-controller.yaml')!.split('\n');
  const start = lines.indexOf('# apiVersion: v1');
  assert.ok(start >= 0, 'a commented example Secret in 30-controller.yaml');
  const block: string[] = [];
  for (const l of lines.slice(start)) {
    if (!/^# (?!\()/.test(l)) break;
    block.push(l.slice(2));
  }
  const [secret] = yaml.loadAll(block.join('\n')) as any[];
  assert.equal(secret.kind, 'Secret');
  return secret;
}
