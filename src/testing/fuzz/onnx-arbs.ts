// Fuzzing: ONNX files — a valid small classifier built with onnx-builder and the zoo's models, changed by structured
// mutations (opsets, element types, shapes, operators, dangling inputs, mismatched weights, nested subgraphs, long
// names), by byte flips and truncation, and random protobuf bytes.

import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { attr, buildModel, DataType, decodeModel, encodeModel, floatTensor, node, valueInfo } from '../../onnx/onnx-builder.ts';
import { SUPPORTED_OPS } from '../../onnx/inspect-model.ts';
import { ZOO_DIR, readZooManifest } from '../../zoo/manifest.ts';
import { rarely } from './hostile.ts';

type IModel = onnxProto.onnx.IModelProto;

export interface OnnxCase {
  label: string;
  bytes: Uint8Array;
  /** The mutations left the model a valid [N,1,28,28] float classifier (it should register and serve). */
  valid: boolean;
}

/** input [N,1,28,28] → Flatten → MatMul → Softmax → probs [N,classes]: small and valid for fashion-mnist. */
export function smallClassifier(classes = 10): IModel {
  const w = new Float32Array(784 * classes);
  for (let i = 0; i < w.length; i++) w[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return buildModel({
    name: 'fuzz-small',
    inputs: [valueInfo('input', DataType.FLOAT, ['N', 1, 28, 28])],
    outputs: [valueInfo('probs', DataType.FLOAT, ['N', classes])],
    nodes: [node('Flatten', ['input'], ['flat'], [attr.int('axis', 1)]), node('MatMul', ['flat', 'W'], ['logits']), node('Softmax', ['logits'], ['probs'], [attr.int('axis', 1)])],
    initializers: [floatTensor('W', [784, classes], w)],
  });
}

let zooCache: Array<{ name: string; bytes: Uint8Array }> | undefined;
/** The zoo's fashion-mnist and mnist artifacts under 200 kB (all take [N,1,28,28]; the larger ones only cost time). */
export function zooModels(): Array<{ name: string; bytes: Uint8Array }> {
  zooCache ??= readZooManifest().useCases.flatMap((u) => u.architectures.flatMap((a) => a.artifacts.filter((x) => x.bytes < 200_000).map((x) => ({ name: `${a.name}.${x.precision}`, bytes: readFileSync(join(ZOO_DIR, x.file)) }))));
  return zooCache;
}

type Mutation =
  | { k: 'opset'; v: number }
  | { k: 'ir'; v: number }
  | { k: 'elemType'; v: number }
  | { k: 'inputShape'; dims: Array<number | string> }
  | { k: 'addInput' }
  | { k: 'dropInputs' }
  | { k: 'dropOutputs' }
  | { k: 'opType'; at: number; op: string }
  | { k: 'domain'; at: number; domain: string }
  | { k: 'dangling'; at: number }
  | { k: 'weightDims'; dims: number[] }
  | { k: 'weightBytes'; keep: number }
  | { k: 'dropNodes' }
  | { k: 'nestedIf'; depth: number }
  | { k: 'inputName'; name: string }
  | { k: 'dropGraph' };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('opset' as const), v: fc.constantFrom(0, 1, 6, 7, 13, 21, 22, 99, -1, 2 ** 40) }),
  fc.record({ k: fc.constant('ir' as const), v: fc.constantFrom(0, 1, 3, 7, 10, 99, -5) }),
  fc.record({ k: fc.constant('elemType' as const), v: fc.constantFrom(0, 2, 3, 6, 7, 10, 11, 16, 99) }),
  fc.record({ k: fc.constant('inputShape' as const), dims: fc.array(fc.oneof(fc.constantFrom('N', 'batch', '', '?'), fc.constantFrom(-1, 0, 1, 3, 28, 29, 784, 2 ** 31, 2 ** 40)), { maxLength: 6 }) }),
  fc.constant({ k: 'addInput' as const }),
  fc.constant({ k: 'dropInputs' as const }),
  fc.constant({ k: 'dropOutputs' as const }),
  fc.record({ k: fc.constant('opType' as const), at: fc.nat(3), op: fc.oneof(fc.constantFrom(...SUPPORTED_OPS), fc.constantFrom('FooBar', 'Loop', 'Scan', 'If', 'NonMaxSuppression', '', 'x'.repeat(5000))) }),
  fc.record({ k: fc.constant('domain' as const), at: fc.nat(3), domain: fc.constantFrom('com.microsoft', 'ai.onnx.ml', 'evil', 'ai.onnx') }),
  fc.record({ k: fc.constant('dangling' as const), at: fc.nat(3) }),
  fc.record({ k: fc.constant('weightDims' as const), dims: fc.array(fc.constantFrom(0, 1, 10, 28, 783, 784, 785, 2 ** 20), { minLength: 1, maxLength: 3 }) }),
  fc.record({ k: fc.constant('weightBytes' as const), keep: fc.nat(40_000) }),
  fc.constant({ k: 'dropNodes' as const }),
  fc.record({ k: fc.constant('nestedIf' as const), depth: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1000, max: 20_000 })) }),
  fc.record({ k: fc.constant('inputName' as const), name: fc.oneof(fc.constantFrom('', '\u0000', 'in put', '../x'), fc.integer({ min: 300, max: 100_000 }).map((n) => 'n'.repeat(n))) }),
  fc.constant({ k: 'dropGraph' as const }),
);

/** Protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/**
 * A NodeProto `If` whose then_branch holds a graph with another `If`, `depth` levels deep — written back to front
 * by hand, since protobufjs's own encoder overflows the stack at a few thousand levels (a parser that recurses may too).
 */
function deepIfNode(depth: number): Uint8Array {
  const chunks: number[][] = [];
  // innermost: a node Identity(input) -> deep
  const leaf = [...[0x0a, 5, ...Buffer.from('input')], ...[0x12, 4, ...Buffer.from('deep')], ...[0x22, 8, ...Buffer.from('Identity')]];
  let len = leaf.length;
  chunks.push(leaf);
  for (let i = 0; i < depth; i++) {
    const graphPrefix = [0x0a, ...varint(len)]; // GraphProto.node (1)
    const graphLen = graphPrefix.length + len;
    const attrPrefix = [0x0a, 11, ...Buffer.from('then_branch'), 0xa0, 0x01, 5, 0x32, ...varint(graphLen)]; // name, type GRAPH, g (6)
    const attrLen = attrPrefix.length + graphLen;
    const nodePrefix = [0x22, 2, ...Buffer.from('If'), 0x2a, ...varint(attrLen)]; // op_type (4), attribute (5)
    chunks.push(graphPrefix, attrPrefix, nodePrefix);
    len = nodePrefix.length + attrLen;
  }
  return Uint8Array.from(chunks.reverse().flat());
}

/** The model's bytes with one more graph node appended (repeated fields may be split across the message). */
function withExtraNode(m: IModel, nodeBytes: Uint8Array): Uint8Array {
  const graph = m.graph ? onnxProto.onnx.GraphProto.encode(m.graph).finish() : new Uint8Array(0);
  const graphBytes = Buffer.concat([graph, Uint8Array.from([0x0a, ...varint(nodeBytes.length)]), nodeBytes]);
  const rest = encodeModel({ ...m, graph: null });
  return Buffer.concat([rest, Uint8Array.from([0x3a, ...varint(graphBytes.length)]), graphBytes]); // ModelProto.graph (7)
}

/** Applies one mutation in place. */
function apply(m: IModel, mu: Mutation): void {
  const g = m.graph ?? (m.graph = {});
  const nodes = g.node ?? [];
  const input = g.input?.[0];
  switch (mu.k) {
    case 'opset': m.opsetImport = [{ domain: '', version: mu.v }]; break;
    case 'ir': m.irVersion = mu.v; break;
    case 'elemType': if (input?.type?.tensorType) input.type.tensorType.elemType = mu.v; break;
    case 'inputShape': if (input?.type?.tensorType) input.type.tensorType.shape = { dim: mu.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) }; break;
    case 'addInput': g.input = [...(g.input ?? []), valueInfo('extra', DataType.FLOAT, ['N', 3])]; break;
    case 'dropInputs': g.input = []; break;
    case 'dropOutputs': g.output = []; break;
    case 'opType': if (nodes.length) nodes[mu.at % nodes.length].opType = mu.op; break;
    case 'domain': if (nodes.length) nodes[mu.at % nodes.length].domain = mu.domain; break;
    case 'dangling': if (nodes.length) nodes[mu.at % nodes.length].input = ['no-such-tensor']; break;
    case 'weightDims': if (g.initializer?.[0]) g.initializer[0].dims = mu.dims; break;
    case 'weightBytes': if (g.initializer?.[0]?.rawData) g.initializer[0].rawData = g.initializer[0].rawData.subarray(0, mu.keep); break;
    case 'dropNodes': g.node = []; break;
    case 'nestedIf': break; // applied to the bytes, after encoding
    case 'inputName': if (input) input.name = mu.name; break;
    case 'dropGraph': m.graph = null; break;
  }
}

function byteMutate(bytes: Uint8Array, flips: Array<[number, number]>, cut: number | null): Uint8Array {
  const b = Buffer.from(bytes);
  for (const [at, v] of flips) b[at % b.length] = v;
  return cut === null ? b : b.subarray(0, cut % (b.length + 1));
}

/** Random bytes shaped like protobuf: a run of field keys with varint, fixed or length-delimited values. */
const protobufLike = fc.array(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom(0, 1, 2, 5, 3, 7), fc.uint8Array({ maxLength: 24 })), { maxLength: 24 }).map((fields) => {
  const out: number[] = [];
  for (const [field, wire, payload] of fields) {
    out.push((field << 3) | wire);
    if (wire === 2) out.push(payload.length);
    out.push(...payload.subarray(0, wire === 0 ? 1 : wire === 1 ? 8 : wire === 5 ? 4 : payload.length));
  }
  return Uint8Array.from(out);
});

/** An ONNX model file, valid or hostile. */
export function onnxArb(): fc.Arbitrary<OnnxCase> {
  const base = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 12 }).map((classes) => ({ name: `small-${classes}`, make: () => smallClassifier(classes), valid: true })) },
    { weight: 1, arbitrary: fc.nat().map((i) => { const z = zooModels()[i % zooModels().length]; return { name: `zoo ${z.name}`, make: () => decodeModel(z.bytes) as IModel, valid: true }; }) },
  );
  const structured = fc.tuple(base, fc.array(mutationArb, { maxLength: 3 })).map(([b, mus]): OnnxCase => {
    const m = b.make();
    for (const mu of mus) apply(m, mu);
    const valid = b.valid && mus.length === 0;
    const deep = mus.find((mu) => mu.k === 'nestedIf');
    const bytes = deep ? withExtraNode(m, deepIfNode(deep.depth)) : encodeModel(m);
    return { label: `${b.name}${mus.map((mu) => ` +${mu.k}${'v' in mu ? `=${mu.v}` : 'op' in mu ? `=${mu.op.slice(0, 20)}` : 'depth' in mu ? `=${mu.depth}` : ''}`).join('')}`, bytes, valid };
  });
  const bytesMutated = fc.tuple(structured, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), rarely(fc.nat(), 3)).map(([c, flips, cut]): OnnxCase => ({
    label: `${c.label}, ${flips.length} byte(s) flipped${cut === null ? '' : ', cut'}`,
    bytes: byteMutate(c.bytes, flips, cut),
    valid: false,
  }));
  return fc.oneof(
    { weight: 4, arbitrary: structured },
    { weight: 3, arbitrary: bytesMutated },
    { weight: 1, arbitrary: protobufLike.map((bytes): OnnxCase => ({ label: `${bytes.length} protobuf-like bytes`, bytes, valid: false })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes): OnnxCase => ({ label: `${bytes.length} random bytes`, bytes, valid: false })) },
  );
}
