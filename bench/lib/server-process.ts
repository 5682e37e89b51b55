// Benchmark helper: runs a real `infaas serve` in a child process on a free loopback port with a fresh data
// dir, and registers zoo models through the REST API, so benchmarks measure the system as users run it.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZOO_DIR, readZooManifest } from '../../src/zoo/manifest.ts';
import type { ProfilingGrid } from '../../src/config/config.ts';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  dataDir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function startServerProcess(opts: { profiling?: ProfilingGrid; dataDir?: string; nodeArgs?: string[] } = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'infaas-bench-'));
  if (opts.profiling) writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify({ profiling: opts.profiling }));
  const port = await freePort();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), 'bin/infaas.mjs', 'serve', '--port', String(port), '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/v1/health`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (i > 600) throw new Error(`server did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    dataDir,
    stop: async () => {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Registers one zoo artifact over REST and waits for profiling to finish; returns the registration. */
export async function registerZooModel(url: string, arch: string, precision: 'fp32' | 'int8' = 'fp32'): Promise<any> {
  const uc = readZooManifest().useCases.find((u) => u.architectures.some((a) => a.name === arch));
  if (!uc) throw new Error(`no zoo architecture ${arch}`);
  const art = uc.architectures.find((a) => a.name === arch)!.artifacts.find((a) => a.precision === precision)!;
  const form = new FormData();
  form.append('task', uc.task);
  form.append('dataset', uc.dataset);
  form.append('arch', arch);
  form.append('precision', precision);
  form.append('model', new Blob([readFileSync(join(ZOO_DIR, art.file))]), 'model.onnx');
  form.append('validation', new Blob([readFileSync(join(ZOO_DIR, uc.validation))]), 'val.valset');
  if (uc.labels) form.append('labels', new Blob([readFileSync(join(ZOO_DIR, uc.labels))]), 'labels.txt');
  const r = await fetch(`${url}/v1/models`, { method: 'POST', body: form });
  let reg: any = ((await r.json()) as any).registration;
  if (!reg) throw new Error(`registration refused: ${r.status}`);
  while (reg.state === 'PROFILING') {
    await new Promise((res) => setTimeout(res, 100));
    reg = ((await (await fetch(`${url}/v1/registrations/${reg.id}`)).json()) as any).registration;
  }
  if (reg.state !== 'SUCCEEDED') throw new Error(`registration failed: ${reg.error}`);
  return reg;
}

/** p-th percentile (0..100) of a list of numbers. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Prints rows as an aligned text table. */
export function printTable(rows: Array<Record<string, string | number>>): void {
  const cols = Object.keys(rows[0] ?? {});
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i])).join('  ');
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
}
