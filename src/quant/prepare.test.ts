// prepareQat end to end: parity with GDFQ's quantize_model in torch on a small conv net (calibration
// outputs, observed ranges, frozen-range outputs; test/fixtures/quant_golden.json), per-channel weight
// grids, ≤ 2^k activation levels after freezing, the first/last options, forward-order detection,
// cloneModule, and the ONNX GraphModule (tiny MobileNetV2 fixture).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor, noGrad, tensor } from '../engine/tensor.js';
import { globalAvgPool, flatten } from '../engine/ops/index.js';
import { Rng } from '../engine/random.js';
import { Module, Sequential } from '../nn/module.js';
import { BatchNorm2d, Conv2d, Linear, ReLU, ReLU6 } from '../nn/layers/index.js';
import { loadOnnx } from '../io/onnx/index.js';
import { prepareQat, setCalibration, setFakeQuant, quantLayers, actQuantizers, cloneModule } from './prepare.js';
import { makeQConfig } from './qconfig.js';
import { ActFakeQuant } from './fake_quantize.js';
import { QuantConv2d, QuantLinear } from './quant_modules.js';

const golden = JSON.parse(readFileSync(new URL('../../test/fixtures/quant_golden.json', import.meta.url), 'utf8')).model;
const MBV2 = new URL('../../test/fixtures/onnx_mbv2_tiny.onnx', import.meta.url).pathname;

type Fwd = Module & { forward(x: Tensor): Tensor };

/** The torch fixture's Net; forward goes through plain fields (prepareQat must repoint them). */
class Net extends Module {
  conv1: Fwd; bn1: Fwd; relu1: Fwd; conv2: Fwd; relu2: Fwd; fc: Fwd;
  constructor() {
    super();
    const rng = new Rng(1);
    this.conv1 = this.registerModule('conv1', new Conv2d(3, 4, 3, { padding: 1, bias: false, rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(4));
    this.relu1 = this.registerModule('relu1', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(4, 6, 3, { stride: 2, padding: 1, rng }));
    this.relu2 = this.registerModule('relu2', new ReLU6());
    this.fc = this.registerModule('fc', new Linear(6, 5, { rng }));
  }
  override forward(x: Tensor): Tensor {
    x = this.relu1.forward(this.bn1.forward(this.conv1.forward(x)));
    x = this.relu2.forward(this.conv2.forward(x));
    return this.fc.forward(flatten(globalAvgPool(x)));
  }
}

function goldenNet(): Net {
  const net = new Net();
  const sd = new Map<string, Tensor>();
  for (const [k, v] of Object.entries(golden.state as Record<string, { shape: number[]; data: number[] }>)) sd.set(k, tensor(v.data, v.shape));
  sd.set('bn1.num_batches_tracked', tensor([0], []));
  net.loadStateDict(sd);
  return net.eval();
}

const inputs = (golden.inputs as number[][]).map((d) => tensor(d, golden.inputShape));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('FP net matches torch before preparing', () => {
  assert.ok(maxDiff(noGrad(() => goldenNet().forward(inputs[2]!)).data, golden.fpOut) < 1e-5);
});

test('prepared net matches GDFQ quantize_model in torch: calibration outputs, ranges, frozen outputs', () => {
  for (const g of golden.quantized as { wbits: number; abits: number; firstLastBits: 'same' | 8; calibOut: number[][]; ranges: Record<string, [number, number]>; evalOut: number[] }[]) {
    const net = goldenNet();
    const s = prepareQat(net, makeQConfig({ weightBits: g.wbits, actBits: g.abits, firstLastBits: g.firstLastBits }));
    assert.deepEqual(s, { convs: ['conv1', 'conv2'], linears: ['fc'], acts: ['relu1', 'relu2'], first: 'conv1', last: 'fc' });
    const what = `W${g.wbits}A${g.abits} firstLast ${g.firstLastBits}`;
    for (let i = 0; i < 2; i++) {
      const d = maxDiff(noGrad(() => net.forward(inputs[i]!)).data, g.calibOut[i]!);
      assert.ok(d < 1e-4, `${what} calibration batch ${i}: diff ${d}`);
    }
    for (const [name, [lo, hi]] of Object.entries(g.ranges)) {
      const [l, h] = (net.getSubmodule(`${name}.1`) as ActFakeQuant).range();
      assert.ok(Math.abs(l - lo) < 1e-5 && Math.abs(h - hi) < 1e-4 * hi, `${what} ${name}: [${l}, ${h}] vs [${lo}, ${hi}]`);
    }
    setCalibration(net, false);
    const d = maxDiff(noGrad(() => net.forward(inputs[2]!)).data, g.evalOut);
    assert.ok(d < 1e-4, `${what} frozen eval: diff ${d}`);
    const bits = Object.fromEntries(quantLayers(net).map((l) => [l.path, l.weightBits ?? l.actBits]));
    const fl = g.firstLastBits === 8 ? 8 : g.wbits;
    assert.deepEqual(bits, { conv1: fl, 'relu1.1': g.abits, conv2: g.wbits, 'relu2.1': g.abits, fc: fl });
  }
});

test('weights on a 2^k grid per channel; ReLU outputs take ≤ 2^k values once ranges are frozen', () => {
  const net = goldenNet();
  prepareQat(net, makeQConfig({ weightBits: 3, actBits: 2 }));
  const conv2 = net.getSubmodule('conv2') as QuantConv2d;
  const wq = conv2.quantizedWeight();
  const cols = wq.size / 6;
  for (let r = 0; r < 6; r++) assert.ok(new Set(wq.data.subarray(r * cols, (r + 1) * cols)).size <= 8);
  assert.ok(new Set(wq.data).size > 8); // but the grids differ between channels
  const rng = new Rng(3);
  for (let i = 0; i < 3; i++) noGrad(() => net.forward(rng.normal([4, 3, 6, 6])));
  setCalibration(net, false);
  const before = actQuantizers(net).map(([, a]) => a.range());
  // record what the quantized activations look like inside a real forward
  const relu1 = net.getSubmodule('relu1') as Sequential;
  let seen: Tensor | null = null;
  const orig = relu1.forward.bind(relu1);
  relu1.forward = (x: Tensor) => (seen = orig(x));
  const out = noGrad(() => net.forward(rng.normal([4, 3, 6, 6], 0, 3)));
  assert.ok(seen !== null && new Set((seen as Tensor).data).size <= 4, `relu1 levels ${new Set((seen as unknown as Tensor).data).size}`);
  assert.deepEqual(actQuantizers(net).map(([, a]) => a.range()), before);
  // fake quant off = the FP model with the same (latent) weights
  setFakeQuant(net, false);
  const fp = goldenNet();
  const x = rng.normal([2, 3, 6, 6]);
  assert.deepEqual(noGrad(() => net.forward(x)).toArray(), noGrad(() => fp.forward(x)).toArray());
  assert.equal(out.shape.join(), '4,5');
});

test('state dict keeps the weight keys and adds act-quantizer buffers; gradients reach latent weights', () => {
  const net = goldenNet();
  const keys0 = [...net.stateDict().keys()];
  prepareQat(net, makeQConfig({ weightBits: 4, actBits: 4 }));
  const keys = [...net.stateDict().keys()];
  for (const k of keys0) assert.ok(keys.includes(k), `lost ${k}`);
  assert.deepEqual(keys.filter((k) => !keys0.includes(k)).sort(), ['relu1.1.hi', 'relu1.1.lo', 'relu1.1.updates', 'relu2.1.hi', 'relu2.1.lo', 'relu2.1.updates']);
  net.train();
  const rng = new Rng(8);
  const s = net.forward(rng.normal([2, 3, 6, 6]));
  s.backward(new Tensor(new Float32Array(s.size).fill(1), s.shape));
  for (const p of ['conv1.weight', 'conv2.weight', 'fc.weight']) {
    const w = net.stateDict().get(p)!;
    assert.ok(w.grad && w.grad.toArray().some((v) => v !== 0), `${p} has no gradient`);
  }
  assert.throws(() => prepareQat(net, makeQConfig({ weightBits: 4, actBits: 4 })), /already fake-quantized/);
});

test('quantizeFirstLast = false keeps the first conv and last linear full precision', () => {
  const net = goldenNet();
  const s = prepareQat(net, makeQConfig({ weightBits: 4, actBits: 4, quantizeFirstLast: false }));
  assert.ok(net.getSubmodule('conv1') instanceof Conv2d && net.getSubmodule('fc') instanceof Linear);
  assert.ok(net.getSubmodule('conv2') instanceof QuantConv2d);
  assert.deepEqual([s.convs, s.linears], [['conv2'], []]);
  assert.throws(() => makeQConfig({ weightBits: 1, actBits: 4 }), /bit width 1/);
  assert.throws(() => makeQConfig({ weightBits: 4, actBits: 4, firstLastBits: 6 as 8 }), /firstLastBits/);
});

test('first/last detection follows the traced forward order, not registration order', () => {
  class Rev extends Module {
    constructor() {
      super();
      const rng = new Rng(2);
      this.registerModule('head', new Linear(3, 2, { rng }));
      this.registerModule('body', new Linear(4, 3, { rng }));
    }
    override forward(x: Tensor): Tensor {
      return (this.getSubmodule('head') as Linear).forward((this.getSubmodule('body') as Linear).forward(x));
    }
  }
  assert.equal(prepareQat(new Rev(), makeQConfig({ weightBits: 4, actBits: 4 })).last, 'body');
  const m = new Rev();
  const s = prepareQat(m, makeQConfig({ weightBits: 4, actBits: 4, firstLastBits: 8 }), { exampleInput: new Rng(1).normal([1, 4]) });
  assert.equal(s.last, 'head');
  assert.deepEqual([(m.getSubmodule('head') as QuantLinear).weightBits, (m.getSubmodule('body') as QuantLinear).weightBits], [8, 4]);
  assert.equal(typeof Object.getOwnPropertyDescriptor(m.getSubmodule('head'), 'forward'), 'undefined');
});

test('cloneModule gives an independent deep copy', () => {
  const net = goldenNet();
  const copy = cloneModule(net);
  prepareQat(copy, makeQConfig({ weightBits: 2, actBits: 2 }));
  assert.ok(net.getSubmodule('conv1') instanceof Conv2d && net.conv1 instanceof Conv2d);
  assert.ok(copy.getSubmodule('conv1') instanceof QuantConv2d && copy.conv1 instanceof QuantConv2d);
  const w = copy.stateDict().get('conv1.weight')!;
  assert.notEqual(w, net.stateDict().get('conv1.weight'));
  w.data[0] = 123;
  assert.notEqual(net.stateDict().get('conv1.weight')!.data[0], 123);
  assert.ok(maxDiff(noGrad(() => net.forward(inputs[2]!)).data, golden.fpOut) < 1e-5);
});

test('ONNX GraphModule (tiny MobileNetV2): all convs/linears/ReLU6 swapped, forward runs, W8A8 ≈ FP', () => {
  const fp = loadOnnx(MBV2);
  const g = loadOnnx(MBV2);
  const steps = g.moduleSteps();
  const s = prepareQat(g, makeQConfig({ weightBits: 8, actBits: 8, rangeMode: 'minmax' }));
  assert.equal(s.convs.length, steps.filter((t) => t.op === 'Conv').length);
  assert.equal(s.first, steps.find((t) => t.op === 'Conv')!.path);
  assert.equal(s.last, g.classifierPath);
  assert.ok(s.acts.length > 0);
  assert.ok(![...g.namedModules()].some(([, m]) => m instanceof Conv2d || m instanceof Linear));
  const rng = new Rng(6);
  const x = rng.normal([2, 3, 16, 16]);
  const ref = noGrad(() => fp.forward(x));
  const y = noGrad(() => g.forward(x)) as Tensor;
  for (const [, a] of actQuantizers(g)) assert.equal(a.updates.data[0], 1, 'every act quantizer ran');
  setCalibration(g, false);
  const y2 = noGrad(() => g.forward(x)) as Tensor;
  const scale = Math.max(...ref.toArray().map(Math.abs));
  assert.ok(maxDiff(y2.data, ref.data) < 0.05 * scale, `W8A8 diff ${maxDiff(y2.data, ref.data)} (scale ${scale})`);
  assert.deepEqual(y.shape, ref.shape);
  const feat = noGrad(() => g.forward(x, { returnFeature: true }));
  assert.equal(feat.logits.shape.join(), ref.shape.join());
  assert.ok(quantLayers(g).every((l) => l.kind === 'act' || (l.weightMse! >= 0 && l.channels! > 0)));
});

test('nn ResNet-20: every conv/linear quantized, one act quantizer per ReLU, stem first and fc last', async () => {
  const { resnet20 } = await import('../models/resnet_cifar.js');
  const net = resnet20({ rng: new Rng(12) }).eval();
  const nConv = [...net.namedModules()].filter(([, m]) => m instanceof Conv2d).length;
  const nRelu = [...net.namedModules()].filter(([, m]) => m instanceof ReLU).length;
  const s = prepareQat(net, makeQConfig({ weightBits: 4, actBits: 4, firstLastBits: 8 }));
  assert.equal(nRelu, 19);
  assert.deepEqual([s.convs.length, s.linears.length, s.acts.length, s.first, s.last], [nConv, 1, 19, 'stem', 'fc']);
  assert.equal((net.getSubmodule('stem') as QuantConv2d).weightBits, 8);
  assert.equal((net.getSubmodule('blocks.0.c1') as QuantConv2d).weightBits, 4);
  const y = noGrad(() => net.forward(new Rng(1).normal([2, 3, 32, 32])));
  assert.equal(y.shape.join(), '2,10');
  assert.ok(actQuantizers(net).every(([, a]) => a.updates.data[0] === 1 && a.range()[1] > 0));
});
