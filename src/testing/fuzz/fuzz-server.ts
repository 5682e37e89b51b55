// Fuzzing: the server under test — a real `infaas serve` child process on loopback with its own data dir, an empty
// $HOME and its own TMPDIR (so anything it writes outside the data dir shows), fixture models registered through
// the REST API, its and its workers' resident memory, and what it left behind once stopped.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZOO_DIR, readZooManifest } from '../../zoo/manifest.ts';
import type { FuzzWorld } from './http-case.ts';

const CLI = fileURLToPath(new URL('../../../bin/infaas.mjs', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** Fixture architectures: zoo fashion-mnist models registered with a precomputed profile (no profiling run). */
const FIXTURES = [
  { arch: 'fuzz-fixture-linear', zoo: 'fmnist-linear' },
  { arch: 'fuzz-fixture-cnn', zoo: 'fmnist-cnn-s' },
];

export interface FuzzServer {
  url: string;
  host: string;
  port: number;
  pid: number;
  dataDir: string;
  home: string;
  tmp: string;
  world: FuzzWorld;
  /** Absolute paths of the server that no message may contain. */
  privatePaths: string[];
  /** Resident memory of the server and of each worker process now, MiB. */
  rss(): Promise<{ serverMB: number; workersMB: number[] }>;
  /** The server's exit code once stopped, or null while it runs. */
  exited(): number | null;
  log(): string;
  /** SIGTERM, wait for exit; then what it left in $HOME and TMPDIR (relative paths), and the directories removed. */
  stop(): Promise<{ homeLeft: string[]; tmpLeft: string[] }>;
}

export function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function listFiles(dir: string, root = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out.push(relative(root, p));
    if (statSync(p).isDirectory()) listFiles(p, root, out);
  }
  return out;
}

export async function startFuzzServer(): Promise<FuzzServer> {
  const root = mkdtempSync(join(tmpdir(), 'infaas-fuzz-'));
  const [dataDir, home, tmp] = ['data', 'home', 'tmp'].map((d) => join(root, d));
  for (const d of [dataDir, home, tmp]) mkdirSync(d);
  writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify({ profiling: { threads: [1], maxBatch: [1], optLevels: ['basic'], runs: 2, warmup: 0 }, autoscaling: { policy: 'off' } }));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp };
  for (const k of ['XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME']) delete env[k];
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => void (out = (out + d.toString('utf8')).slice(-50_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exit = new Promise<void>((r) => child.once('exit', () => r()));
  process.once('exit', () => child.kill('SIGKILL'));
  let url: string | undefined;
  for (let i = 0; !url; i++) {
    url = /serving on (http:\/\/[^\s]+)/.exec(out)?.[1];
    if (child.exitCode !== null || i > 1200) {
      child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
      throw new Error(`fuzz server did not start:\n${out}`);
    }
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  const { hostname: host, port } = new URL(url);
  let world: FuzzWorld;
  try {
    world = await registerFixtures(url);
  } catch (e) {
    child.kill('SIGKILL');
    await exit;
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  const server: FuzzServer = {
    url, host, port: Number(port), pid: child.pid!, dataDir, home, tmp, world,
    privatePaths: [root, REPO_ROOT, tmpdir() === '/tmp' ? '/tmp/' : tmpdir(), process.env.HOME ?? '/root'].filter((p) => p && p !== '/'),
    async rss() {
      const workers = (await (await fetch(`${url}/v1/workers`)).json()) as { workers: Array<{ pid?: number }> };
      return { serverMB: rssMB(child.pid!), workersMB: workers.workers.map((w) => (w.pid ? rssMB(w.pid) : NaN)) };
    },
    exited: () => child.exitCode,
    log: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exit;
        clearTimeout(t);
      }
      const left = { homeLeft: listFiles(home), tmpLeft: listFiles(tmp) };
      rmSync(root, { recursive: true, force: true });
      return left;
    },
  };
  return server;
}

/** Registers the fixtures with precomputed profiles (threads 1, maxBatch 8) and reads back what the generators aim at. */
async function registerFixtures(url: string): Promise<FuzzWorld> {
  const uc = readZooManifest().useCases.find((u) => u.dataset === 'fashion-mnist')!;
  const variants: string[] = [];
  const registrationIds: string[] = [];
  for (const f of FIXTURES) {
    const art = uc.architectures.find((a) => a.name === f.zoo)!.artifacts.find((a) => a.precision === 'fp32')!;
    const profile = {
      accuracy: art.accuracy,
      variants: [{ config: { backend: 'ort-cpu', threads: 1, maxBatch: 8, optLevel: 'all' }, profile: { loadMs: 5, memoryMB: 4, latency: [{ batch: 1, p50: 0.05, p95: 0.1 }, { batch: 8, p50: 0.2, p95: 0.3 }] } }],
    };
    const form = new FormData();
    form.append('task', uc.task);
    form.append('dataset', uc.dataset);
    form.append('arch', f.arch);
    form.append('model', new Blob([readFileSync(join(ZOO_DIR, art.file))]), 'model.onnx');
    form.append('profile', new Blob([JSON.stringify(profile)]), 'profile.json');
    form.append('labels', new Blob([readFileSync(join(ZOO_DIR, uc.labels))]), 'labels.txt');
    const r = await fetch(`${url}/v1/models`, { method: 'POST', body: form });
    const j = (await r.json()) as { registration?: { id: string; state: string; variants?: Array<{ name: string }> }; error?: string };
    if (r.status !== 201 || !j.registration) throw new Error(`fixture ${f.arch} not registered: ${r.status} ${JSON.stringify(j)}`);
    registrationIds.push(j.registration.id);
    variants.push(...(j.registration.variants ?? []).map((v) => v.name));
  }
  const workers = ((await (await fetch(`${url}/v1/workers`)).json()) as { workers: Array<{ id: string }> }).workers.map((w) => w.id);
  return { variants, archs: FIXTURES.map((f) => f.arch), useCase: { task: uc.task, dataset: uc.dataset }, workers, registrationIds };
}
