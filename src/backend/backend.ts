// The backend contract: how a variant runs. One small interface (load, infer, unload, memory); ORT native
// (onnxruntime-node) in `ort-native/`, later ORT WebAssembly. A backend instance serves one worker process.
//
// Ownership: `load` returns a LoadedModel the caller owns; it must call `unload` exactly once. `infer` may be
// called concurrently; an implementation serialises runs on one session itself if it has to. Input data is
// not retained after the promise resolves.

import type { OptLevel, Tensor } from '../core/types.ts';

export interface LoadOptions {
  /** Local path of the ONNX file. */
  path: string;
  threads: number;
  optLevel: OptLevel;
}

export interface LoadedModel {
  readonly inputName: string;
  readonly outputNames: readonly string[];
  /** Input dims as declared in the graph; symbolic or dynamic dims are -1. */
  readonly inputShape: readonly number[];
  /** Runs one batch: input shape is [batch, ...sampleShape]; returns every output. */
  infer(input: Tensor): Promise<Record<string, Tensor>>;
  unload(): Promise<void>;
}

export interface Backend {
  readonly kind: string;
  load(opts: LoadOptions): Promise<LoadedModel>;
  /**
   * Optional one-time start-up of the runtime (thread pools, allocators), called by a worker before it takes
   * traffic so that its first cold start costs what the later ones cost.
   */
  warmUp?(): Promise<void>;
}
