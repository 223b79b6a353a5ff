// The GDFQ quantizer through ops.fakeQuantize and the quant modules: grid endpoints, dequantization
// round trip, straight-through gradient (also for clipped values), per-channel weight grids, and
// parity with GDFQ's torch arithmetic (test/fixtures/quant_golden.json, tools/fixtures/quant_golden.py).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor, tensor } from '../engine/tensor.js';
import { fakeQuantize, sum, mul } from '../engine/ops/index.js';
import { Rng } from '../engine/random.js';
import { Conv2d, Linear } from '../nn/layers/index.js';
import { fakeQuantizeWeight, rowRanges, weightQuantMse } from './fake_quantize.js';
import { QuantConv2d, QuantLinear } from './quant_modules.js';

const golden = JSON.parse(readFileSync(new URL('../../test/fixtures/quant_golden.json', import.meta.url), 'utf8'));

/** Round half to even (torch.round). */
function rint(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Integer code q = round(s·x̂ − zp) of a dequantized value (x̂ sits on a code, so no ties). */
function code(xh: number, lo: number, hi: number, k: number): number {
  const s = (2 ** k - 1) / Math.max(hi - lo, 1e-8);
  const zp = rint(s * lo) + 2 ** (k - 1);
  return Math.round(s * xh - zp);
}

test('grid endpoints: lo → −2^(k−1), hi → 2^(k−1)−1, both dequantize back to themselves', () => {
  for (const k of [2, 3, 4, 8]) {
    for (const [lo, hi] of [[0, 6], [-1.5, 2.2], [-3, -0.55], [0.2, 0.7]] as const) {
      const y = fakeQuantize(tensor([lo, hi]), Float32Array.of(lo), Float32Array.of(hi), k, false);
      // s·lo − zp = s·lo − round(s·lo) − 2^(k−1): the lowest code, up to the zero-point rounding
      assert.equal(code(y.data[0]!, lo, hi, k), -(2 ** (k - 1)), `k=${k} [${lo},${hi}] lo`);
      assert.equal(code(y.data[1]!, lo, hi, k), 2 ** (k - 1) - 1, `k=${k} [${lo},${hi}] hi`);
      const step = (hi - lo) / (2 ** k - 1);
      // round(s·lo) shifts the grid by < half a step: the endpoints come back within half a step
      assert.ok(Math.abs(y.data[0]! - lo) <= step / 2 + 1e-6, `k=${k} lo ${y.data[0]} vs ${lo}`);
      assert.ok(Math.abs(y.data[1]! - hi) <= step / 2 + 1e-6, `k=${k} hi ${y.data[1]} vs ${hi}`);
    }
  }
  // the one exception, as in torch: s·lo = 1.5 rounds up to 2 (half to even), shifting the grid half a
  // step up, and hi then sits on a tie that rounds to the even code 0 instead of 1 (GDFQ gives the same)
  const tie = fakeQuantize(tensor([0.25, 0.75]), Float32Array.of(0.25), Float32Array.of(0.75), 2, false);
  assert.ok(Math.abs(tie.data[0]! - 1 / 3) < 1e-6 && Math.abs(tie.data[1]! - 2 / 3) < 1e-6, `${tie.toArray()}`);
  // with s·lo an integer (lo = 0) the grid is exact: 0 and hi are fixed points
  const y = fakeQuantize(tensor([0, 6]), Float32Array.of(0), Float32Array.of(6), 4, false);
  assert.ok(Math.abs(y.data[0]!) < 1e-7 && Math.abs(y.data[1]! - 6) < 1e-6);
});

test('dequantized values are fixed points and take at most 2^k levels; out-of-range values clip', () => {
  const rng = new Rng(7);
  const x = rng.normal([500], 0, 3);
  for (const k of [2, 3, 4]) {
    const lo = Float32Array.of(-2), hi = Float32Array.of(3);
    const y = fakeQuantize(x, lo, hi, k, false);
    const levels = new Set(Array.from(y.data, (v) => v.toFixed(5)));
    assert.equal(levels.size, 2 ** k, `k=${k}: ${levels.size} levels`);
    const y2 = fakeQuantize(y, lo, hi, k, false);
    for (let i = 0; i < y.size; i++) assert.ok(Math.abs(y2.data[i]! - y.data[i]!) < 1e-6);
    const step = 5 / (2 ** k - 1);
    for (let i = 0; i < y.size; i++) assert.ok(y.data[i]! >= -2 - step / 2 - 1e-6 && y.data[i]! <= 3 + step / 2 + 1e-6);
  }
});

test('straight-through gradient is exactly the incoming gradient, clipped values included', () => {
  const x = tensor([-10, -1, 0, 0.3, 2, 50], [6], { requiresGrad: true });
  const w = tensor([1, 2, 3, 4, 5, 6]);
  sum(mul(fakeQuantize(x, Float32Array.of(-1), Float32Array.of(2), 3, false), w)).backward();
  assert.deepEqual(x.grad!.toArray(), [1, 2, 3, 4, 5, 6]);
  const wq = tensor([0.5, -0.2, 1.0, 3.0], [2, 2], { requiresGrad: true });
  sum(fakeQuantizeWeight(wq, 2)).backward();
  assert.deepEqual(wq.grad!.toArray(), [1, 1, 1, 1]);
});

test('quantizer matches GDFQ torch arithmetic per tensor and per row (bits 2, 3, 4, 8)', () => {
  const q = golden.quantizer;
  const x = new Tensor(Float32Array.from(q.x as number[]), q.shape as number[]);
  for (const c of q.cases as { bits: number; lo: number[]; hi: number[]; perTensor: number[]; rowLo: number[]; rowHi: number[]; perRow: number[] }[]) {
    const yt = fakeQuantize(x, Float32Array.from(c.lo), Float32Array.from(c.hi), c.bits, false);
    const yr = fakeQuantize(x, Float32Array.from(c.rowLo), Float32Array.from(c.rowHi), c.bits, true);
    let bad = 0;
    for (let i = 0; i < x.size; i++) {
      if (Math.abs(yt.data[i]! - c.perTensor[i]!) > 1e-5) bad++;
      if (Math.abs(yr.data[i]! - c.perRow[i]!) > 1e-5) bad++;
    }
    assert.equal(bad, 0, `bits ${c.bits}: ${bad} mismatches`);
  }
});

test('per-channel weight fake-quant: each output channel on its own 2^k grid spanning its min/max', () => {
  const rng = new Rng(3);
  const conv = new Conv2d(3, 5, 3, { rng });
  for (const k of [2, 4]) {
    const wq = fakeQuantizeWeight(conv.weight, k);
    const { lo, hi } = rowRanges(conv.weight);
    const cols = 27;
    for (let r = 0; r < 5; r++) {
      const row = Array.from(wq.data.subarray(r * cols, (r + 1) * cols));
      assert.ok(new Set(row.map((v) => v.toFixed(6))).size <= 2 ** k);
      // x̂ = (q + zp)/s: every value times s is an integer, and the codes q span at most 2^k values
      const sc = (2 ** k - 1) / (hi[r]! - lo[r]!);
      for (const v of row) assert.ok(Math.abs(v * sc - Math.round(v * sc)) < 1e-3, `row ${r}: ${v} off-grid`);
      const ints = row.map((v) => Math.round(v * sc));
      assert.ok(Math.max(...ints) - Math.min(...ints) <= 2 ** k - 1);
      assert.ok(Math.abs(Math.min(...row) - lo[r]!) <= 0.5 / sc + 1e-6 && Math.abs(Math.max(...row) - hi[r]!) <= 0.5 / sc + 1e-6);
    }
    assert.ok(weightQuantMse(conv.weight, k) > 0);
  }
  assert.ok(weightQuantMse(conv.weight, 8) < weightQuantMse(conv.weight, 4));
});

test('QuantConv2d/QuantLinear share the FP parameters and use the quantized weight', () => {
  const rng = new Rng(11);
  const conv = new Conv2d(2, 3, 3, { padding: 1, rng });
  const qc = new QuantConv2d(conv, 4);
  assert.equal(qc.weight, conv.weight);
  assert.deepEqual([...qc.stateDict().keys()], ['weight', 'bias']);
  const x = rng.normal([1, 2, 4, 4]);
  const ref = conv.convForward(x, fakeQuantizeWeight(conv.weight, 4));
  assert.deepEqual(qc.forward(x).toArray(), ref.toArray());
  qc.fakeQuantEnabled = false;
  assert.deepEqual(qc.forward(x).toArray(), conv.forward(x).toArray());
  const lin = new Linear(4, 2, { rng });
  const ql = new QuantLinear(lin, 3);
  const xi = rng.normal([5, 4]);
  assert.deepEqual(ql.forward(xi).toArray(), lin.linearForward(xi, fakeQuantizeWeight(lin.weight, 3)).toArray());
  // gradient reaches the latent FP weight through the STE
  sum(ql.forward(xi)).backward();
  assert.ok(lin.weight.grad && lin.weight.grad.toArray().some((g) => g !== 0));
});
