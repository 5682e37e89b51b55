// Density benchmark (issue 3): a real `infaas serve` with thousands of registered models (copies of a small zoo
// model under distinct architecture names, registered with a precomputed profile file), then closed-loop clients
// querying random models by exact variant or architecture + SLO. Prints registration throughput, latency
// percentiles, errors, cold starts and memory (server RSS + worker RSS from /proc, and the workers' charged MiB).
//
// Run: node --import tsx bench/density.ts [MODELS=3000] [CLIENTS=40] [SECONDS=30] [ARCH=fmnist-tiny]
// Env: REG_CONCURRENCY (default 8); SERVER_CPU_PROF=DIR writes a CPU profile of the server process there;
// MEMORY=measured (default: the copies' profile file charges the per-replica RSS measured by loading 300 ORT
// sessions of the model in a fresh process, fractional MiB) or MEMORY=profiled (the profiler's figure: whole MiB, at least 1);
// PRELOAD=1 (default: load every variant before the queries, as a deployed fleet is) or PRELOAD=0 (first queries
// pay the loads); IDLE_UNLOAD_S (default 600): the live autoscaler's scale-to-zero delay; AUTOSCALE (default ours,
// or infaas, off): the live autoscaling policy.

import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ZOO_DIR, readZooManifest } from '../src/zoo/manifest.ts';
import { profileFileFromVariants } from '../src/profiler/precomputed.ts';
import { decodeValidationSet } from '../src/core/validation-set.ts';
import type { Variant, WorkerStatus } from '../src/core/types.ts';
import { percentile, printTable, startServerProcess } from './lib/server-process.ts';

const [MODELS, CLIENTS, SECONDS] = [3000, 40, 30].map((d, i) => Number(process.argv[2 + i] ?? d));
const ARCH = process.argv[5] ?? 'fmnist-tiny';
const REG_CONCURRENCY = Number(process.env.REG_CONCURRENCY ?? 8);
const MEMORY = process.env.MEMORY ?? 'measured';
const PRELOAD = process.env.PRELOAD !== '0';
const SLO_MS = 100;
const GRID = { threads: [1], maxBatch: [1, 8], optLevels: ['all'], runs: 20, warmup: 3 };

const manifest = readZooManifest();
const uc = manifest.useCases.find((u) => u.architectures.some((a) => a.name === ARCH))!;
const artifact = uc.architectures.find((a) => a.name === ARCH)!.artifacts.find((a) => a.precision === 'fp32')!;
const modelBytes = readFileSync(join(ZOO_DIR, artifact.file));
const valsetBytes = readFileSync(join(ZOO_DIR, uc.validation));
const val = decodeValidationSet(valsetBytes);
const per = val.shape.reduce((a, b) => a * b, 1);
const bodies = Array.from({ length: 64 }, (_, i) => Buffer.from(val.inputs.slice(i * per, (i + 1) * per).buffer));

const copyName = (i: number) => `${ARCH}-c${String(i).padStart(5, '0')}`;

function rssMiB(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * RSS growth per loaded replica of the model (load + one inference each), MiB, averaged over `n` sessions in a
 * fresh child process (a fresh heap: deltas measured in this process were swamped by heap reuse).
 */
function measuredReplicaMiB(n = 300): number {
  const script = `
    import { OrtNativeBackend } from ${JSON.stringify(join(import.meta.dirname, '..', 'src', 'backend', 'ort-native', 'ort-backend.ts'))};
    const b = new OrtNativeBackend();
    const input = { shape: [1, ${val.shape.join(',')}], data: new Float32Array(${per}) };
    const load = async () => { const m = await b.load({ path: ${JSON.stringify(join(ZOO_DIR, artifact.file))}, threads: 1, optLevel: 'all' }); await m.infer(input); return m; };
    const keep = [await load()];
    globalThis.gc?.();
    const before = process.memoryUsage.rss();
    for (let i = 0; i < ${n}; i++) keep.push(await load());
    globalThis.gc?.();
    console.log((process.memoryUsage.rss() - before) / ${n} / 1048576);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  const mib = Number(r.stdout.trim());
  if (r.status !== 0 || !(mib > 0)) throw new Error(`memory calibration failed: ${r.stderr}`);
  return Math.round(mib * 1000) / 1000;
}

async function register(url: string, i: number, extra: { validation?: Buffer; profile?: string }): Promise<any> {
  const form = new FormData();
  form.append('task', uc.task);
  form.append('dataset', uc.dataset);
  form.append('arch', copyName(i));
  form.append('model', new Blob([modelBytes]), 'model.onnx');
  if (extra.validation) form.append('validation', new Blob([new Uint8Array(extra.validation)]), 'val.valset');
  if (extra.profile) form.append('profile', new Blob([extra.profile]), 'profile.json');
  const r = await fetch(`${url}/v1/models`, { method: 'POST', body: form });
  const j: any = await r.json();
  if (r.status !== 201 && r.status !== 202) throw new Error(`register ${copyName(i)}: ${r.status} ${JSON.stringify(j)}`);
  let reg = j.registration;
  while (reg.state === 'PROFILING') {
    await new Promise((res) => setTimeout(res, 100));
    reg = ((await (await fetch(`${url}/v1/registrations/${reg.id}`)).json()) as any).registration;
  }
  if (reg.state !== 'SUCCEEDED') throw new Error(`registration of ${copyName(i)} failed: ${reg.error}`);
  return reg;
}

interface Sample {
  ms: number;
  status: number;
  code?: string;
  cold: boolean;
  mode: 'variant' | 'arch';
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'infaas-density-'));
  // The default policy (ours) runs; scale to zero waits IDLE_UNLOAD_S (default 600 s) instead of 30 s, since
  // preloading 6,000 variants alone takes ~40 s and the first loaded would be unloaded before any query.
  writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify({
    profiling: GRID, autoscaling: { policy: process.env.AUTOSCALE ?? 'ours', idleUnloadMs: Number(process.env.IDLE_UNLOAD_S ?? 600) * 1000 },
  }));
  const prof = process.env.SERVER_CPU_PROF;
  const server = await startServerProcess({ dataDir, nodeArgs: prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [] });
  try {
    console.log(`density: ${MODELS} copies of ${ARCH} (${artifact.bytes} B), ${CLIENTS} clients for ${SECONDS} s, server ${server.url}`);
    const rssStart = rssMiB(server.child.pid);

    // 1. One copy profiled for real; its variants become the profile file of every other copy.
    const t0 = performance.now();
    const first = await register(server.url, 0, { validation: valsetBytes });
    const profiledMs = performance.now() - t0;
    const variants = first.variants as Variant[];
    const file = profileFileFromVariants(variants[0].profile.accuracy, variants);
    const profiledMiB = variants.map((v) => v.profile.memoryMB);
    const replicaMiB = MEMORY === 'measured' ? measuredReplicaMiB() : undefined;
    if (replicaMiB !== undefined) for (const v of file.variants) v.profile.memoryMB = replicaMiB;
    console.log(`memory per replica: profiler ${profiledMiB.join(', ')} MiB; ${replicaMiB === undefined ? 'using the profiler\'s figure' : `measured over 300 sessions in a fresh process ${replicaMiB} MiB, charged for the copies`}`);
    const profile = JSON.stringify(file);
    const suffixes = variants.map((v) => v.name.slice(`${copyName(0)}.fp32`.length)); // e.g. ".t1.b8.all"

    // 2. The rest with the profile file, REG_CONCURRENCY at a time.
    const t1 = performance.now();
    let next = 1;
    const regLat: number[] = [];
    let lastReport = t1;
    await Promise.all(Array.from({ length: REG_CONCURRENCY }, async () => {
      while (next < MODELS) {
        const i = next++;
        const s = performance.now();
        await register(server.url, i, { profile });
        regLat.push(performance.now() - s);
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          console.log(`  registered ${regLat.length + 1} in ${((lastReport - t1) / 1000).toFixed(1)} s (recent p50 ${percentile(regLat.slice(-200), 50).toFixed(1)} ms)`);
        }
      }
    }));
    const regS = (performance.now() - t1) / 1000;
    const rssAfterReg = rssMiB(server.child.pid);
    const health: any = await (await fetch(`${server.url}/v1/health`)).json();

    // 3. Optionally load every variant first (a deployed fleet), 4 loads at a time.
    const names = Array.from({ length: MODELS }, (_, i) => suffixes.map((x) => `${copyName(i)}.fp32${x}`)).flat();
    let preloadS = 0;
    let preloadFailed = 0;
    const preloadErrors = new Map<string, number>();
    if (PRELOAD) {
      const tp = performance.now();
      let k = 0;
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (k < names.length) {
          const name = names[k++];
          const r = await fetch(`${server.url}/v1/variants/${name}/load`, { method: 'POST' });
          const j: any = await r.json();
          if (!r.ok) {
            preloadFailed++;
            preloadErrors.set(j.code, (preloadErrors.get(j.code) ?? 0) + 1);
          }
        }
      }));
      preloadS = (performance.now() - tp) / 1000;
    }
    const workersBefore = ((await (await fetch(`${server.url}/v1/workers`)).json()) as { workers: WorkerStatus[] }).workers;
    const rssWorkersLoaded = workersBefore.reduce((s, w) => s + rssMiB(w.pid), 0);

    // 4. Closed loop: CLIENTS clients, each sends a query for a random model, waits for the reply, repeats.
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const base = new URL(server.url);
    const post = (path: string, body: Buffer) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ hostname: base.hostname, port: base.port, path, method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end(body);
      });
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    const samples: Sample[] = [];
    const end = performance.now() + SECONDS * 1000;
    const tq = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < end) {
        const i = Math.floor(rnd() * MODELS);
        const mode: Sample['mode'] = rnd() < 0.5 ? 'variant' : 'arch';
        const path = mode === 'variant'
          ? `/v1/infer?variant=${copyName(i)}.fp32${suffixes[Math.floor(rnd() * suffixes.length)]}&topK=1`
          : `/v1/infer?arch=${copyName(i)}&latencyMs=${SLO_MS}&topK=1`;
        const s = performance.now();
        try {
          const r = await post(path, bodies[Math.floor(rnd() * bodies.length)]);
          const j = JSON.parse(r.body);
          samples.push({ ms: performance.now() - s, status: r.status, code: r.status === 200 ? undefined : j.code, cold: !!j.coldStart, mode });
        } catch (e) {
          samples.push({ ms: performance.now() - s, status: 0, code: (e as NodeJS.ErrnoException).code ?? 'NETWORK', cold: false, mode });
        }
      }
    }));
    const qS = (performance.now() - tq) / 1000;
    agent.destroy();

    const reply = (await (await fetch(`${server.url}/v1/workers`)).json()) as { workers: WorkerStatus[]; autoscaling: Record<string, unknown> };
    const workers = reply.workers;
    const { recent, ...scaling } = reply.autoscaling as { recent?: string[] };
    console.log(`\nautoscaling: ${JSON.stringify(scaling)}; last actions: ${(recent ?? []).slice(-5).join('; ')}`);
    const rssServer = rssMiB(server.child.pid);
    const rssWorkers = workers.reduce((s, w) => s + rssMiB(w.pid), 0);
    const ok = samples.filter((s) => s.status === 200);
    const errs = new Map<string, number>();
    for (const s of samples) if (s.status !== 200) errs.set(`${s.status} ${s.code}`, (errs.get(`${s.status} ${s.code}`) ?? 0) + 1);
    const lat = (xs: Sample[]) => xs.map((s) => s.ms);
    const distinct = new Set(workers.flatMap((w) => w.replicas.map((r) => r.variant))).size;

    console.log('\nregistration');
    printTable([
      { step: `1 copy, profiled (${variants.length} variants)`, models: 1, seconds: profiledMs / 1000, 'models/s': 1000 / profiledMs, 'p50 ms': profiledMs, 'p99 ms': profiledMs },
      { step: `${MODELS - 1} copies, profile file, ${REG_CONCURRENCY} at a time`, models: MODELS - 1, seconds: regS, 'models/s': (MODELS - 1) / regS, 'p50 ms': percentile(regLat, 50), 'p99 ms': percentile(regLat, 99) },
    ]);
    console.log(`server: ${health.variants} variants registered, ${health.workers} worker(s)`);
    if (PRELOAD) console.log(`preload: ${names.length} variants in ${preloadS.toFixed(1)} s (${(names.length / preloadS).toFixed(0)} loads/s), ${preloadFailed} failed ${JSON.stringify(Object.fromEntries(preloadErrors))}; ${workersBefore.reduce((s, w) => s + w.replicas.length, 0)} replicas loaded after it`);

    console.log(`\nqueries: ${CLIENTS} closed-loop clients, random model of ${MODELS}, half exact variant, half arch + ${SLO_MS} ms SLO, ${qS.toFixed(1)} s`);
    const row = (name: string, xs: Sample[]) => {
      const good = xs.filter((s) => s.status === 200);
      return { queries: name, n: xs.length, 'req/s': xs.length / qS, 'p50 ms': percentile(lat(good), 50) ?? NaN, 'p90 ms': percentile(lat(good), 90) ?? NaN, 'p99 ms': percentile(lat(good), 99) ?? NaN, errors: xs.length - good.length, 'cold starts': xs.filter((s) => s.cold).length };
    };
    printTable([row('all', samples), row('exact variant', samples.filter((s) => s.mode === 'variant')), row('arch + SLO', samples.filter((s) => s.mode === 'arch')), row('warm only', samples.filter((s) => !s.cold))]);
    if (errs.size) printTable([...errs].map(([k, n]) => ({ error: k, count: n })));
    const p90 = percentile(lat(ok), 90);
    console.log(`goal p90 ≤ 100 ms and zero errors: ${p90 <= 100 && ok.length === samples.length ? 'MET' : 'NOT MET'} (p90 ${p90?.toFixed(1)} ms, ${samples.length - ok.length} errors)`);

    console.log('\nmemory');
    printTable([
      { what: 'server RSS at start, MiB', value: rssStart },
      { what: 'server RSS after registration, MiB', value: rssAfterReg },
      { what: 'server RSS after queries, MiB', value: rssServer },
      { what: `worker RSS before the queries (${workersBefore.length} worker(s)), MiB`, value: rssWorkersLoaded },
      { what: `worker RSS after the queries (${workers.length} worker(s)), MiB`, value: rssWorkers },
      { what: 'worker memory charged (profiled MiB of loaded replicas)', value: workers.reduce((s, w) => s + w.memoryUsedMB, 0) },
      { what: 'worker memory budget, MiB', value: workers.reduce((s, w) => s + w.memoryBudgetMB, 0) },
      { what: 'replicas loaded at the end', value: workers.reduce((s, w) => s + w.replicas.length, 0) },
      { what: 'distinct variants loaded at the end', value: distinct },
      { what: 'cold starts during the run (loads)', value: samples.filter((s) => s.cold).length },
      { what: 'total RSS (server + workers), MiB', value: rssServer + rssWorkers },
    ]);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
