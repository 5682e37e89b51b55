// Transport round trip: one tiny inference, sequential, one in flight, through each layer in turn:
//   backend        OrtNativeBackend.infer in this process (the raw session.run path)
//   manager        ReplicaManager.infer in this process (validation + per-variant FIFO)
//   worker tcp     TcpWorkerClient → worker child process over 127.0.0.1
//   worker unix    the same over a Unix socket
// plus a no-op request (unload of a variant not held) for the bare transport round trip,
// for three payloads (4 floats, one 28x28 image, a batch of 32 images) on a MatMul+Softmax model, and one
// image on the zoo's fmnist-cnn-m when the zoo is built. Prints p50/p95 in µs, the ratio to
// the backend's p50 and the added µs. Usage: npx tsx bench/transport.ts [--n 3000]

import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { OrtNativeBackend } from '../src/backend/ort-native/ort-backend.ts';
import type { Tensor } from '../src/core/types.ts';
import type { WorkerClass } from '../src/core/types.ts';
import { LocalProvisioner } from '../src/provisioner/local/local-provisioner.ts';
import { TcpWorkerClient } from '../src/transport/worker-connection.ts';
import { ReplicaManager } from '../src/worker/replica-manager.ts';
import { TestRepo, buildTestModel, sampleInput, testSpec } from '../src/worker/test-fixtures.ts';
import { ZOO_DIR } from '../src/zoo/manifest.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('--n', 3000);
const WARMUP = Math.min(300, N);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

async function time(fn: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await fn();
    xs.push((performance.now() - t) * 1000);
  }
  return { p50: pct(xs, 50), p95: pct(xs, 95) };
}

interface Case {
  name: string;
  batch: number;
  /** Per-sample input shape. */
  sample: number[];
  /** A zoo ONNX file; without one, a MatMul+Softmax test model of width sample[0] is written. */
  file?: string;
}

const zooCnn = join(ZOO_DIR, 'fashion-mnist', 'fmnist-cnn-m.fp32.onnx');
const cases: Case[] = [
  { name: '1x4 linear', batch: 1, sample: [4] },
  { name: '1x784 linear', batch: 1, sample: [784] },
  { name: '32x784 linear', batch: 32, sample: [784] },
  ...(existsSync(zooCnn) ? [{ name: '1x1x28x28 fmnist-cnn-m', batch: 1, sample: [1, 28, 28], file: zooCnn }] : []),
];

async function main(): Promise<void> {
  const repo = new TestRepo();
  const sockDir = mkdtempSync(join(tmpdir(), 'infaas-bench-sock-'));
  const wc: WorkerClass = { name: 'cpu-1', threads: 1, memoryMB: 512, pricePerHour: 0 };
  const tcpProv = new LocalProvisioner({ repository: repo.root });
  const unixProv = new LocalProvisioner({ repository: repo.root, socketDir: sockDir });
  const [th, uh] = await Promise.all([tcpProv.start(wc), unixProv.start(wc)]);
  const tcp = await TcpWorkerClient.connect(th.id, th.address, { timeoutMs: 30_000 });
  const unix = await TcpWorkerClient.connect(uh.id, uh.address, { timeoutMs: 30_000 });
  const backend = new OrtNativeBackend();
  const manager = new ReplicaManager({ id: 'bench', workerClass: 'cpu-1', classThreads: 1, memoryBudgetMB: 512, backend, resolvePath: repo.localPath });
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const [layer, client] of [['no-op tcp', tcp], ['no-op unix', unix]] as const) {
      const t = await time(() => client.unload('not-loaded'));
      rows.push({ input: '(no-op request)', layer, 'p50 µs': Math.round(t.p50), 'p95 µs': Math.round(t.p95), 'x backend p50': '-', 'added µs': '-' });
    }
    for (const c of cases) {
      const key = `${c.name.replace(/\W+/g, '-')}.onnx`;
      if (c.file) copyFileSync(c.file, join(repo.root, key));
      else repo.write(key, buildTestModel({ features: c.sample[0], classes: 10 }));
      const spec = testSpec(`bench-${key}`, key, { maxBatch: c.batch });
      const width = c.sample.reduce((a, b) => a * b, 1);
      const input: Tensor = { shape: [c.batch, ...c.sample], data: sampleInput(c.batch, width) };
      const model = await backend.load({ path: await repo.localPath(key), threads: 1, optLevel: 'all' });
      const base = await time(() => model.infer(input));
      const layers: Array<[string, () => Promise<unknown>]> = [
        ['backend', () => model.infer(input)],
        ['manager', () => manager.infer(spec, input)],
        ['worker tcp', () => tcp.infer(spec, input)],
        ['worker unix', () => unix.infer(spec, input)],
      ];
      for (const [layer, fn] of layers) {
        const t = layer === 'backend' ? base : await time(fn);
        rows.push({ input: c.name, layer, 'p50 µs': Math.round(t.p50), 'p95 µs': Math.round(t.p95), 'x backend p50': +(t.p50 / base.p50).toFixed(2), 'added µs': Math.round(t.p50 - base.p50) });
      }
      await model.unload();
    }
  } finally {
    tcp.close();
    unix.close();
    await Promise.all([tcpProv.shutdown(), unixProv.shutdown(), manager.close()]);
    rmSync(sockDir, { recursive: true, force: true });
    repo.remove();
  }
  console.log(`transport round trip, sequential, n=${N} per row (node ${process.version})`);
  const cols = Object.keys(rows[0]);
  const width = cols.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i])).join('  ');
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((k) => String(r[k]))));
}

await main();
