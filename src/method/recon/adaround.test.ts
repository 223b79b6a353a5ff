// AdaRound: hard rounding ends every weight at floor or ceil of its grid position, the written-back latent
// weight re-quantizes (with the range the layer re-derives) to exactly the learned codes on both grids,
// and the rounding regularizer's gradient matches finite differences.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import * as ops from '../../engine/ops/index.js';
import { Conv2d } from '../../nn/layers/index.js';
import { Adam } from '../../nn/optim/adam.js';
import { QuantConv2d } from '../../quant/quant_modules.js';
import { AdaRound, roundBeta } from './adaround.js';
import { gdfqGrid } from '../../io/onnx_export/spec.js';
import { weightRanges } from '../../quant/fake_quantize.js';

function layer(grid: 'asymmetric' | 'symmetric', bits: number, seed: number): QuantConv2d {
  const conv = new Conv2d(4, 6, [3, 3], { padding: [1, 1], rng: new Rng(seed) });
  return new QuantConv2d(conv, bits, grid);
}

for (const grid of ['asymmetric', 'symmetric'] as const) {
  test(`AdaRound (${grid}) learns, ends hard at floor/ceil, and the write-back re-quantizes to the same codes`, () => {
    const rng = new Rng(3);
    const q = layer(grid, 3, 1);
    const w0 = Float32Array.from(q.weight.data);
    const r = weightRanges(q.weight, 3, grid);
    const x = rng.normal([8, 4, 6, 6]);
    const target = noGrad(() => q.conv.convForward(x, q.weight, q.bias)); // the FP output
    const nearest = noGrad(() => q.forward(x));
    const ada = new AdaRound(q);
    const opt = new Adam([ada.v], { lr: 5e-2 });
    const lossOf = (out: Tensor) => ops.mean(ops.square(ops.sub(out, target)));
    const base = lossOf(nearest).item();
    for (let t = 0; t < 150; t++) {
      const out = q.conv.convForward(x, ada.weight(), q.bias);
      const { on, beta } = roundBeta(t, 150, 0.2);
      const loss = on ? ops.add(lossOf(out), ops.mul(ada.roundLoss(beta), 1e-4)) : lossOf(out);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    }
    ada.soft = false;
    const hard = noGrad(() => ada.weight());
    const codes = ada.codes(), floors = ada.floorCodes();
    const n = 2 ** 2;
    let moved = 0;
    for (let i = 0; i < codes.length; i++) {
      const c = Math.floor(i / (codes.length / 6));
      const g = gdfqGrid(r.lo[c]!, r.hi[c]!, 3);
      const lo = Math.max(-n, floors[i]!), hi = Math.min(n - 1, floors[i]! + 1);
      assert.ok(codes[i]! >= lo && codes[i]! <= hi, `weight ${i}: code ${codes[i]} is not floor ${floors[i]} or ceil`);
      assert.equal(hard.data[i], Math.fround((codes[i]! + g.zp) / g.s), `weight ${i}: ŵ is not on the grid`);
      const nearestCode = Math.round(Math.fround(Math.fround(g.s * w0[i]!) - g.zp));
      if (codes[i] !== Math.max(-n, Math.min(n - 1, nearestCode))) moved++;
    }
    assert.ok(moved > 0, 'AdaRound never chose the other rounding than the nearest one');
    const hardLoss = lossOf(noGrad(() => q.conv.convForward(x, hard, q.bias))).item();
    assert.ok(hardLoss < base, `learned rounding loss ${hardLoss} is not below nearest rounding's ${base}`);
    assert.equal(ada.writeBack(), 0, 'write-back moved some codes');
    const requant = noGrad(() => q.quantizedWeight());
    for (let i = 0; i < hard.size; i++) assert.equal(requant.data[i], hard.data[i], `re-quantized weight ${i}`);
  });
}

test('AdaRound regularizer gradient matches finite differences', () => {
  const q = layer('asymmetric', 4, 2);
  const ada = new AdaRound(q);
  const rng = new Rng(5);
  for (let i = 0; i < ada.v.size; i++) ada.v.data[i] = (rng.random() - 0.5) * 3;
  const beta = 3;
  ada.v.grad = null;
  ada.roundLoss(beta).backward();
  const g = Float32Array.from(ada.v.grad!.data);
  const f = () => noGrad(() => ada.roundLoss(beta).item());
  let checked = 0;
  for (let i = 0; i < ada.v.size; i += 7) {
    const v = ada.v.data[i]!;
    const eps = 1e-2;
    ada.v.data[i] = v + eps;
    const lp = f();
    ada.v.data[i] = v - eps;
    const lm = f();
    ada.v.data[i] = v;
    const num = (lp - lm) / (2 * eps);
    assert.ok(Math.abs(num - g[i]!) < 2e-3 + 2e-2 * Math.abs(num), `element ${i}: analytic ${g[i]} vs numeric ${num}`);
    checked++;
  }
  assert.ok(checked > 20);
});

test('roundBeta: off during warm-up, then anneals from 20 to 2', () => {
  assert.deepEqual(roundBeta(0, 100, 0.2), { on: false, beta: 20 });
  assert.equal(roundBeta(20, 100, 0.2).beta, 20);
  assert.equal(roundBeta(99, 100, 0.2).beta, 2);
  assert.ok(roundBeta(60, 100, 0.2).beta < 20 && roundBeta(60, 100, 0.2).beta > 2);
});

test('AdaRound soft start reproduces the FP weight inside the grid', () => {
  const q = layer('asymmetric', 4, 4);
  const ada = new AdaRound(q);
  const w = noGrad(() => ada.weight());
  let err = 0;
  for (let i = 0; i < w.size; i++) err = Math.max(err, Math.abs(w.data[i]! - q.weight.data[i]!));
  const r = weightRanges(q.weight, 4, 'asymmetric');
  const step = (r.hi[0]! - r.lo[0]!) / 15;
  assert.ok(err < 0.6 * step, `soft start differs from w by ${err} (step ${step})`);
  assert.ok(new Tensor(w.data, w.shape).size === q.weight.size);
});
