// BNS: zero when the BN input batch carries exactly the running statistics, value and input gradient
// against torch (float64 golden values), and the same through BatchNorm2d's captureStats hook.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor, tensor } from '../../engine/tensor.js';
import { batchStats } from '../../engine/ops/index.js';
import { Rng } from '../../engine/random.js';
import { BatchNorm2d } from '../../nn/layers/index.js';
import { Sequential } from '../../nn/module.js';
import { bnsLoss, captureBnStats, collectBnStats } from './bns.js';

const golden = JSON.parse(readFileSync(new URL('../../../test/fixtures/losses_golden.json', import.meta.url), 'utf8')).bns;

/** A batch [N, C, H, W] whose per-channel mean and biased variance are exactly mu[c], v[c]. */
function batchWithStats(rng: Rng, shape: [number, number, number, number], mu: number[], v: number[]): Tensor {
  const [N, C, H, W] = shape;
  const z = rng.normal(shape, 0, 1, 'float64');
  const hw = H * W, n = N * hw;
  const out = new Float64Array(z.size);
  for (let c = 0; c < C; c++) {
    let m = 0, s = 0;
    for (let i = 0; i < N; i++) for (let j = 0; j < hw; j++) m += z.data[(i * C + c) * hw + j]!;
    m /= n;
    for (let i = 0; i < N; i++) for (let j = 0; j < hw; j++) s += (z.data[(i * C + c) * hw + j]! - m) ** 2;
    const sd = Math.sqrt(s / n);
    for (let i = 0; i < N; i++) for (let j = 0; j < hw; j++) {
      const k = (i * C + c) * hw + j;
      out[k] = ((z.data[k]! - m) / sd) * Math.sqrt(v[c]!) + mu[c]!;
    }
  }
  return new Tensor(out, shape);
}

test('BNS = 0 when each BN input batch has exactly the running mean and variance (and > 0 otherwise)', () => {
  const rng = new Rng(2);
  const mu = [0.5, -1, 2], v = [1.5, 0.25, 4];
  const x = batchWithStats(rng, [4, 3, 5, 5], mu, v);
  const st = batchStats(x);
  const pair = { ...st, runningMean: tensor(mu, [3], { dtype: 'float64' }), runningVar: tensor(v, [3], { dtype: 'float64' }) };
  assert.ok(bnsLoss([pair, pair]).item() < 1e-24);
  const off = { ...pair, runningVar: tensor([1.5, 0.25, 5], [3], { dtype: 'float64' }) };
  // one of 3 channels' variance off by 1 in one of 2 layers: (1/2)·(1²/3)
  assert.ok(Math.abs(bnsLoss([pair, off]).item() - 1 / 6) < 1e-12);
});

test('BNS matches torch (float64): value and gradient w.r.t. each BN input', () => {
  const xs = golden.layers.map((l: { shape: number[]; x: number[] }) => tensor(l.x, l.shape, { dtype: 'float64', requiresGrad: true }));
  const pairs = golden.layers.map((l: { runningMean: number[]; runningVar: number[] }, i: number) => ({
    ...batchStats(xs[i]), runningMean: tensor(l.runningMean, undefined, { dtype: 'float64' }), runningVar: tensor(l.runningVar, undefined, { dtype: 'float64' }),
  }));
  const loss = bnsLoss(pairs);
  assert.ok(Math.abs(loss.item() - golden.loss) < 1e-12 * Math.max(1, golden.loss), `${loss.item()} vs ${golden.loss}`);
  loss.backward();
  golden.layers.forEach((l: { gradX: number[] }, i: number) => {
    xs[i].grad.toArray().forEach((g: number, j: number) => assert.ok(Math.abs(g - l.gradX[j]!) < 1e-12, `layer ${i} grad ${j}: ${g} vs ${l.gradX[j]}`));
  });
});

test('BNS from BatchNorm2d layers via captureStats (teacher in eval mode)', () => {
  const rng = new Rng(4);
  const bn1 = new BatchNorm2d(3, { dtype: 'float64' }), bn2 = new BatchNorm2d(3, { dtype: 'float64' });
  bn1.runningMean!.data.set([0.5, -1, 2]);
  bn1.runningVar!.data.set([1.5, 0.25, 4]);
  const net = new Sequential(bn1, bn2).eval();
  assert.equal(captureBnStats(net), 2);
  const x = batchWithStats(rng, [3, 3, 4, 4], [0.5, -1, 2], [1.5, 0.25, 4]);
  const y = net.forward(x);
  const pairs = collectBnStats(net);
  assert.equal(pairs.length, 2);
  assert.ok(bnsLoss([bn1]).item() < 1e-24); // layer 1 input matches exactly
  // layer 2 sees bn1's output, standardized: mean 0 and variance v/(v + eps) against running (0, 1)
  const expect = (1 / 3) * [1.5, 0.25, 4].reduce((a, v) => a + (v / (v + 1e-5) - 1) ** 2, 0);
  assert.ok(Math.abs(bnsLoss([bn2]).item() - expect) < 1e-12);
  assert.ok(Math.abs(bnsLoss(pairs).item() - expect / 2) < 1e-12);
  assert.equal(y.shape.join(), '3,3,4,4');
  captureBnStats(net, false);
  bn1.lastStats = null;
  assert.throws(() => bnsLoss([bn1]), /captured no input statistics/);
  assert.throws(() => bnsLoss([]), /no BatchNorm/);
});
