// Registration-time inspection: a zoo model passes; corrupt bytes, unknown ops and wrong inputs fail clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfaasError } from '../core/errors.ts';
import { ZOO_DIR } from '../zoo/manifest.ts';
import { buildModel, DataType, encodeModel, floatTensor, node, valueInfo } from './onnx-builder.ts';
import { inspectModel, validateForUseCase } from './inspect-model.ts';

const UC = 'classification/fashion-mnist';
const zooFile = (f: string) => new Uint8Array(readFileSync(join(ZOO_DIR, 'fashion-mnist', f)));

function invalidModel(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof InfaasError, `not an InfaasError: ${e}`);
    assert.equal(e.code, 'INVALID_MODEL');
    assert.match(e.message, pattern);
    return true;
  };
}

function tiny(opts: { op?: string; inputs?: { name: string; type: number; shape: (number | string)[] }[] } = {}): Uint8Array {
  const inputs = opts.inputs ?? [{ name: 'input', type: DataType.FLOAT, shape: ['N', 1, 28, 28] }];
  return encodeModel(
    buildModel({
      name: 'tiny',
      inputs: inputs.map((i) => valueInfo(i.name, i.type, i.shape)),
      outputs: [valueInfo('probs', DataType.FLOAT, ['N', 784])],
      nodes: [node('Flatten', [inputs[0].name], ['f']), node(opts.op ?? 'Relu', ['f'], ['probs'])],
      initializers: [floatTensor('unused', [1], Float32Array.of(1))],
    }),
  );
}

test('every zoo model of a use case passes inspection and validation', () => {
  for (const f of ['fmnist-linear.fp32.onnx', 'fmnist-cnn-m.fp32.onnx', 'fmnist-cnn-m.int8.onnx']) {
    const info = inspectModel(zooFile(f));
    assert.deepEqual(info.inputs, [{ name: 'input', shape: ['N', 1, 28, 28], elemType: 'float' }]);
    assert.equal(info.outputs[0].name, 'probs');
    assert.equal(info.opsetVersion, 13);
    assert.ok(info.ops.includes('Softmax'));
    validateForUseCase(info, [1, 28, 28], UC);
  }
  assert.ok(inspectModel(zooFile('fmnist-cnn-m.fp32.onnx')).ops.includes('Conv'));
  assert.ok(inspectModel(zooFile('fmnist-cnn-m.int8.onnx')).ops.includes('QuantizeLinear'));
});

test('corrupt bytes are not an ONNX model', () => {
  const good = zooFile('fmnist-linear.fp32.onnx');
  assert.throws(() => inspectModel(good.subarray(0, good.length - 1000)), invalidModel(/^not an ONNX model \(could not parse protobuf\)$/));
  assert.throws(() => inspectModel(new TextEncoder().encode('this is a JPEG, honestly')), invalidModel(/^not an ONNX model/));
  assert.throws(() => inspectModel(new Uint8Array(0)), invalidModel(/^not an ONNX model/));
});

test('an unsupported operator is named, with the supported list', () => {
  const info = inspectModel(tiny({ op: 'FooBar' }));
  assert.deepEqual(info.ops, ['Flatten', 'FooBar']);
  assert.throws(() => validateForUseCase(info, [1, 28, 28], UC), invalidModel(/^unsupported operator "FooBar" \(supported: .*Conv, .*Relu, .*\)$/));
});

test('a wrong input shape says what was expected', () => {
  const info = inspectModel(tiny({ inputs: [{ name: 'input', type: DataType.FLOAT, shape: ['N', 3, 224, 224] }] }));
  assert.throws(() => validateForUseCase(info, [1, 28, 28], UC), invalidModel(/^model input "input" has shape \[N,3,224,224\] but use case classification\/fashion-mnist expects \[N,1,28,28\]$/));
  const rank = inspectModel(tiny({ inputs: [{ name: 'x', type: DataType.FLOAT, shape: ['N', 784] }] }));
  assert.throws(() => validateForUseCase(rank, [1, 28, 28], UC), invalidModel(/has shape \[N,784\]/));
  const fixed = inspectModel(tiny({ inputs: [{ name: 'input', type: DataType.FLOAT, shape: [1, 1, 28, 28] }] }));
  assert.throws(() => validateForUseCase(fixed, [1, 28, 28], UC), invalidModel(/fixed batch dimension 1/));
});

test('input count and element type are checked', () => {
  const two = inspectModel(tiny({ inputs: [{ name: 'a', type: DataType.FLOAT, shape: ['N', 1, 28, 28] }, { name: 'b', type: DataType.FLOAT, shape: ['N', 1] }] }));
  assert.throws(() => validateForUseCase(two, [1, 28, 28], UC), invalidModel(/^model has 2 inputs \("a", "b"\)/));
  const ints = inspectModel(tiny({ inputs: [{ name: 'input', type: DataType.INT64, shape: ['N', 1, 28, 28] }] }));
  assert.throws(() => validateForUseCase(ints, [1, 28, 28], UC), invalidModel(/^model input "input" has element type int64 but use case .* expects float/));
  const none = { irVersion: 7, opsetVersion: 13, inputs: [], outputs: [], ops: ['Relu'] };
  assert.throws(() => validateForUseCase(none, [1, 28, 28], UC), invalidModel(/^model has no inputs/));
});

test('model-supplied names and shapes are quoted short, and a sample too large to hold is refused', () => {
  const long = 'x'.repeat(5000);
  const named = inspectModel(tiny({ inputs: [{ name: long, type: DataType.FLOAT, shape: ['N', 3, 224, 224] }] }));
  assert.throws(() => validateForUseCase(named, [1, 28, 28], UC), (e: unknown) => {
    assert.ok(e instanceof InfaasError && e.code === 'INVALID_MODEL');
    assert.match(e.message, /^model input "x{40}…" \(5000 characters\) has shape/);
    assert.ok(e.message.length < 300, e.message);
    return true;
  });
  const many = inspectModel(tiny({ inputs: Array.from({ length: 50 }, (_, i) => ({ name: `in${i}`, type: DataType.FLOAT, shape: ['N', 1] })) }));
  assert.throws(() => validateForUseCase(many, [1, 28, 28], UC), invalidModel(/^model has 50 inputs \("in0", .*"in7" and 42 more\)/));
  assert.throws(() => validateForUseCase(inspectModel(tiny()), [1 << 14, 1 << 14], UC), invalidModel(/has 268435456 values per sample; at most 67108864/));
  assert.throws(() => validateForUseCase(inspectModel(tiny()), [], UC), invalidModel(/1 to 8 fixed positive dimensions/));
  assert.throws(() => validateForUseCase(inspectModel(tiny()), Array(9).fill(1), UC), invalidModel(/1 to 8 fixed positive dimensions/));
});
