// Writes the example inputs of `infaas plan` under examples/plan/ (seeded, so reruns give the same files):
// - 3000-models.json: 3,000 copies of small zoo models, memory and latency measured by this project's profiler on
//   this machine (t1.b8.all variants), each copy with a Zipf-distributed share of 3,000 qps of traffic.
// - 78-models.json + study-classes.json: the 3,000-model study's 78-model case (BERT-sized models, ~800 MB, on
//   instances with 7.4 GB and an 83% usable compute share; the study packed them into 23 instances).
// Run: node --import tsx bench/make-plan-examples.ts

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZOO_DIR, readZooManifest } from '../src/zoo/manifest.ts';
import { defaultConfig } from '../src/config/config.ts';
import { runProfileJob } from '../src/profiler/profile-job.ts';
import { mulberry32 } from '../src/sim/traces.ts';

const OUT = join(import.meta.dirname, '..', 'examples', 'plan');
const SMALL = ['fmnist-tiny', 'fmnist-linear', 'fmnist-mlp-s', 'fmnist-cnn-s', 'fmnist-mlp-l', 'fmnist-cnn-m'];
const TOTAL_QPS = 3000;
const COPIES = 3000;

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

async function measured(): Promise<Array<{ arch: string; memoryMB: number; latencyMs: number }>> {
  const m = readZooManifest();
  const out: Array<{ arch: string; memoryMB: number; latencyMs: number }> = [];
  for (const uc of m.useCases) {
    for (const a of uc.architectures) {
      if (!SMALL.includes(a.name)) continue;
      // The int8 artifact of the larger ones: the small, cheap variant a dense fleet would serve.
      const art = a.artifacts.find((x) => x.precision === 'int8') ?? a.artifacts[0];
      const r = await runProfileJob({
        path: join(ZOO_DIR, art.file), artifactId: `${a.name}.${art.precision}`, arch: a.name, useCase: `${uc.task}/${uc.dataset}`,
        validationPath: join(ZOO_DIR, uc.validation), grid: { threads: [1], maxBatch: [8], optLevels: ['all'], runs: 20, warmup: 3 },
        workerClasses: defaultConfig('').workerClasses,
      });
      const v = r.variants[0];
      out.push({ arch: `${a.name}.${art.precision}`, memoryMB: v.profile.memoryMB, latencyMs: round(v.profile.latency[0].p95, 3) });
      console.log(`${v.name}: ${v.profile.memoryMB} MiB, p95@1 ${v.profile.latency[0].p95.toFixed(3)} ms`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const rnd = mulberry32(3000);
  const zoo = await measured();
  const harmonic = Array.from({ length: COPIES }, (_, i) => 1 / (i + 1)).reduce((s, x) => s + x, 0);
  const fleet = Array.from({ length: COPIES }, (_, i) => {
    const z = zoo[Math.floor(rnd() * zoo.length)];
    return { name: `${z.arch}-copy-${String(i).padStart(4, '0')}`, memoryMB: z.memoryMB, qps: round((TOTAL_QPS / harmonic) / (i + 1)), latencyMs: z.latencyMs };
  });
  writeFileSync(join(OUT, '3000-models.json'), JSON.stringify(fleet, null, 0).replace(/\},\{/g, '},\n{') + '\n');

  const rnd2 = mulberry32(78);
  const study = Array.from({ length: 78 }, (_, i) => ({
    name: `bert-base-cased-${String(i).padStart(2, '0')}`,
    memoryMB: Math.round(700 + rnd2() * 200),
    qps: Math.round(4 + rnd2() * 40),
    latencyMs: 10,
  }));
  writeFileSync(join(OUT, '78-models.json'), JSON.stringify(study, null, 0).replace(/\},\{/g, '},\n{') + '\n');
  // Compute capacity in units of one accelerator 2xlarge (1 chip); memory as the study's 7.4 GB per chip.
  const classes = [
    { name: 'accel-2xlarge', memoryMB: 7578, threads: 1, pricePerHour: 0.362, description: '1 accelerator chip (inf1.2xlarge-like)' },
    { name: 'gpu-xlarge', memoryMB: 15360, threads: 1, pricePerHour: 0.526, description: '1 T4-class GPU (g4dn.xlarge-like)' },
    { name: 'accel-6xlarge', memoryMB: 4 * 7578, threads: 4, pricePerHour: 1.18, description: '4 accelerator chips (inf1.6xlarge-like)' },
    { name: 'gpu-12xlarge', memoryMB: 4 * 15360, threads: 4, pricePerHour: 3.912, description: '4 T4-class GPUs (g4dn.12xlarge-like)' },
  ];
  writeFileSync(join(OUT, 'study-classes.json'), JSON.stringify(classes, null, 2) + '\n');
  console.log(`wrote ${OUT}/{3000-models,78-models,study-classes}.json`);
}

await main();
