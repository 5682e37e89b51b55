// Small helpers to build, encode, decode and read ONNX ModelProto messages with onnx-proto (protobufjs types).

import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export { onnx };
export type ModelProto = onnxProto.onnx.ModelProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

export const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;

/** The opset our builders emit. */
export const DEFAULT_OPSET = 13;
export const DEFAULT_IR_VERSION = 7;

/** protobufjs gives int64 fields as number or Long; this turns either into a number. */
export function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'toNumber' in v && typeof (v as { toNumber: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

function rawBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

export function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`tensor ${name}: ${data.length} values for dims [${dims}]`);
  return { name, dims, dataType: DataType.FLOAT, rawData: rawBytes(data) };
}

export function int8Tensor(name: string, dims: number[], data: Int8Array): TensorProto {
  return { name, dims, dataType: DataType.INT8, rawData: rawBytes(data) };
}

export function uint8Tensor(name: string, dims: number[], data: Uint8Array): TensorProto {
  return { name, dims, dataType: DataType.UINT8, rawData: rawBytes(data) };
}

export function int64Tensor(name: string, dims: number[], data: number[]): TensorProto {
  return { name, dims, dataType: DataType.INT64, rawData: rawBytes(BigInt64Array.from(data.map((v) => BigInt(v)))) };
}

/** Float contents of a FLOAT tensor, whether stored in rawData or floatData. */
export function readFloatTensor(t: TensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new Error(`tensor ${t.name}: expected FLOAT, got data type ${t.dataType}`);
  const n = (t.dims ?? []).reduce((a: number, d) => a * toNum(d), 1);
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  const out = new Float32Array(n);
  (t.floatData ?? []).forEach((v, i) => (out[i] = v));
  return out;
}

export const attr = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttrType.INT, i }),
  ints: (name: string, ints: number[]): AttributeProto => ({ name, type: AttrType.INTS, ints }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttrType.FLOAT, f }),
  string: (name: string, s: string): AttributeProto => ({ name, type: AttrType.STRING, s: new TextEncoder().encode(s) }),
};

export function node(opType: string, inputs: string[], outputs: string[], attributes: AttributeProto[] = [], name?: string): NodeProto {
  return { opType, input: inputs, output: outputs, attribute: attributes, name: name ?? `${opType}_${outputs[0]}` };
}

/** A tensor value-info; a string dim is symbolic (e.g. 'N'). */
export function valueInfo(name: string, elemType: number, shape: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

export interface GraphSpec {
  name: string;
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  nodes: NodeProto[];
  initializers: TensorProto[];
  opset?: number;
  docString?: string;
  metadata?: Record<string, string>;
}

export function buildModel(g: GraphSpec): ModelProto {
  return onnx.ModelProto.create({
    irVersion: DEFAULT_IR_VERSION,
    producerName: 'infaas-ts',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: g.opset ?? DEFAULT_OPSET }],
    docString: g.docString ?? '',
    metadataProps: Object.entries(g.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: { name: g.name, input: g.inputs, output: g.outputs, node: g.nodes, initializer: g.initializers },
  });
}

export function encodeModel(m: onnxProto.onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}

/** Decodes ONNX bytes; throws protobufjs errors on garbage (callers wrap them). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}
