// Exports a trained Sequential as an ONNX model: input `input` [N, ...sampleShape], output `probs` [N, classes].

import { attr, buildModel, DataType, floatTensor, node, valueInfo, type ModelProto, type NodeProto, type TensorProto } from '../onnx/onnx-builder.ts';
import type { Sequential } from './train/model.ts';

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'probs';

export interface ExportOptions {
  graphName: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/** Conv (3x3 pad 1), Relu, MaxPool (2x2 s2), Flatten (axis 1), Gemm (transB 1); a final Softmax(axis 1). */
export function exportSequential(model: Sequential, opts: ExportOptions): ModelProto {
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let cur = INPUT_NAME;
  model.layers.forEach((l, i) => {
    const out = `t${i}_${l.kind}`;
    const names = l.params.map((p) => p.name);
    l.params.forEach((p) => inits.push(floatTensor(p.name, p.shape, p.value)));
    switch (l.kind) {
      case 'conv3x3':
        nodes.push(node('Conv', [cur, ...names], [out], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [1, 1])]));
        break;
      case 'relu':
        nodes.push(node('Relu', [cur], [out]));
        break;
      case 'maxpool2':
        nodes.push(node('MaxPool', [cur], [out], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])]));
        break;
      case 'flatten':
        nodes.push(node('Flatten', [cur], [out], [attr.int('axis', 1)]));
        break;
      case 'dense':
        nodes.push(node('Gemm', [cur, ...names], [out], [attr.int('transB', 1)]));
        break;
    }
    cur = out;
  });
  nodes.push(node('Softmax', [cur], [OUTPUT_NAME], [attr.int('axis', 1)]));
  return buildModel({
    name: opts.graphName,
    inputs: [valueInfo(INPUT_NAME, DataType.FLOAT, ['N', ...model.inputShape])],
    outputs: [valueInfo(OUTPUT_NAME, DataType.FLOAT, ['N', model.outputSize])],
    nodes,
    initializers: inits,
    docString: opts.docString,
    metadata: opts.metadata,
  });
}
