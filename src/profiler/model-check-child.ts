// Entry point of the model check process (forked by model-check.ts): for each request, loads the model from its
// bytes in ONNX Runtime at each optimisation level and runs it on zeros at each batch size, then answers. It leaves
// when its parent goes away.

import * as ort from 'onnxruntime-node';
import { asInfaasError, excerpt, invalidModel } from '../core/errors.ts';
import { sizeOf } from '../core/types.ts';
import { ortReason } from '../onnx/ort-message.ts';
import type { CheckReply, CheckRequest } from './model-check.ts';

/** Most float32 values one zero input may hold (the registry bounds a sample's size; this bounds the batch too). */
const MAX_INPUT_VALUES = 2 ** 28;

async function check(req: CheckRequest): Promise<void> {
  const per = sizeOf(req.inputShape);
  if (!(per * Math.max(...req.batches) <= MAX_INPUT_VALUES)) throw invalidModel(`an input of shape [${req.inputShape}] is too large to check`);
  for (const optLevel of req.optLevels) {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(req.model, {
        executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
        graphOptimizationLevel: optLevel === 'all' ? 'all' : 'basic', logSeverityLevel: 4,
      });
    } catch (e) {
      throw invalidModel(`ONNX Runtime cannot load the model: ${ortReason(e)}`);
    }
    try {
      for (const b of req.batches) {
        const shape = [b, ...req.inputShape];
        let out: ort.InferenceSession.OnnxValueMapType;
        try {
          out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(b * per), shape) });
        } catch (e) {
          throw invalidModel(`the model failed to run on a zero input of shape [${shape}]: ${ortReason(e)}`);
        }
        const name = session.outputNames[0];
        const t = out[name] as ort.Tensor | undefined;
        if (!t || t.type !== 'float32') throw invalidModel(`the model's first output ${excerpt(name, 40)} is ${t?.type ?? 'missing'}; it must be float32`);
        if (t.dims[0] !== b || t.size === 0) {
          throw invalidModel(`the model's first output ${excerpt(name, 40)} has shape [${t.dims}] for a batch of ${b}; its first dimension must be the batch`);
        }
      }
    } finally {
      await session.release().catch(() => undefined);
    }
  }
}

process.on('message', (raw) => {
  const req = raw as CheckRequest;
  void check(req).then(
    () => ({ id: req.id }),
    (e: unknown) => ({ id: req.id, error: asInfaasError(e).toJSON() }),
  ).then((reply: CheckReply) => process.send?.(reply));
});
process.once('disconnect', () => process.exit(0));
