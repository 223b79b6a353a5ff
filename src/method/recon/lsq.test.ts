// LSQ: the forward is the runtime's GDFQ fake-quantizer at the range derived from the step, the step-size
// gradient equals finite differences of LSQ's straight-through surrogate (times the grad scale), the input
// gradient is masked outside the grid, and QDrop's kept elements pass unquantized.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { fakeQuantize } from '../../engine/ops/index.js';
import { ActFakeQuant } from '../../quant/fake_quantize.js';
import { LsqAct, lsqFakeQuant, lsqRange } from './lsq.js';

/** LSQ's surrogate: round(v) frozen as v + c0 (c0 = round(v₀) − v₀ at the step Δ₀), clipping kept: y(Δ) = Δ·(clamp(x/Δ − zp + c0) + zp). */
function surrogate(x: Float64Array, d: number, d0: number, zp: number, bits: number, r: Float64Array): number {
  const n = 2 ** (bits - 1);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v0 = x[i]! / d0 - zp;
    const v = x[i]! / d - zp;
    let q: number;
    if (v0 < -n) q = -n;
    else if (v0 > n - 1) q = n - 1;
    else q = v + (Math.round(v0) - v0);
    s += r[i]! * d * (q + zp);
  }
  return s;
}

for (const [bits, zp, signed] of [[4, 8, false], [3, 3, true], [8, 128, false]] as const) {
  test(`LSQ step gradient vs finite differences of the STE surrogate (${bits} bits, zp ${zp})`, () => {
    const rng = new Rng(bits);
    const n = 200;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = signed ? (rng.random() - 0.5) * 3 : rng.random() * 2.5 - 0.2;
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) r[i] = rng.random() * 2 - 1;
    const d0 = 0.13;
    const xt = new Tensor(Float64Array.from(x), [n], true);
    const step = new Tensor(Float64Array.of(d0), [1], true);
    const scale = 0.37;
    const y = lsqFakeQuant(xt, step, zp, bits, scale);
    // forward = the runtime's fake-quantizer at lsqRange(Δ, zp)
    const [lo, hi] = lsqRange(d0, zp, bits);
    const ref = fakeQuantize(new Tensor(Float32Array.from(x), [n]), Float32Array.of(lo), Float32Array.of(hi), bits, false);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(y.data[i]! - ref.data[i]!) < 1e-5, `forward ${i}: ${y.data[i]} vs runtime ${ref.data[i]}`);
    y.backward(new Tensor(Float64Array.from(r), [n]));
    const eps = 1e-6;
    const num = (surrogate(x, d0 + eps, d0, zp, bits, r) - surrogate(x, d0 - eps, d0, zp, bits, r)) / (2 * eps);
    const ana = step.grad!.data[0]! / scale;
    assert.ok(Math.abs(ana - num) < 1e-5 + 1e-5 * Math.abs(num), `∂L/∂Δ: LSQ ${ana} vs numeric ${num}`);
    assert.ok(Math.abs(num) > 1e-3, 'degenerate case: the step gradient is ~0');
    // input gradient: identity inside the grid, 0 outside
    const nn = 2 ** (bits - 1);
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i]! / d0 - zp;
      const inside = v >= -nn && v <= nn - 1;
      if (!inside) outside++;
      assert.equal(xt.grad!.data[i], inside ? r[i] : 0, `∂L/∂x ${i}`);
    }
    if (bits < 8) assert.ok(outside > 0, 'no clipped element in the sample');
  });
}

test('QDrop: kept elements pass unquantized with identity gradient and no step gradient', () => {
  const x = new Tensor(Float64Array.of(0.05, 0.31, 2.9, -0.4), [4], true);
  const step = new Tensor(Float64Array.of(0.1), [1], true);
  const keep = Uint8Array.of(1, 0, 1, 1);
  const y = lsqFakeQuant(x, step, 8, 4, 1, keep);
  assert.deepEqual([y.data[0], y.data[2], y.data[3]], [0.05, 2.9, -0.4]);
  assert.ok(Math.abs(y.data[1]! - 0.3) < 1e-6);
  y.backward(new Tensor(Float64Array.of(1, 1, 1, 1), [4]));
  assert.deepEqual([...x.grad!.data], [1, 1, 1, 1]);
  assert.ok(Math.abs(step.grad!.data[0]! - (3 - 3.1)) < 1e-9); // only element 1: round(v) − v
});

test('LsqAct: MSE init, learned range written back into the ActFakeQuant, its own forward restored', () => {
  const a = new ActFakeQuant(4);
  a.observe(0, 4);
  const l = new LsqAct(a, 0, new Rng(0));
  l.attach();
  const rng = new Rng(1);
  const x = new Tensor(Float32Array.from({ length: 4096 }, () => Math.max(0, rng.normal([1]).data[0]!)), [4096]);
  const y = a.forward(x);
  l.step.data[0] = l.step.data[0]! * 1.1;
  const y2 = a.forward(x);
  l.detach();
  const [lo, hi] = a.range();
  assert.ok(Math.abs((hi - lo) / 15 - l.step.data[0]!) < 1e-6, 'written-back range does not give the learned step');
  const y3 = a.forward(x);
  assert.deepEqual([...y3.data], [...y2.data], 'restored forward differs from the learned quantizer');
  assert.ok(hi < 4, `MSE init should clip the long tail (hi ${hi})`);
  assert.ok(y.size === 4096);
});
