// Test kit: a distributed INFaaS cluster of real processes — controllers (`infaas serve --metadata redis://…`) and
// workers (`infaas worker`) started on test hosts (network namespaces or loopback addresses, test-hosts.ts) —
// plus a client that sends queries and counts what became of them. Every process is killed when the test
// process exits.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestHost } from './test-hosts.ts';

const CLI = fileURLToPath(new URL('../../bin/infaas.mjs', import.meta.url));
const live = new Set<ChildProcess>();
const dataDirs = new Set<string>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

/** One process of the cluster. */
export class ClusterProcess {
  readonly name: string;
  readonly host: TestHost;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #log = '';

  constructor(name: string, host: TestHost, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.name = name;
    this.host = host;
    this.child = host.spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    live.add(this.child);
    const keep = (d: Buffer) => void (this.#log = (this.#log + d.toString('utf8')).slice(-20_000));
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', () => {
      live.delete(this.child);
      resolve();
    }));
  }

  /** What it printed so far (the last 20 kB). */
  get log(): string {
    return this.#log;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once its output matches `re`; rejects with its log if it exits first or `ms` pass. */
  async printed(re: RegExp, ms = 60_000): Promise<void> {
    const until = Date.now() + ms;
    while (!re.test(this.#log)) {
      if (!this.running) throw new Error(`${this.name} exited before printing ${re}:\n${this.#log}`);
      if (Date.now() > until) throw new Error(`${this.name} did not print ${re} within ${ms} ms:\n${this.#log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL, resolving once it is gone. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (graceful), resolving once it is gone. */
  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGTERM');
    await this.exited;
  }
}

export interface ControllerOptions {
  id: string;
  metadata: string;
  repository: string;
  port: number;
  /** Written to its data dir's infaas.json. */
  config?: Record<string, unknown>;
  provisioner?: 'none' | 'local';
  /** Extra environment (e.g. the AWS variables of an S3 repository). */
  env?: NodeJS.ProcessEnv;
}

/** A controller process; resolves once it answers GET /v1/health. */
export async function startController(host: TestHost, o: ControllerOptions): Promise<ClusterProcess & { url: string; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), `infaas-${o.id}-`));
  dataDirs.add(dataDir);
  if (o.config) writeFileSync(join(dataDir, 'infaas.json'), JSON.stringify(o.config));
  const args = ['serve', '--host', host.ip, '--port', String(o.port), '--metadata', o.metadata, '--repository', o.repository, '--provisioner', o.provisioner ?? 'none', '--id', o.id, '--data-dir', dataDir];
  const p = Object.assign(new ClusterProcess(o.id, host, args, o.env), { url: `http://${host.ip}:${o.port}`, dataDir });
  await p.printed(/INFaaS serving on/);
  return p;
}

/** A worker process (`infaas worker`); resolves once it has registered itself. */
export async function startWorker(host: TestHost, o: { id: string; metadata: string; port: number; workerClass?: string; env?: NodeJS.ProcessEnv }): Promise<ClusterProcess> {
  const args = ['worker', '--metadata', o.metadata, '--listen', `${host.ip}:${o.port}`, '--id', o.id, '--class', o.workerClass ?? 'cpu-1'];
  const p = new ClusterProcess(o.id, host, args, o.env);
  await p.printed(/serving at tcp:/);
  return p;
}

/** What became of the queries a client sent. */
export interface QueryTally {
  sent: number;
  succeeded: number;
  /** Succeeded after the worker first running them died (the reply says retries: 1). */
  retried: number;
  failed: number;
  /** Failure messages by HTTP status and message, with counts. */
  errors: Record<string, number>;
  /** Per reply: when it was sent (ms since epoch), the worker that answered, and the one that died under it. */
  log: Array<{ at: number; worker?: string; retriedFrom?: string; status: number }>;
}

export const emptyTally = (): QueryTally => ({ sent: 0, succeeded: 0, retried: 0, failed: 0, errors: {}, log: [] });

/** Sends one exact-variant query of `input` (raw float32) to `url` and records it in `tally`. */
export async function queryOnce(url: string, variant: string, input: Float32Array, tally: QueryTally): Promise<void> {
  const at = Date.now();
  tally.sent++;
  try {
    const r = await fetch(`${url}/v1/infer?variant=${encodeURIComponent(variant)}`, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(Float32Array.from(input).buffer),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await r.json()) as { worker?: string; retries?: number; retriedAfter?: { worker: string }; error?: string };
    tally.log.push({ at, status: r.status, ...(body.worker ? { worker: body.worker } : {}), ...(body.retriedAfter ? { retriedFrom: body.retriedAfter.worker } : {}) });
    if (r.ok) {
      tally.succeeded++;
      if (body.retries) tally.retried++;
    } else {
      tally.failed++;
      const key = `${r.status} ${body.error ?? ''}`.slice(0, 200);
      tally.errors[key] = (tally.errors[key] ?? 0) + 1;
    }
  } catch (e) {
    tally.failed++;
    tally.log.push({ at, status: 0 });
    const key = `no reply: ${(e as Error).message}`;
    tally.errors[key] = (tally.errors[key] ?? 0) + 1;
  }
}

/** Keeps `clients` concurrent query loops going against the controllers in turn until `stop()`. */
export function queryLoad(urls: () => string[], variant: string, input: Float32Array, clients = 4): { tally: QueryTally; stop: () => Promise<QueryTally> } {
  const tally = emptyTally();
  let running = true;
  let turn = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const targets = urls();
      await queryOnce(targets[turn++ % targets.length], variant, input, tally);
    }
  });
  return { tally, stop: async () => {
    running = false;
    await Promise.all(loops);
    return tally;
  } };
}
