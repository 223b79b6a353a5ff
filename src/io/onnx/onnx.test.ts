// Tests of the ONNX importer against PyTorch golden values (tiny MobileNetV2 fixture from
// tools/fixtures/onnx_mbv2.py) and onnxruntime-node (the fixture and both staged ResNets), plus the
// module naming/maps the quantizer and exporter rely on, and the one-line errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, noGrad } from '../../engine/tensor.js';
import { LrqError } from '../../engine/errors.js';
import { BatchNorm2d, Conv2d, LeakyReLU, Linear, ReLU6 } from '../../nn/layers/index.js';
import { Clamp, loadOnnx, onnx, readModelProto } from './index.js';
import { ortRun } from './ort.js';
import { readCifarBinary, normalizationFromMetadata } from '../datasets/index.js';

const FIX = new URL('../../../test/fixtures/', import.meta.url).pathname;
const DATA = new URL('../../../../shared/data/', import.meta.url).pathname;
const MBV2 = `${FIX}onnx_mbv2_tiny.onnx`;
const golden = JSON.parse(readFileSync(`${FIX}onnx_mbv2_tiny.json`, 'utf8')) as Record<string, number[]>;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const input = () => new Tensor(Float32Array.from(golden['input']!), golden['inputShape']!);

test('mbv2 fixture: eval logits and penultimate feature match PyTorch and onnxruntime within 1e-4', async () => {
  const g = loadOnnx(MBV2);
  const { logits, feature } = noGrad(() => g.forward(input(), { returnFeature: true }));
  assert.deepEqual(logits.shape, golden['logitsShape']);
  assert.ok(maxDiff(logits.data, golden['logits']!) < 1e-4, `torch diff ${maxDiff(logits.data, golden['logits']!)}`);
  assert.ok(maxDiff(feature.data, golden['feature']!) < 1e-4);
  const ort = await ortRun(MBV2, input());
  assert.ok(maxDiff(logits.data, ort.data) < 1e-4, `ort diff ${maxDiff(logits.data, ort.data)}`);
});

test('mbv2 fixture: gradient of Σ r⊙logits w.r.t. the input matches PyTorch', () => {
  const g = loadOnnx(MBV2);
  const x = input().requiresGrad_();
  const logits = g.forward(x);
  // dL/dx for L = Σ r ⊙ logits: backward with gradOut = r
  logits.backward(new Tensor(Float32Array.from(golden['gradWeights']!), logits.shape));
  const gx = x.grad!;
  const ref = golden['inputGrad']!;
  const scale = Math.max(...ref.map(Math.abs));
  assert.ok(maxDiff(gx.data, ref) < 1e-4 * Math.max(1, scale), `grad diff ${maxDiff(gx.data, ref)}`);
});

test('mbv2 fixture: training mode uses batch statistics and updates running stats with momentum 1 − m_onnx', () => {
  const g = loadOnnx(MBV2);
  g.train();
  const y = noGrad(() => g.forward(input()));
  assert.ok(maxDiff(y.data, golden['trainLogits']!) < 1e-4, `train diff ${maxDiff(y.data, golden['trainLogits']!)}`);
  const bns = g.bnLayers();
  assert.equal(bns.length, golden['numBatchNorm'] as unknown as number);
  // stem BN has PyTorch momentum 0.3 (ONNX 0.7), head BN the default 0.1 (ONNX 0.9)
  const stem = g.getSubmodule(g.nodeToModule.get('/stem/stem.1/BatchNormalization')!) as BatchNorm2d;
  const head = g.getSubmodule(g.nodeToModule.get('/head/head.1/BatchNormalization')!) as BatchNorm2d;
  assert.equal(stem, bns[0]);
  assert.equal(head, bns[bns.length - 1]);
  assert.ok(maxDiff(stem.buffer('running_mean')!.data, golden['stemBnRunningMean']!) < 1e-5);
  assert.ok(maxDiff(stem.buffer('running_var')!.data, golden['stemBnRunningVar']!) < 1e-5);
  assert.ok(maxDiff(head.buffer('running_mean')!.data, golden['headBnRunningMean']!) < 1e-5);
  assert.ok(maxDiff(head.buffer('running_var')!.data, golden['headBnRunningVar']!) < 1e-5);
});

test('mbv2 fixture: submodules named after ONNX nodes, state maps, and swapping a module changes the graph', () => {
  const g = loadOnnx(MBV2);
  assert.equal(g.inputName, 'input');
  assert.deepEqual(g.inputShape, [null, 3, 16, 16]);
  assert.equal(g.outputName, 'logits');
  assert.equal(g.nodeToModule.get('/stem/stem.0/Conv'), 'stem_stem_0_Conv');
  assert.equal(g.moduleToNode.get('stem_stem_0_Conv'), '/stem/stem.0/Conv');
  assert.ok(g.getSubmodule('stem_stem_0_Conv') instanceof Conv2d);
  assert.ok(g.getSubmodule('stem_stem_1_BatchNormalization') instanceof BatchNorm2d);
  assert.ok(g.getSubmodule('stem_stem_2_Clip') instanceof ReLU6);
  assert.ok(g.getSubmodule('head_head_2_LeakyRelu') instanceof LeakyReLU);
  assert.ok(g.getSubmodule('clip_Clip') instanceof Clamp);
  assert.ok(g.getSubmodule('fc_Gemm') instanceof Linear);
  assert.equal(g.classifierPath, 'fc_Gemm');
  assert.equal(g.initializerToState.get('stem.0.weight'), 'stem_stem_0_Conv.weight');
  assert.equal(g.initializerToState.get('stem.1.running_var'), 'stem_stem_1_BatchNormalization.running_var');
  assert.equal(g.stateToInitializer.get('fc_Gemm.bias'), 'fc.bias');
  // depthwise conv keeps its groups: its weight is [16, 1, 3, 3]
  assert.deepEqual(g.stateDict().get('b1_dw_dw_0_Conv.weight')!.shape, [16, 1, 3, 3]);
  // every initializer is bound to exactly one parameter/buffer
  const inits = readModelProto(MBV2).graph!.initializer!.map((t) => t.name!);
  assert.deepEqual([...g.initializerToState.keys()].sort(), inits.sort());
  // …and every parameter/buffer except BN's num_batches_tracked counter comes from an initializer
  assert.deepEqual([...g.stateDict().keys()].filter((k) => !k.endsWith('num_batches_tracked')).sort(), [...g.stateToInitializer.keys()].sort());
  // swap the clamp before the classifier for a tighter one: the feature must obey the new bounds
  g.setSubmodule('clip_Clip', new Clamp(-0.25, 0.25));
  const { feature, logits } = noGrad(() => g.forward(input(), { returnFeature: true }));
  assert.ok(feature.toArray().every((v) => v >= -0.25 && v <= 0.25));
  assert.ok(maxDiff(logits.data, golden['logits']!) > 1e-3);
});

test('errors: missing, truncated, non-ONNX files; no BatchNormalization; unsupported ops; wrong input shape', () => {
  const d = mkdtempSync(join(tmpdir(), 'lrq-onnx-'));
  try {
    const isLine = (re: RegExp) => (e: unknown) => e instanceof LrqError && re.test(e.message) && !e.message.includes('\n');
    assert.throws(() => loadOnnx(join(d, 'missing.onnx')), isLine(/missing\.onnx' does not exist/));
    const bytes = readFileSync(MBV2);
    for (const cut of [bytes.length >> 1, 100, 7]) {
      writeFileSync(join(d, 'cut.onnx'), bytes.subarray(0, cut));
      assert.throws(() => loadOnnx(join(d, 'cut.onnx')), isLine(/cut\.onnx/));
    }
    writeFileSync(join(d, 'text.onnx'), 'hello world, not a model\n');
    assert.throws(() => loadOnnx(join(d, 'text.onnx')), isLine(/text\.onnx/));
    writeFileSync(join(d, 'empty.onnx'), '');
    assert.throws(() => loadOnnx(join(d, 'empty.onnx')), isLine(/is empty/));
    assert.throws(() => loadOnnx(`${FIX}onnx_nobn_tiny.onnx`), isLine(/no BatchNormalization.*TrainingMode\.PRESERVE/));
    // unsupported ops: rename two node types and re-encode
    const m = onnx.ModelProto.decode(bytes);
    m.graph!.node![3]!.opType = 'FancyOp';
    m.graph!.node![4]!.opType = 'OtherOp';
    writeFileSync(join(d, 'bad.onnx'), onnx.ModelProto.encode(m).finish());
    const n3 = m.graph!.node![3]!.name!, n4 = m.graph!.node![4]!.name!;
    assert.throws(() => loadOnnx(join(d, 'bad.onnx')), isLine(new RegExp(`unsupported ONNX ops: FancyOp \\(${n3}\\); OtherOp \\(${n4}\\)`)));
    const g = loadOnnx(MBV2);
    assert.throws(() => g.forward(new Tensor(new Float32Array(3 * 8 * 8), [1, 3, 8, 8])), isLine(/expects shape \[N, 3, 16, 16\], got \[1, 3, 8, 8\]/));
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('a BN-folded graph imports with requireBatchNorm: false and matches onnxruntime', async () => {
  const path = `${FIX}onnx_nobn_tiny.onnx`;
  const g = loadOnnx(path, { requireBatchNorm: false });
  assert.equal(g.bnLayers().length, 0);
  const x = new Tensor(Float32Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => Math.sin(i * 0.37)), [2, 3, 8, 8]);
  const y = noGrad(() => g.forward(x));
  const ref = await ortRun(path, x);
  assert.ok(maxDiff(y.data, ref.data) < 1e-4);
});

for (const [name, nConv] of [['resnet20', 19], ['resnet32', 31]] as const) {
  test(`${name}: every node imports; logits match onnxruntime on real test images within 1e-4`, async () => {
    const path = `${DATA}models/akamaster_cifar10/${name}_cifar10_akamaster.onnx`;
    const g = loadOnnx(path);
    assert.equal(g.bnLayers().length, nConv);
    assert.equal([...g.namedModules()].filter(([, m]) => m instanceof Conv2d).length, nConv);
    assert.equal(g.classifierPath, 'fc_Gemm');
    const ds = readCifarBinary(`${DATA}cifar10/cifar10-test-yoongikim-jpeg-q75.bin`);
    // 64 images spread over all classes
    const sub = ds.subset(Array.from({ length: 64 }, (_, i) => i * 156));
    const { x } = sub.batch(0, 64);
    const { logits, feature } = noGrad(() => g.forward(x, { returnFeature: true }));
    assert.deepEqual(feature.shape, [64, 64]);
    const ref = await ortRun(path, x);
    assert.deepEqual(logits.shape, [64, 10]);
    assert.ok(maxDiff(logits.data, ref.data) < 1e-4, `ort diff ${maxDiff(logits.data, ref.data)}`);
  });
}

const opsGolden = JSON.parse(readFileSync(`${FIX}onnx_ops_tiny.json`, 'utf8')) as Record<string, number[]>;

for (const file of ['onnx_ops_tiny.onnx', 'onnx_ops_tiny_opset11.onnx']) {
  test(`${file}: pooling, strided Slice, Pad, Transpose, runtime Shape→Reshape flatten, MatMul, Softmax match PyTorch and ORT`, async () => {
    const g = loadOnnx(`${FIX}${file}`);
    const x = new Tensor(Float32Array.from(opsGolden['input']!), opsGolden['inputShape']!);
    const { logits: y, feature } = noGrad(() => g.forward(x, { returnFeature: true }));
    assert.deepEqual(y.shape, opsGolden['outputShape']);
    assert.ok(maxDiff(y.data, opsGolden['output']!) < 1e-5, `torch diff ${maxDiff(y.data, opsGolden['output']!)}`);
    const ref = await ortRun(`${FIX}${file}`, x);
    assert.ok(maxDiff(y.data, ref.data) < 1e-5);
    // the MatMul with a constant weight is the classifier; its input is the 24-wide feature
    assert.ok(g.getSubmodule(g.classifierPath!) instanceof Linear);
    assert.ok(g.transposedWeights.has(g.classifierPath!));
    assert.deepEqual(feature.shape, [3, 24]);
    // the flatten reads the batch size at run time: another batch size works too
    const x1 = new Tensor(x.data.slice(0, 3 * 16 * 16), [1, 3, 16, 16]);
    const y1 = noGrad(() => g.forward(x1));
    assert.ok(maxDiff(y1.data, opsGolden['output']!.slice(0, 7)) < 1e-5);
  });
}

test('metadata_props carry the normalization', () => {
  const d = mkdtempSync(join(tmpdir(), 'lrq-onnx-'));
  try {
    const m = onnx.ModelProto.decode(readFileSync(MBV2));
    m.metadataProps = [onnx.StringStringEntryProto.create({ key: 'normalize_mean', value: '0.5,0.4,0.3' }), onnx.StringStringEntryProto.create({ key: 'normalize_std', value: '0.2,0.2,0.25' })];
    writeFileSync(join(d, 'meta.onnx'), onnx.ModelProto.encode(m).finish());
    const g = loadOnnx(join(d, 'meta.onnx'));
    assert.deepEqual(normalizationFromMetadata(g.metadata), { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.25] });
  } finally {
    rmSync(d, { recursive: true });
  }
});
