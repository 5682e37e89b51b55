// Backend on onnxruntime-node (native ONNX Runtime, CPU execution provider).
import * as ort from 'onnxruntime-node';
import type { Backend, LoadedModel, LoadOptions } from '../backend.ts';
import type { Tensor } from '../../core/types.ts';
import { buildModel, encodeModel, node, valueInfo } from '../../onnx/onnx-builder.ts';
import { ortReason } from '../../onnx/ort-message.ts';

const FLOAT = 1;

class OrtModel implements LoadedModel {
  readonly inputName: string;
  readonly outputNames: readonly string[];
  readonly inputShape: readonly number[];
  #session: ort.InferenceSession;

  constructor(session: ort.InferenceSession) {
    this.#session = session;
    this.inputName = session.inputNames[0];
    this.outputNames = session.outputNames;
    const meta = (session as any).inputMetadata?.[0];
    this.inputShape = Array.isArray(meta?.shape) ? meta.shape.map((d: unknown) => (typeof d === 'number' ? d : -1)) : [];
  }

  async infer(input: Tensor): Promise<Record<string, Tensor>> {
    const feeds = { [this.inputName]: new ort.Tensor('float32', input.data, input.shape) };
    const out = await this.#session.run(feeds);
    const result: Record<string, Tensor> = {};
    for (const name of this.outputNames) {
      const t = out[name];
      result[name] = { shape: t.dims.slice(), data: t.data as Float32Array };
    }
    return result;
  }

  async unload(): Promise<void> {
    await this.#session.release();
  }
}

export class OrtNativeBackend implements Backend {
  readonly kind = 'ort-cpu';

  /** Creates and runs a one-node model in memory: ONNX Runtime's process-wide start-up happens here. */
  async warmUp(): Promise<void> {
    const bytes = encodeModel(buildModel({ name: 'warm-up', inputs: [valueInfo('x', FLOAT, [1])], outputs: [valueInfo('y', FLOAT, [1])], nodes: [node('Relu', ['x'], ['y'])], initializers: [] }));
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 });
    await session.run({ x: new ort.Tensor('float32', new Float32Array(1), [1]) });
    await session.release();
  }

  /** Rejects with ONNX Runtime's reason, without the file's path (callers name the model by its key). */
  async load(opts: LoadOptions): Promise<LoadedModel> {
    const session = await ort.InferenceSession.create(opts.path, {
      executionProviders: ['cpu'],
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: opts.optLevel === 'all' ? 'all' : 'basic',
      executionMode: 'sequential',
      // Errors reach the caller as exceptions; keep ORT's own stderr logging to fatal only.
      logSeverityLevel: 4,
    }).catch((e: unknown) => {
      throw new Error(ortReason(e, [opts.path]));
    });
    return new OrtModel(session);
  }
}
