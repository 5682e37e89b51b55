// The open-loop load generator: sends POST /v1/infer at the Poisson arrival times of a trace to one server,
// never waiting for a reply before the next send, over keep-alive connections with a bounded socket count; stops
// by itself after the trace (bounded by a request count and a drain timeout) and reports (see report.ts).

import http from 'node:http';
import https from 'node:https';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { invalid } from '../core/errors.ts';
import { mulberry32, poissonArrivals, type TraceSpec } from '../sim/traces.ts';
import { inferPath, sloOf, type QuerySelection, type SamplePool } from './query-mix.ts';
import { buildReport, type LoadReport, type RequestRecord, type VariantCost } from './report.ts';

export interface LoadgenOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080. Every request goes there and nowhere else. */
  server: string;
  trace: TraceSpec;
  selection: QuerySelection;
  samples: SamplePool;
  /** Seed of the arrival times and the sample choice (same seed, same schedule). Default 1. */
  seed?: number;
  /** Hard cap on the requests of a run; the trace's arrivals beyond it are dropped. Default 100,000. */
  maxRequests?: number;
  /** Keep-alive sockets to the server at most; requests beyond wait for a socket (counted in latency). Default 64. */
  maxSockets?: number;
  /** A request not answered this long after its planned send time fails as 0 TIMEOUT. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** Price per hour of each worker class, for the worker-seconds cost; without it, no worker cost. */
  classPrices?: ReadonlyMap<string, number>;
  /** Called about every second with the requests sent and finished so far. */
  onProgress?: (sent: number, done: number, planned: number) => void;
}

export interface LoadResult {
  report: LoadReport;
  records: RequestRecord[];
}

/** The arrival times (s) of a run: the trace's Poisson arrivals, at most `max`. Deterministic given the seed. */
export function plannedArrivals(trace: TraceSpec, seed: number, max: number): number[] {
  const out: number[] = [];
  for (const t of poissonArrivals(trace, mulberry32(seed))) {
    if (out.length >= max) break;
    out.push(t);
  }
  return out;
}

interface Reply {
  status: number;
  body: string;
  /** performance.now() when the request was handed to the OS (its 'finish'). */
  writtenAt?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs one load run to its end and reports. Throws INVALID_ARGUMENT for a bad server URL or an empty sample pool. */
export async function runLoad(opts: LoadgenOptions): Promise<LoadResult> {
  let base: URL;
  try {
    base = new URL(opts.server);
  } catch {
    throw invalid(`server must be a URL like http://127.0.0.1:8080, got "${opts.server}"`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw invalid(`server must be an http(s) URL, got "${opts.server}"`);
  if (!opts.samples.bodies.length) throw invalid('no samples to send');
  const seed = opts.seed ?? 1;
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const arrivals = plannedArrivals(opts.trace, seed, opts.maxRequests ?? 100_000);
  const pickRng = mulberry32(seed ^ 0x5bd1e995);
  const lib = base.protocol === 'https:' ? https : http;
  const agent = new lib.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  const path = `${base.pathname.replace(/\/+$/, '')}${inferPath(opts.selection)}`;

  const send = (body: Buffer, signal: AbortSignal): Promise<Reply> =>
    new Promise((resolve, reject) => {
      let writtenAt: number | undefined;
      const req = lib.request(
        { protocol: base.protocol, hostname: base.hostname, port: base.port, path, method: 'POST', agent, signal,
          headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ...(writtenAt !== undefined ? { writtenAt } : {}) }));
          res.on('error', reject);
        },
      );
      req.on('finish', () => (writtenAt = performance.now()));
      req.on('error', reject);
      req.end(body);
    });

  const census = opts.classPrices ? watchWorkers(base, opts.classPrices) : undefined;
  const records: RequestRecord[] = new Array(arrivals.length);
  const inflight = new Set<Promise<void>>();
  let done = 0;
  let lastEnd = 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = performance.now();

  const fire = (i: number) => {
    const due = t0 + arrivals[i] * 1000;
    const rec: RequestRecord = { scheduledS: arrivals[i], sendLagMs: Math.max(0, performance.now() - due), status: 0 };
    records[i] = rec;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), Math.max(1, due + timeoutMs - performance.now()));
    const body = opts.samples.bodies[Math.floor(pickRng() * opts.samples.bodies.length)];
    const p = send(body, ac.signal).then(
      (r) => {
        const end = performance.now();
        lastEnd = Math.max(lastEnd, end);
        rec.latencyMs = end - due;
        if (r.writtenAt !== undefined) rec.sinceWriteMs = end - r.writtenAt;
        rec.status = r.status;
        try {
          const j = JSON.parse(r.body) as { variant?: string; worker?: string; code?: string; timing?: { totalMs?: number } };
          if (r.status >= 200 && r.status < 300) {
            rec.variant = j.variant;
            rec.worker = j.worker;
            if (typeof j.timing?.totalMs === 'number') rec.serverMs = j.timing.totalMs;
          } else rec.code = j.code ?? 'ERROR';
        } catch {
          if (r.status < 200 || r.status >= 300) rec.code = 'ERROR';
        }
      },
      (e: Error & { code?: string }) => {
        lastEnd = Math.max(lastEnd, performance.now());
        rec.code = ac.signal.aborted ? 'TIMEOUT' : `NETWORK_${e.code ?? 'ERROR'}`;
      },
    ).finally(() => {
      clearTimeout(timer);
      done++;
      inflight.delete(p);
    });
    inflight.add(p);
  };

  let nextProgress = t0 + 1000;
  for (let i = 0; i < arrivals.length; ) {
    const now = performance.now();
    if (opts.onProgress && now >= nextProgress) {
      opts.onProgress(i, done, arrivals.length);
      nextProgress = now + 1000;
    }
    const due = t0 + arrivals[i] * 1000;
    if (due > now + 0.5) {
      await sleep(Math.min(due - now, 250));
      continue;
    }
    fire(i++);
  }
  while (inflight.size) {
    await Promise.race([Promise.all(inflight), sleep(1000)]);
    opts.onProgress?.(arrivals.length, done, arrivals.length);
  }
  agent.destroy();
  loop.disable();
  // The histogram's samples include its own 10 ms period.
  const generatorLag = { p99: Math.max(0, loop.percentile(99) / 1e6 - 10), max: Math.max(0, loop.max / 1e6 - 10) };
  const elapsedS = arrivals.length ? Math.max(0, lastEnd - (t0 + arrivals[0] * 1000)) / 1000 : 0;

  const served = new Set(records.map((r) => r.variant).filter((v): v is string => !!v));
  const costs = new Map<string, VariantCost>();
  await Promise.all([...served].map(async (v) => {
    const c = await variantCost(base, v).catch(() => undefined);
    if (c) costs.set(v, c);
  }));
  const workers = await census?.stop();
  const report = buildReport({
    trace: opts.trace.name, durationS: opts.trace.durationS, sloMs: sloOf(opts.selection), records, elapsedS, costs, generatorLag,
    ...(workers ? { workerCost: workers.cost, maxWorkers: workers.maxWorkers } : {}),
  });
  return { report, records };
}

async function getJson(base: URL, path: string, signal?: AbortSignal): Promise<unknown> {
  const r = await fetch(new URL(path, base), signal ? { signal } : {});
  if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
  return r.json();
}

async function variantCost(base: URL, name: string): Promise<VariantCost> {
  const j = (await getJson(base, `/v1/variants/${encodeURIComponent(name)}`)) as { variant: { profile: { costPer1k: number; workerClass: string } } };
  return { costPer1k: j.variant.profile.costPer1k, workerClass: j.variant.profile.workerClass };
}

/** The running workers: how many, and the sum of their classes' prices per hour (a poll gives up after 2 s). */
async function workerCensus(base: URL, prices: ReadonlyMap<string, number>): Promise<{ count: number; pricePerHour: number }> {
  const j = (await getJson(base, '/v1/workers', AbortSignal.timeout(2000))) as { workers: Array<{ workerClass: string }> };
  return { count: j.workers.length, pricePerHour: j.workers.reduce((s, w) => s + (prices.get(w.workerClass) ?? 0), 0) };
}

/**
 * Polls the worker census every `everyMs` from now until stop(): the worker cost of the run (the price of the
 * workers seen at each poll, held until the next one) and the most workers seen, so an autoscaling server's
 * cost follows its scale-outs. A failed poll keeps the previous census; a poll still running skips a beat;
 * stop() resolves undefined when no poll succeeded. The timer never keeps the process alive.
 */
function watchWorkers(base: URL, prices: ReadonlyMap<string, number>, everyMs = 1000): { stop(): Promise<{ cost: number; maxWorkers: number } | undefined> } {
  let cost = 0;
  let maxWorkers = 0;
  let seen = false;
  let last: { at: number; pricePerHour: number } | undefined;
  const poll = async () => {
    const c = await workerCensus(base, prices).catch(() => undefined);
    const at = performance.now();
    if (last) cost += (last.pricePerHour * (at - last.at)) / 3_600_000;
    if (c) {
      seen = true;
      maxWorkers = Math.max(maxWorkers, c.count);
    }
    last = { at, pricePerHour: c?.pricePerHour ?? last?.pricePerHour ?? 0 };
  };
  let running: Promise<void> | undefined = poll().finally(() => (running = undefined));
  const timer = setInterval(() => {
    if (!running) running = poll().finally(() => (running = undefined));
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await poll();
      return seen ? { cost, maxWorkers } : undefined;
    },
  };
}
