// Observer arithmetic: GDFQ-EMA's overshoot (spec §1.2 / §8 item 6), parity with GDFQ's float32
// QuantAct on a random batch sequence (test/fixtures/quant_golden.json), plain-EMA and min/max.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initialRange, observeRange, dataMinMax, mseRange } from './observer.js';
import { ActFakeQuant } from './fake_quantize.js';
import { tensor } from '../engine/tensor.js';

const golden = JSON.parse(readFileSync(new URL('../../test/fixtures/quant_golden.json', import.meta.url), 'utf8'));

test('gdfq-ema overshoots 1, 5.263, 17.848, 47.0 for a constant max of 1.0 and settles by step 200', () => {
  let s = initialRange();
  const his: number[] = [];
  for (let i = 0; i < 200; i++) {
    s = observeRange('gdfq-ema', s, 0, 1);
    his.push(s.hi);
  }
  assert.ok(Math.abs(his[0]! - 1) < 1e-12);
  assert.ok(Math.abs(his[1]! - 1 / 0.19) < 1e-9); // 5.2631…
  assert.equal(his[1]!.toFixed(3), '5.263');
  assert.equal(his[2]!.toFixed(3), '17.848');
  assert.equal(his[3]!.toFixed(1), '47.0');
  assert.ok(Math.abs(his[19]! / 3903.69 - 1) < 1e-4, `step 20 ${his[19]}`);
  assert.ok(Math.abs(his[49]! / 488.86 - 1) < 1e-4, `step 50 ${his[49]}`);
  assert.ok(Math.abs(his[99]! - 3.6346) < 1e-3, `step 100 ${his[99]}`);
  assert.ok(Math.abs(his[199]! - 1) < 1e-3 && his[199]! > 1, `step 200 ${his[199]}`);
  assert.equal(s.lo, 0);
  // the torch float32 run agrees to float32 precision
  const ref = golden.observer.constantMaxHi as number[];
  for (let i = 0; i < 200; i++) assert.ok(Math.abs(his[i]! / ref[i]! - 1) < 1e-5, `step ${i + 1}: ${his[i]} vs ${ref[i]}`);
});

test('ActFakeQuant gdfq-ema ranges match GDFQ QuantAct on a random batch sequence', () => {
  const o = golden.observer as { mins: number[]; maxs: number[]; lo: number[]; hi: number[] };
  const a = new ActFakeQuant(4, 'gdfq-ema');
  for (let i = 0; i < o.mins.length; i++) {
    a.forward(tensor([o.mins[i]!, 0.1, o.maxs[i]!]));
    const [lo, hi] = a.range();
    assert.ok(Math.abs(lo - o.lo[i]!) <= 1e-5 * Math.max(1, Math.abs(o.lo[i]!)), `step ${i}: lo ${lo} vs ${o.lo[i]}`);
    assert.ok(Math.abs(hi - o.hi[i]!) <= 1e-5 * Math.max(1, Math.abs(o.hi[i]!)), `step ${i}: hi ${hi} vs ${o.hi[i]}`);
  }
  assert.equal(a.updates.data[0], o.mins.length);
});

test('plain-ema starts at the first batch range, then moves by (1 − β)', () => {
  let s = observeRange('plain-ema', initialRange(), -2, 3);
  assert.deepEqual([s.lo, s.hi], [-2, 3]);
  s = observeRange('plain-ema', s, 0, 13);
  assert.ok(Math.abs(s.lo - -1.8) < 1e-12 && Math.abs(s.hi - 4) < 1e-12);
});

test('minmax keeps the running global min and max', () => {
  let s = initialRange();
  for (const [lo, hi] of [[1, 2], [-1, 1.5], [0.5, 4], [0, 3]] as const) s = observeRange('minmax', s, lo, hi);
  assert.deepEqual([s.lo, s.hi], [-1, 4]);
});

test('frozen observer keeps its range; state dict carries lo/hi/updates', () => {
  const a = new ActFakeQuant(3, 'minmax');
  a.forward(tensor([-1, 0, 2]));
  a.observerEnabled = false;
  a.forward(tensor([-10, 0, 20]));
  assert.deepEqual(a.range(), [-1, 2]);
  const sd = a.stateDict();
  assert.deepEqual([...sd.keys()].sort(), ['hi', 'lo', 'updates']);
  const b = new ActFakeQuant(3, 'minmax');
  b.loadStateDict(sd);
  assert.deepEqual(b.range(), [-1, 2]);
  b.forward(tensor([-3, 1]));
  assert.deepEqual(b.range(), [-3, 2]); // resumes as min/max, not as a first batch
});

test('dataMinMax flags NaN', () => {
  assert.deepEqual(dataMinMax(new Float32Array([3, -1, 2])), [-1, 3]);
  assert.ok(Number.isNaN(dataMinMax(new Float32Array([3, NaN, 2]))[0]));
  assert.throws(() => new ActFakeQuant(4).forward(tensor([1, NaN])), /NaN/);
  assert.throws(() => new ActFakeQuant(9), /bit width 9/);
});

/** Σ (fakeQuant(x; lo, hi, bits) − x)² over every element (the quantity mseRange minimizes). */
function quantSse(d: Float32Array, lo: number, hi: number, bits: number): number {
  const step = (hi - lo) / (2 ** bits - 1);
  let s = 0;
  for (const x of d) {
    const c = Math.min(Math.max(x, lo), hi);
    s += (Math.round((c - lo) / step) * step + lo - x) ** 2;
  }
  return s;
}

test('mse range clips a heavy tail: lower error than min–max, and no grid point does better', () => {
  // post-ReLU-like data: half-normal |N(0,1)| with a few large outliers
  let seed = 5;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
  const d = new Float32Array(7000);
  for (let i = 0; i < d.length; i++) d[i] = Math.abs(Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd()));
  d[10] = 12; d[20] = 9;
  const [lo, hi] = mseRange(d, 4);
  const [mn] = dataMinMax(d);
  assert.ok(lo < 1e-4 && hi < 0.6 * 12, `clipped range [${lo}, ${hi}]`);
  const err = quantSse(d, lo, hi, 4);
  assert.ok(err < 0.5 * quantSse(d, mn, 12, 4), `mse ${err} vs min–max ${quantSse(d, mn, 12, 4)}`);
  // the histogram search is approximate: no grid point may beat it by more than 2%
  for (let a = 1; a >= 0.2; a -= 0.05) assert.ok(err <= quantSse(d, a * mn, 12 * a, 4) * 1.02, `α=${a} beats the search`);
});

test('mse range keeps the full span of uniform data, and ActFakeQuant(mse) feeds it to a plain EMA', () => {
  const d = new Float32Array(1600).map((_, i) => i / 1599);
  const [ulo, uhi] = mseRange(d, 4);
  assert.ok(ulo === 0 && uhi >= 0.95, `uniform range [${ulo}, ${uhi}]`);
  const q = new ActFakeQuant(4, 'mse');
  const x = new Float32Array(14000).map((_, i) => (i === 0 ? 3 : (i % 100) / 100));
  q.forward(tensor(x, [14000]));
  const [lo, hi] = mseRange(x, 4);
  assert.deepEqual(q.range(), [lo, Math.fround(hi)]);
  assert.ok(hi < 2, `outlier clipped: hi ${hi}`);
});
