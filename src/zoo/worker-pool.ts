// Runs training jobs on a fixed number of worker threads, longest jobs first, and collects the results.

import { Worker } from 'node:worker_threads';
import type { TrainJob, TrainResult } from './train-job.ts';

/** Workers do not inherit tsx's module hooks: each one registers tsx itself, then imports the .ts entry. */
const TSX_API = import.meta.resolve('tsx/esm/api');
const BOOT = `const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((t) => { t.register(); return import(workerData.entry); });`;

type Reply = { ok: true; result: TrainResult } | { ok: false; error: string };

export async function runJobs(jobs: TrainJob[], threads: number, onDone?: (r: TrainResult) => void): Promise<TrainResult[]> {
  const queue = jobs.slice();
  const results: TrainResult[] = [];
  const url = new URL('./train-worker.ts', import.meta.url);
  const runOne = (w: Worker, job: TrainJob): Promise<TrainResult> =>
    new Promise((resolve, reject) => {
      const onMsg = (m: Reply) => {
        w.off('error', onErr);
        if (m.ok) resolve(m.result);
        else reject(new Error(`training ${job.dataset}/${job.suffix} failed: ${m.error}`));
      };
      const onErr = (e: Error) => {
        w.off('message', onMsg);
        reject(e);
      };
      w.once('message', onMsg);
      w.once('error', onErr);
      w.postMessage(job);
    });
  const lane = async () => {
    const w = new Worker(BOOT, { eval: true, workerData: { entry: url.href, tsx: TSX_API } });
    try {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const r = await runOne(w, job);
        results.push(r);
        onDone?.(r);
      }
    } finally {
      await w.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, threads) }, lane));
  return results;
}
