// MSE weight clipping (weight_clip.ts): a row with an outlier is clipped and its quantization error falls;
// a row whose weights all sit at its extremes is left alone; the clipped weights stay within the row's range.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { Conv2d } from '../../nn/layers/index.js';
import { QuantConv2d } from '../../quant/quant_modules.js';
import { clipWeightsMse } from './weight_clip.js';

for (const grid of ['asymmetric', 'symmetric'] as const) {
  test(`clipping lowers the 4-bit error of Gaussian rows and leaves a row of extremes alone (${grid})`, () => {
    const conv = new Conv2d(32, 2, 3); // rows of 288 weights
    const g = new Rng(0).normal([288]);
    const w = new Float32Array(576);
    w.set(g.data as Float32Array); // row 0: Gaussian, its extremes are rare (MSE clips them at 4 bits)
    for (let j = 0; j < 288; j++) w[288 + j] = j % 2 ? 1 : -1; // row 1: all weights at its two extremes (any clip costs)
    conv.weight.data.set(w);
    const q = new QuantConv2d(conv, 4, grid);
    const orig = Float32Array.from(q.weight.data as Float32Array);
    const r = clipWeightsMse(q);
    assert.ok(r.after < r.before * 0.95, `error ${r.before} → ${r.after}`);
    const d = q.weight.data;
    const max0 = Math.max(...d.subarray(0, 288)), omax0 = Math.max(...orig.subarray(0, 288));
    assert.ok(max0 < omax0, `row 0 max ${omax0} → ${max0}: not clipped`);
    for (let i = 0; i < 576; i++) assert.ok(Math.abs(d[i]!) <= Math.abs(orig[i]!) + 1e-7, `weight ${i} grew`);
    for (let j = 288; j < 576; j++) assert.equal(d[j], orig[j], 'the row of extremes changed');
  });
}
