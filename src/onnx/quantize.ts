// Dynamic int8 quantization of any fp32 ONNX model (opset >= 11), no calibration data needed: weights become int8
// per output channel, symmetric. (With calibration samples, prefer quantize-static.ts: faster CNNs, batch-independent.)
//
// MatMul / Gemm with a constant weight  -> DynamicQuantizeLinear(x) + MatMulInteger + Cast + Mul(scale) [+ Add(bias)]
// Conv with a constant weight (convMode 'integer') -> DynamicQuantizeLinear(x) + ConvInteger + Cast + Mul + Add
// Conv (convMode 'weights', default)           -> DequantizeLinear(int8 weight) feeding the original Conv (weight-only)
// Activations are quantized per tensor at run time (uint8, asymmetric), the scheme of ORT's quantize_dynamic,
// so results can depend slightly on which samples share a batch. Nodes it cannot handle stay fp32.

import { invalidModel } from '../core/errors.ts';
import {
  attr,
  DataType,
  decodeModel,
  encodeModel,
  floatTensor,
  int8Tensor,
  node,
  readFloatTensor,
  toNum,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from './onnx-builder.ts';
import type onnxProto from 'onnx-proto';

export interface QuantizeOptions {
  /** How to quantize Conv: integer arithmetic (ConvInteger) or weight-only DequantizeLinear (default: faster in ORT CPU). */
  convMode?: 'integer' | 'weights';
  /** Weights with fewer elements stay fp32 (default 256). */
  minElements?: number;
}

export interface QuantizeReport {
  quantized: string[];
  skipped: string[];
}

/** Per-channel symmetric int8 of W viewed as [rows, cols], one scale per `axis` entry (0: rows, 1: cols). */
export function quantizeSymmetric(w: Float32Array, rows: number, cols: number, axis: 0 | 1): { q: Int8Array; scale: Float32Array } {
  const nScale = axis === 0 ? rows : cols;
  const max = new Float32Array(nScale);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const k = axis === 0 ? r : c;
    max[k] = Math.max(max[k], Math.abs(w[r * cols + c]));
  }
  const scale = max.map((m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const s = scale[axis === 0 ? r : c];
    q[r * cols + c] = Math.max(-127, Math.min(127, Math.round(w[r * cols + c] / s)));
  }
  return { q, scale };
}

export function getAttr(n: NodeProto, name: string): AttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}

export function intAttr(n: NodeProto, name: string, dflt: number): number {
  const a = getAttr(n, name);
  return a ? toNum(a.i) : dflt;
}

export function floatAttr(n: NodeProto, name: string, dflt: number): number {
  const a = getAttr(n, name);
  return a?.f ?? dflt;
}

/** Returns a quantized copy of `model`; the input is not modified. */
export function quantizeModel(model: onnxProto.onnx.IModelProto, opts: QuantizeOptions = {}, report?: QuantizeReport): ModelProto {
  const m = decodeModel(encodeModel(model));
  const g = m.graph;
  if (!g) throw invalidModel('cannot quantize: the model has no graph');
  const opset = toNum((m.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (opset < 11) throw invalidModel(`cannot quantize: the model uses opset ${opset}, dynamic quantization needs opset 11 or later`);
  const minElements = opts.minElements ?? 256;
  const convMode = opts.convMode ?? 'weights';
  const inits = new Map<string, TensorProto>((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const added: TensorProto[] = [];
  const out: NodeProto[] = [];
  const rep = report ?? { quantized: [], skipped: [] };
  let uid = 0;

  const constFloat = (name: string | undefined): { t: TensorProto; dims: number[] } | undefined => {
    const t = name ? inits.get(name) : undefined;
    if (!t || t.dataType !== DataType.FLOAT) return undefined;
    const dims = (t.dims ?? []).map(toNum);
    return dims.reduce((a, b) => a * b, 1) >= minElements ? { t, dims } : undefined;
  };

  /** x -> (xq, xscale, xzp) via DynamicQuantizeLinear; returns the names. */
  const dynQuant = (p: string, x: string): [string, string, string] => {
    const names: [string, string, string] = [`${p}_xq`, `${p}_xscale`, `${p}_xzp`];
    out.push(node('DynamicQuantizeLinear', [x], [...names], [], `${p}_dql`));
    return names;
  };

  /** int32 accumulator -> float * (xscale * wscale) [+ bias] -> output. */
  const rescale = (p: string, acc: string, xscale: string, wscale: string, bias: string | undefined, output: string) => {
    out.push(node('Cast', [acc], [`${p}_accf`], [attr.int('to', DataType.FLOAT)], `${p}_cast`));
    out.push(node('Mul', [xscale, wscale], [`${p}_scale`], [], `${p}_scalemul`));
    out.push(node('Mul', [`${p}_accf`, `${p}_scale`], [bias ? `${p}_mul` : output], [], `${p}_mul`));
    if (bias) out.push(node('Add', [`${p}_mul`, bias], [output], [], `${p}_bias`));
  };

  for (const n of g.node ?? []) {
    const inputs = n.input ?? [];
    const p = `q${uid}_${(n.name || n.output?.[0] || n.opType || 'node').replace(/[^A-Za-z0-9_]/g, '_')}`;
    if (n.opType === 'MatMul' || n.opType === 'Gemm') {
      const w = constFloat(inputs[1]);
      const isGemm = n.opType === 'Gemm';
      const gemmOk = !isGemm || (intAttr(n, 'transA', 0) === 0 && floatAttr(n, 'alpha', 1) === 1 && (!inputs[2] || floatAttr(n, 'beta', 1) === 1));
      if (w && w.dims.length === 2 && !inits.has(inputs[0]) && gemmOk) {
        uid++;
        let [k, cols] = w.dims;
        let data = readFloatTensor(w.t);
        if (isGemm && intAttr(n, 'transB', 0) === 1) {
          // stored [N, K]: transpose to [K, N]
          const [nOut, kIn] = w.dims;
          const tr = new Float32Array(data.length);
          for (let r = 0; r < nOut; r++) for (let c = 0; c < kIn; c++) tr[c * nOut + r] = data[r * kIn + c];
          data = tr;
          [k, cols] = [kIn, nOut];
        }
        const { q, scale } = quantizeSymmetric(data, k, cols, 1);
        added.push(int8Tensor(`${p}_wq`, [k, cols], q), floatTensor(`${p}_wscale`, [cols], scale));
        const [xq, xs, xzp] = dynQuant(p, inputs[0]);
        out.push(node('MatMulInteger', [xq, `${p}_wq`, xzp], [`${p}_acc`], [], `${p}_mmi`));
        rescale(p, `${p}_acc`, xs, `${p}_wscale`, isGemm && inputs[2] ? inputs[2] : undefined, n.output![0]);
        rep.quantized.push(`${n.opType} ${n.name ?? ''}`.trim());
        continue;
      }
    } else if (n.opType === 'Conv') {
      const w = constFloat(inputs[1]);
      if (w && w.dims.length >= 3 && !inits.has(inputs[0])) {
        uid++;
        const cout = w.dims[0];
        const per = w.dims.slice(1).reduce((a, b) => a * b, 1);
        const { q, scale } = quantizeSymmetric(readFloatTensor(w.t), cout, per, 0);
        const spatial = w.dims.length - 2;
        if (convMode === 'weights') {
          added.push(int8Tensor(`${p}_wq`, w.dims, q), floatTensor(`${p}_wscale`, [cout], scale), int8Tensor(`${p}_wzp`, [cout], new Int8Array(cout)));
          out.push(node('DequantizeLinear', [`${p}_wq`, `${p}_wscale`, `${p}_wzp`], [`${p}_w`], [attr.int('axis', 0)], `${p}_dq`));
          out.push({ ...n, input: [inputs[0], `${p}_w`, ...inputs.slice(2)] });
        } else {
          const bcast = [cout, ...new Array(spatial).fill(1)];
          added.push(int8Tensor(`${p}_wq`, w.dims, q), floatTensor(`${p}_wscale`, bcast, scale));
          let bias: string | undefined;
          const b = inputs[2] ? inits.get(inputs[2]) : undefined;
          if (inputs[2] && b && b.dataType === DataType.FLOAT) {
            bias = `${p}_bias`;
            added.push(floatTensor(bias, bcast, readFloatTensor(b)));
          } else if (inputs[2]) {
            out.push(node('Reshape', [inputs[2], `${p}_bshape`], [`${p}_bias`], [], `${p}_breshape`));
            added.push({ name: `${p}_bshape`, dims: [bcast.length], dataType: DataType.INT64, int64Data: bcast });
            bias = `${p}_bias`;
          }
          const [xq, xs, xzp] = dynQuant(p, inputs[0]);
          const keep = (n.attribute ?? []).filter((a) => ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'].includes(a.name ?? ''));
          out.push(node('ConvInteger', [xq, `${p}_wq`, xzp], [`${p}_acc`], keep, `${p}_convi`));
          rescale(p, `${p}_acc`, xs, `${p}_wscale`, bias, n.output![0]);
        }
        rep.quantized.push(`Conv ${n.name ?? ''}`.trim());
        continue;
      }
    }
    if (['MatMul', 'Gemm', 'Conv'].includes(n.opType ?? '')) rep.skipped.push(`${n.opType} ${n.name ?? ''}`.trim());
    out.push(n);
  }

  // Drop initializers (and IR<4 style graph inputs) that nothing reads any more.
  const used = new Set(out.flatMap((n) => n.input ?? []));
  for (const o of g.output ?? []) used.add(o.name ?? '');
  g.initializer = [...(g.initializer ?? []).filter((t) => used.has(t.name ?? '')), ...added];
  g.input = (g.input ?? []).filter((i) => !inits.has(i.name ?? '') || used.has(i.name ?? ''));
  g.node = out as onnxProto.onnx.NodeProto[];
  m.producerName = `${m.producerName || 'unknown'}+infaas-int8`;
  return m;
}

/** Bytes in, bytes out: quantizes an fp32 ONNX file. */
export function quantizeOnnx(bytes: Uint8Array, opts: QuantizeOptions = {}): Uint8Array {
  let m: ModelProto;
  try {
    m = decodeModel(bytes);
  } catch {
    throw invalidModel('not an ONNX model (could not parse protobuf)');
  }
  return encodeModel(quantizeModel(m, opts));
}
