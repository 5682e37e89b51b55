// worker_threads entry: receives TrainJob messages, answers with TrainResult (or an error string).

import { parentPort } from 'node:worker_threads';
import { runTrainJob, type TrainJob } from './train-job.ts';

parentPort?.on('message', (job: TrainJob) => {
  try {
    const r = runTrainJob(job);
    parentPort?.postMessage({ ok: true, result: r }, [r.onnx.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
});
