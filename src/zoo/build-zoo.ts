// `npm run zoo`: trains every architecture of both use cases, exports fp32 (+ int8) ONNX, measures them with
// onnxruntime-node and writes zoo/<dataset>/*, zoo/manifest.json and a summary table.
//
// Flags: --quick (10% of the sample budgets), --scale=<f>, --threads=<n> (default 2), --out=<dir> (default zoo/),
//        --only=<dataset>, --measure-only (no training: re-measure the artifacts of <out>/manifest.json, rewrite it).

import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { decodeValidationSet, encodeValidationSet, type ValidationSet } from '../core/validation-set.ts';
import { measureAccuracy, measureLatencyP50 } from '../onnx/measure.ts';
import { decodeModel, encodeModel } from '../onnx/onnx-builder.ts';
import { quantizeStatic, type Calibration } from '../onnx/quantize-static.ts';
import { ARCHITECTURES } from './catalogue.ts';
import { readZooManifest, ZOO_DIR, type ZooArtifact, type ZooManifest, type ZooUseCase } from './manifest.ts';
import { subset } from './datasets.ts';
import { useCaseData, type TrainJob, type TrainResult, type ZooDataset } from './train-job.ts';
import { runJobs } from './worker-pool.ts';

interface Args {
  measureOnly: boolean;
  scale: number;
  threads: number;
  out: string;
  only?: ZooDataset;
}

function parseArgs(argv: string[]): Args {
  const get = (k: string) => argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
  const only = get('only');
  if (only && only !== 'fashion-mnist' && only !== 'mnist') throw new Error(`--only must be fashion-mnist or mnist, got ${only}`);
  return {
    measureOnly: argv.includes('--measure-only'),
    scale: argv.includes('--quick') ? 0.1 : Number(get('scale') ?? 1),
    threads: Number(get('threads') ?? Math.min(2, availableParallelism())),
    out: get('out') ?? ZOO_DIR,
    only: only as ZooDataset | undefined,
  };
}

/** Rough training cost of a job, used to start the longest jobs first. */
function cost(job: TrainJob): number {
  const order = ['tiny', 'linear', 'mlp-s', 'cnn-s', 'mlp-l', 'cnn-m', 'cnn-l'];
  return order.indexOf(job.suffix) * 10 + (job.dataset === 'fashion-mnist' ? 1 : 0);
}

interface Row {
  arch: string;
  precision: string;
  accuracy: number;
  tsAccuracy?: number;
  p50: number;
  bytes: number;
  trainS?: number;
}

function printTable(rows: Row[]): void {
  const head = ['architecture', 'prec', 'acc %', 'ts acc %', 'p50 ms b1', 'bytes', 'train s'];
  const lines = rows.map((r) => [
    r.arch,
    r.precision,
    r.accuracy.toFixed(2),
    r.tsAccuracy === undefined ? '' : r.tsAccuracy.toFixed(2),
    r.p50.toFixed(4),
    String(r.bytes),
    r.trainS === undefined ? '' : r.trainS.toFixed(1),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) => l.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(fmt(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

/** Accuracy (ORT, batches of 250) and the lowest batch-1 p50 of three rounds: the build machine is shared. */
async function measureArtifact(path: string, valset: ValidationSet): Promise<{ accuracy: number; p50: number }> {
  const accuracy = await measureAccuracy(path, valset);
  let p50 = Infinity;
  for (let i = 0; i < 3; i++) p50 = Math.min(p50, await measureLatencyP50(path, valset));
  return { accuracy, p50 };
}

async function remeasure(args: Args): Promise<void> {
  const manifest = readZooManifest(args.out);
  const rows: Row[] = [];
  for (const uc of manifest.useCases) {
    const valset = decodeValidationSet(readFileSync(join(args.out, uc.validation)));
    for (const arch of uc.architectures) {
      for (const art of arch.artifacts) {
        const path = join(args.out, art.file);
        const { accuracy, p50 } = await measureArtifact(path, valset);
        Object.assign(art, { accuracy: Number(accuracy.toFixed(2)), bytes: statSync(path).size, p50MsBatch1: Number(p50.toFixed(4)) });
        rows.push({ arch: arch.name, precision: art.precision, accuracy, p50, bytes: art.bytes });
      }
    }
  }
  writeFileSync(join(args.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  printTable(rows);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.measureOnly) return remeasure(args);
  const t0 = performance.now();
  const datasets: ZooDataset[] = args.only ? [args.only] : ['fashion-mnist', 'mnist'];
  const valsets = new Map<ZooDataset, ValidationSet>();
  for (const ds of datasets) {
    const d = useCaseData(ds);
    mkdirSync(join(args.out, ds), { recursive: true });
    const v: ValidationSet = { shape: d.validation.shape, count: d.validation.count, inputs: d.validation.inputs, labels: d.validation.labels, classNames: d.classNames };
    valsets.set(ds, v);
    writeFileSync(join(args.out, ds, 'validation.valset'), encodeValidationSet(v));
    writeFileSync(join(args.out, ds, 'labels.txt'), d.classNames.join('\n') + '\n');
    console.log(`${ds}: ${d.train.count} training samples, ${d.validation.count} validation samples`);
  }

  const jobs: TrainJob[] = datasets.flatMap((dataset) => ARCHITECTURES.map((a, i) => ({ dataset, suffix: a.suffix, scale: args.scale, seed: 1000 + i })));
  jobs.sort((a, b) => cost(b) - cost(a));
  console.log(`training ${jobs.length} models on ${args.threads} threads (scale ${args.scale})`);
  const results = await runJobs(jobs, args.threads, (r) => {
    for (const l of r.log) console.log(`  ${l}`);
    console.log(`trained ${r.arch} in ${(r.trainMs / 1000).toFixed(1)} s (TypeScript accuracy ${r.tsAccuracy.toFixed(2)} %)`);
  });
  const trainedAt = performance.now();

  const rows: Row[] = [];
  const manifest: ZooManifest = { useCases: [] };
  for (const ds of datasets) {
    const d = useCaseData(ds);
    const valset = valsets.get(ds)!;
    const uc: ZooUseCase = {
      task: d.task,
      dataset: ds,
      inputShape: d.validation.shape,
      labels: `${ds}/labels.txt`,
      validation: `${ds}/validation.valset`,
      architectures: [],
    };
    const calSet = subset(d.train, 256, 99);
    const calibration: Calibration = { inputs: calSet.inputs, shape: [calSet.count, ...calSet.shape] };
    for (const spec of ARCHITECTURES) {
      const r = results.find((x: TrainResult) => x.dataset === ds && x.arch === `${d.prefix}-${spec.suffix}`)!;
      const files: [ZooArtifact['precision'], Uint8Array][] = [['fp32', r.onnx]];
      if (spec.int8) files.push(['int8', encodeModel(await quantizeStatic(decodeModel(r.onnx), calibration))]);
      const artifacts: ZooArtifact[] = [];
      for (const [precision, bytes] of files) {
        const file = `${ds}/${r.arch}.${precision}.onnx`;
        writeFileSync(join(args.out, file), bytes);
        const { accuracy, p50 } = await measureArtifact(join(args.out, file), valset);
        artifacts.push({ precision, file, accuracy: Number(accuracy.toFixed(2)), bytes: bytes.length, p50MsBatch1: Number(p50.toFixed(4)) });
        rows.push({ arch: r.arch, precision, accuracy, p50, bytes: bytes.length, ...(precision === 'fp32' ? { tsAccuracy: r.tsAccuracy, trainS: r.trainMs / 1000 } : {}) });
      }
      uc.architectures.push({ name: r.arch, description: spec.description, artifacts });
    }
    manifest.useCases.push(uc);
  }
  writeFileSync(join(args.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`\nzoo written to ${args.out} (training ${((trainedAt - t0) / 1000).toFixed(0)} s, total ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  printTable(rows);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
