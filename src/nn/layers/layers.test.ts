// nn layers against PyTorch (test/fixtures/nn_layers.json, tools/fixtures/nn_layers.py): BatchNorm
// semantics, Conv2d/Linear through the layer, stateless modules; plus PyTorch names, default init
// ranges and seeded determinism, and the BNS-hook `captureStats`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { sum } from '../../engine/ops/index.js';
import type { Module } from '../module.js';
import { AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Embedding, Flatten, GELU, GlobalAvgPool, Identity, LeakyReLU, Linear, MaxPool2d, ReLU, ReLU6, Tanh, Upsample } from './index.js';

const fx = JSON.parse(readFileSync(new URL('../../../test/fixtures/nn_layers.json', import.meta.url), 'utf8'));

function fill(t: Tensor, k: number, a: number): void {
  for (let i = 0; i < t.size; i++) t.data[i] = a * Math.sin(0.37 * i + k);
}
function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}
const t32 = (v: number[], shape: number[]) => new Tensor(Float32Array.from(v), shape);

test('parameter and buffer names are PyTorch\'s', () => {
  const keys = (m: Module) => [...m.stateDict().keys()];
  assert.deepEqual(keys(new Conv2d(2, 3, 3, { rng: new Rng(0) })), ['weight', 'bias']);
  assert.deepEqual(keys(new Conv2d(2, 3, 3, { bias: false, rng: new Rng(0) })), ['weight']);
  assert.deepEqual(keys(new Linear(2, 3, { rng: new Rng(0) })), ['weight', 'bias']);
  assert.deepEqual(keys(new BatchNorm2d(3)), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  assert.deepEqual(keys(new BatchNorm2d(3, { affine: false })), ['running_mean', 'running_var', 'num_batches_tracked']);
  assert.deepEqual(keys(new BatchNorm2d(3, { trackRunningStats: false })), ['weight', 'bias']);
  assert.deepEqual(new Conv2d(4, 6, [3, 2], { groups: 2, rng: new Rng(0) }).weight.shape, [6, 2, 3, 2]);
});

test('default init: kaiming_uniform(a=√5) weights and biases within ±1/√fan_in, uniform spread; BN γ=1 β=0; Embedding N(0,1)', () => {
  const conv = new Conv2d(32, 64, 3, { rng: new Rng(7) });
  const bound = 1 / Math.sqrt(32 * 9);
  const w = conv.weight.toArray();
  assert.ok(w.every((v) => Math.abs(v) <= bound));
  const std = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
  assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.02 * bound, `std ${std}`); // U(±b) has std b/√3
  assert.ok(Math.max(...w.map(Math.abs)) > 0.99 * bound);
  assert.ok(conv.bias!.toArray().every((v) => Math.abs(v) <= bound));
  const lin = new Linear(50, 20, { rng: new Rng(7) });
  assert.ok([...lin.weight.toArray(), ...lin.bias!.toArray()].every((v) => Math.abs(v) <= 1 / Math.sqrt(50)));
  const bn = new BatchNorm2d(4);
  assert.deepEqual(bn.weight!.toArray(), [1, 1, 1, 1]);
  assert.deepEqual(bn.bias!.toArray(), [0, 0, 0, 0]);
  assert.deepEqual(bn.runningVar!.toArray(), [1, 1, 1, 1]);
  const e = new Embedding(100, 100, { rng: new Rng(7) }).weight.toArray();
  const m = e.reduce((a, v) => a + v, 0) / e.length;
  const s = Math.sqrt(e.reduce((a, v) => a + (v - m) ** 2, 0) / e.length);
  assert.ok(Math.abs(m) < 0.03 && Math.abs(s - 1) < 0.03, `embedding mean ${m} std ${s}`);
});

test('init is determined by the seed', () => {
  const a = new Conv2d(3, 4, 3, { rng: new Rng(11) }).weight.toArray();
  assert.deepEqual(new Conv2d(3, 4, 3, { rng: new Rng(11) }).weight.toArray(), a);
  assert.notDeepEqual(new Conv2d(3, 4, 3, { rng: new Rng(12) }).weight.toArray(), a);
});

test('BatchNorm1d momentum=None (cumulative average), then eval, matches PyTorch', () => {
  const r = fx.bn1d;
  const bn = new BatchNorm1d(3, { momentum: null });
  fill(bn.weight!, 1, 0.5);
  fill(bn.bias!, 2, 0.5);
  close(bn.forward(t32(r.x1, [6, 3])).data, r.y1, 1e-5, 'y1');
  close(bn.forward(t32(r.x2, [6, 3])).data, r.y2, 1e-5, 'y2');
  bn.eval();
  close(bn.forward(t32(r.x1, [6, 3])).data, r.y3, 1e-5, 'y3 (eval)');
  close(bn.runningMean!.data, r.running_mean, 1e-6, 'running_mean');
  close(bn.runningVar!.data, r.running_var, 1e-5, 'running_var');
  assert.equal(bn.numBatchesTracked!.item(), r.nbt);
});

test('BatchNorm without running stats uses batch statistics in eval too', () => {
  const bn = new BatchNorm2d(2, { affine: false, trackRunningStats: false, eps: 0.8 }).eval();
  close(bn.forward(t32(fx.bn_nostats.x, [3, 2, 2, 3])).data, fx.bn_nostats.y, 1e-5, 'y');
  assert.throws(() => bn.forward(t32([1, 2, 3], [1, 3])), /expected input \[N, 2/);
});

test('captureStats stores the differentiable batch mean and biased variance of the input', () => {
  const bn = new BatchNorm2d(2);
  bn.captureStats = true;
  const x = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 9]), [2, 2, 1, 2], true);
  bn.forward(x);
  // channel 0: {1,2,5,6} mean 3.5 var 4.25; channel 1: {3,4,7,9} mean 5.75 var 5.6875
  close(bn.lastStats!.mean.data, [3.5, 5.75], 1e-6, 'mean');
  close(bn.lastStats!.var.data, [4.25, 5.6875], 1e-5, 'var');
  sum(bn.lastStats!.var).backward();
  // d var_c / d x_i = 2 (x_i − μ_c) / n
  close(x.grad!.data, [-1.25, -0.75, -1.375, -0.875, 0.75, 1.25, 0.625, 1.625], 1e-6, 'grad');
  bn.captureStats = false;
  bn.lastStats = null;
  bn.forward(x);
  assert.equal(bn.lastStats, null);
});

test('Conv2d (groups, stride, dilation, padding) and Linear layers match PyTorch', () => {
  const conv = new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2, rng: new Rng(0) });
  fill(conv.weight, 3, 0.4);
  fill(conv.bias!, 4, 0.2);
  const y = conv.forward(t32(fx.conv.x, [2, 4, 7, 6]));
  assert.deepEqual(y.shape, fx.conv.shape);
  close(y.data, fx.conv.y, 1e-5, 'conv');
  const lin = new Linear(5, 3, { rng: new Rng(0) });
  fill(lin.weight, 5, 0.4);
  fill(lin.bias!, 6, 0.2);
  close(lin.forward(t32(fx.linear.x, [4, 5])).data, fx.linear.y, 1e-5, 'linear');
});

test('stateless modules match PyTorch', () => {
  const x = t32(fx.x_act, [2, 3, 6, 6]);
  const mods: Record<string, { forward(x: Tensor): Tensor }> = {
    relu: new ReLU(), relu6: new ReLU6(), leaky: new LeakyReLU(0.2), tanh: new Tanh(), gelu: new GELU(), up2: new Upsample(2),
    avg2: new AvgPool2d(2), avg3s2p1: new AvgPool2d(3, 2, 1), max2: new MaxPool2d(2), max3s2p1: new MaxPool2d(3, 2, 1),
    gap: new GlobalAvgPool(), flatten: new Flatten(),
  };
  for (const [k, m] of Object.entries(mods)) {
    const y = m.forward(x);
    assert.deepEqual(y.shape, fx.act[k].shape, k);
    close(y.data, fx.act[k].y, 1e-5, k);
  }
  assert.equal(new Identity().forward(x), x);
});
