// The deploy scheme on the real CIFAR models: BN folding keeps the function, the edge plan puts a quantizer
// (own or passed through a data-movement op) in front of every quantized conv, and symmetric weight grids
// hold 2^k levels with zero at level 0.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { Tensor } from '../engine/tensor.js';
import { loadOnnx } from '../io/onnx/index.js';
import { cloneModule, prepareQat, setFakeQuant } from './prepare.js';
import { makeQConfig } from './qconfig.js';
import { fakeQuantizeWeight, symmetricRange } from './fake_quantize.js';
import { QuantConv2d } from './quant_modules.js';
import { quantizedRoot, type DeploySummary } from './deploy.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const R20 = join(ROOT, '../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx');
const SHUFFLE = join(ROOT, '../shared/data/models/chenyaofo_cifar10/shufflenetv2_x0_5_cifar10_chenyaofo.onnx');

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
