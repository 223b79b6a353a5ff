// The deploy scheme on the real CIFAR models: BN folding keeps the function, the edge plan puts a quantizer
// (own or passed through a data-movement op) in front of every quantized conv, symmetric weight grids
// hold 2^k levels with zero at level 0, and a known normalization fixes the input quantizer to the pixel range.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { Tensor } from '../engine/tensor.js';
import { loadOnnx } from '../io/onnx/index.js';
import { dataMinMax } from './observer.js';
import { DEFAULT_NORMALIZATION, IDENTITY_NORMALIZATION, normalizedPixelRange } from '../io/datasets/index.js';
import { openDataset } from '../method/data.js';
import { actQuantizers, cloneModule, prepareQat, quantLayers, setCalibration, setFakeQuant } from './prepare.js';
import { makeQConfig } from './qconfig.js';
import { ActFakeQuant, fakeQuantizeWeight, symmetricRange } from './fake_quantize.js';
import { QuantConv2d } from './quant_modules.js';
import { quantizedRoot, type DeploySummary } from './deploy.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const R20 = join(ROOT, '../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx');
const SHUFFLE = join(ROOT, '../shared/data/models/chenyaofo_cifar10/shufflenetv2_x0_5_cifar10_chenyaofo.onnx');
const TEST = join(ROOT, '../shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin');

for (const [name, file, convs, folded] of [['ResNet-20 (akamaster)', R20, 19, 19], ['ShuffleNetV2 x0.5', SHUFFLE, 56, 56]] as const) {
  test(`deploy prepare of ${name}: ${folded} BNs folded with logits unchanged (fake-quant off), every quantized conv reads a quantized edge`, { skip: !existsSync(file) && 'shared data not found' }, () => {
    const teacher = loadOnnx(file);
    const student = cloneModule(teacher);
    const sum = prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, scheme: 'deploy' })) as DeploySummary;
    assert.equal(sum.scheme, 'deploy');
    assert.equal(sum.folded.length, folded);
    assert.equal(sum.unfolded.length, 0);
    assert.equal(sum.convs.length, convs);
    assert.equal(sum.edges.get(student.inputName), 8, 'the network input is quantized at 8 bits');
    assert.ok(!sum.edges.has(student.outputName), 'logits stay float');
    // every quantized conv/linear input is quantized: its own quantizer or a grid passed through data movement
    for (const s of student.graphSteps()) {
      if (!s.module || !(sum.convs.includes(s.module) || sum.linears.includes(s.module))) continue;
      const e = quantizedRoot(sum.passed, s.inputs[0]);
      assert.ok(e !== undefined && sum.edges.has(e), `${s.node}: input '${s.inputs[0]}' is not quantized`);
    }
    // teacher BNs untouched (the BNS loss reads them)
    assert.equal(teacher.bnLayers().length, folded);
    setFakeQuant(student, false);
    const x = new Rng(3).normal([2, 3, 32, 32]);
    const a = noGrad(() => teacher.forward(x)), b = noGrad(() => student.forward(x));
    let d = 0;
    for (let i = 0; i < a.size; i++) d = Math.max(d, Math.abs(a.data[i]! - b.data[i]!));
    assert.ok(d < 1e-4, `folded logits differ by ${d}`);
  });
}

test('deploy plan of ResNet-20: quantizers after each ReLU, on each residual branch before its Add, after the pool; option-A shortcuts pass the grid', { skip: !existsSync(R20) && 'shared data not found' }, () => {
  const student = loadOnnx(R20);
  const sum = prepareQat(student, makeQConfig({ weightBits: 8, actBits: 8, scheme: 'deploy' })) as DeploySummary;
  const edges = [...sum.edges.keys()];
  assert.equal(edges.filter((e) => /Relu/.test(e)).length, 19);
  assert.equal(edges.filter((e) => /b2\/BatchNormalization_output/.test(e)).length, 9, 'second conv of every block (its BN folded) before the Add');
  assert.equal(edges.filter((e) => /AveragePool/.test(e)).length, 1);
  assert.equal(sum.edges.size, 30);
  assert.ok([...sum.passed.keys()].some((e) => /Pad/.test(e)), 'the shortcut Pad passes its input grid');
  assert.deepEqual(sum.floatNodes, []);
});

test('symmetric weight grid: 2^k levels −2^(k−1)…2^(k−1)−1 of one step per channel, zero exactly representable', () => {
  for (const k of [2, 4, 8]) {
    const rng = new Rng(k);
    const w = new Tensor(Float32Array.from(rng.normal([4 * 27]).data, (v, i) => v * (1 + (i % 4)) + (i % 7 === 0 ? 0.3 : 0)), [4, 27]);
    const q = noGrad(() => fakeQuantizeWeight(w, k, 'symmetric'));
    const lo = new Float32Array(4), hi = new Float32Array(4);
    for (let r = 0; r < 4; r++) {
      const row = w.data.subarray(r * 27, r * 27 + 27);
      lo[r] = Math.min(...row);
      hi[r] = Math.max(...row);
    }
    const s = symmetricRange(lo, hi, k);
    const n = 2 ** (k - 1);
    for (let r = 0; r < 4; r++) {
      const step = (s.hi[r]! - s.lo[r]!) / (2 ** k - 1);
      assert.ok(Math.abs(s.lo[r]! + n * step) < 1e-6 * n * step, 'lo = −2^(k−1)·Δ');
      for (let c = 0; c < 27; c++) {
        const level = q.data[r * 27 + c]! / step;
        assert.ok(Math.abs(level - Math.round(level)) < 1e-3, `k=${k}: ${level} is not an integer level`);
        assert.ok(Math.round(level) >= -n && Math.round(level) <= n - 1, `k=${k}: level ${level} outside the grid`);
      }
    }
    const zero = noGrad(() => fakeQuantizeWeight(new Tensor(Float32Array.of(-1, 0, 0.5), [1, 3]), k, 'symmetric'));
    assert.equal(zero.data[1], 0);
  }
});

test('deploy scheme refuses a model without a GraphModule and an already prepared student', { skip: !existsSync(R20) && 'shared data not found' }, () => {
  const student = loadOnnx(R20);
  prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, scheme: 'deploy' }));
  assert.throws(() => prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, scheme: 'deploy' })), /already fake-quantized/);
  assert.ok([...student.namedModules()].some(([, m]) => m instanceof QuantConv2d && m.grid === 'symmetric'));
});

test('normalized pixel range: [min_c −mean_c/std_c, max_c (1 − mean_c)/std_c] in float32, [0, 1] without normalization', () => {
  const [lo, hi] = normalizedPixelRange(DEFAULT_NORMALIZATION);
  assert.ok(Math.abs(lo - -0.485 / 0.229) < 1e-6 && Math.abs(hi - (1 - 0.406) / 0.225) < 1e-6, `[${lo}, ${hi}]`);
  assert.deepEqual(normalizedPixelRange(IDENTITY_NORMALIZATION), [0, 1]);
  assert.deepEqual(normalizedPixelRange({ mean: [0.5], std: [0.5] }), [-1, 1]);
});

/** The network-input quantizer of a deploy student. */
function inputQuantizer(g: ReturnType<typeof loadOnnx>): ActFakeQuant {
  const path = g.edgeModules().find(([edge]) => edge === g.inputName)?.[1];
  const aq = path ? g.getSubmodule(path) : undefined;
  assert.ok(aq instanceof ActFakeQuant, 'no input quantizer');
  return aq;
}

test('deploy prepare with a known normalization: the input quantizer holds exactly the pixel range after calibration on narrower images, the rest observe', { skip: !(existsSync(R20) && existsSync(TEST)) && 'shared data not found' }, () => {
  const norm = DEFAULT_NORMALIZATION;
  // the range of real normalized images: every 8-bit value occurs somewhere in the test set, so it is the pixel range
  const ds = openDataset(TEST, { normalization: norm, size: [32, 32], numClasses: 10 });
  const real = dataMinMax(ds.batch(0, ds.size).x.data);
  const rng = new Rng(5);
  const images = [rng.uniform([8, 3, 32, 32], -1, 1), rng.uniform([8, 3, 32, 32], -1, 1)]; // narrower than [−2.12, 2.64]
  const calibrate = (normalization: typeof norm | null) => {
    const s = loadOnnx(R20);
    const sum = prepareQat(s, makeQConfig({ weightBits: 8, actBits: 8, rangeMode: 'minmax', scheme: 'deploy', normalization })) as DeploySummary;
    s.eval();
    noGrad(() => { for (const x of images) s.forward(x); });
    setCalibration(s, false);
    return { s, sum };
  };
  const { s, sum } = calibrate(norm);
  assert.deepEqual(inputQuantizer(s).range(), real, 'input range = the min/max of the real test images');
  assert.deepEqual(sum.inputRange, real);
  assert.ok(inputQuantizer(s).rangeFixed);
  // turning the observers on again (a later calibration epoch, lr-recon's observeRanges) does not move it either
  setCalibration(s, true);
  noGrad(() => s.forward(new Rng(6).uniform([4, 3, 32, 32], -0.5, 0.5)));
  assert.deepEqual(inputQuantizer(s).range(), real);
  const others = actQuantizers(s).filter(([, a]) => a !== inputQuantizer(s));
  assert.ok(others.length > 0 && others.every(([, a]) => !a.rangeFixed && a.updates.data[0]! >= 2), 'the other quantizers observe');
  assert.equal(quantLayers(s).filter((l) => l.rangeMode === 'fixed').length, 1);
  // without the normalization the input range is observed: the calibration images' [−1, 1]
  const [lo, hi] = inputQuantizer(calibrate(null).s).range();
  assert.ok(lo > -1.01 && hi < 1.01, `observed input range [${lo}, ${hi}]`);
});

test('the paper scheme ignores the normalization (its tables use observed ranges)', { skip: !existsSync(R20) && 'shared data not found' }, () => {
  const s = loadOnnx(R20);
  prepareQat(s, makeQConfig({ weightBits: 4, actBits: 4, normalization: DEFAULT_NORMALIZATION }));
  assert.ok(actQuantizers(s).every(([, a]) => !a.rangeFixed));
  assert.throws(() => prepareQat(loadOnnx(R20), makeQConfig({ weightBits: 4, actBits: 4, scheme: 'deploy', normalization: { mean: [0.5], std: [0.5] } })), /3 input channels/);
});
