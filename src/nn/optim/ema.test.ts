// WeightEma: the average follows avg_t = d·avg_{t−1} + (1−d)·p_t from a copy of the first parameters,
// swapping it in restores the live weights bit for bit, and its state dict round-trips.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../engine/tensor.js';
import { Parameter } from '../module.js';
import { WeightEma } from './ema.js';

const param = (v: number[]) => new Parameter(new Tensor(Float32Array.from(v), [v.length]));

test('EMA: first update copies, later ones blend with weight 1 − d (closed form over three steps)', () => {
  const p = param([1, -2]);
  const ema = new WeightEma([['w', p]], 0.9);
  const seq = [[1, -2], [3, 0], [-1, 4]];
  for (const v of seq) { p.data.set(v); ema.update(); }
  // avg = 0.9·(0.9·p0 + 0.1·p1) + 0.1·p2
  const expect = [0.9 * (0.9 * 1 + 0.1 * 3) + 0.1 * -1, 0.9 * (0.9 * -2 + 0.1 * 0) + 0.1 * 4];
  const avg = ema.stateDict().get('w')!.data;
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(avg[i]! - expect[i]!) < 1e-6, `avg[${i}] ${avg[i]} vs ${expect[i]}`);
  assert.equal(ema.count, 3);
  assert.deepEqual([...p.data], [-1, 4], 'updating the average must not touch the live weights');
});

test('EMA: withAverage shows the average inside and restores the live weights exactly, even on a throw', () => {
  const p = param([0.1, 0.2, 0.3]);
  const ema = new WeightEma([['w', p]], 0.5);
  assert.equal(ema.withAverage(() => p.data[0]), Math.fround(0.1), 'no update yet: the live weights are used');
  ema.update();
  p.data.set([Math.fround(1 / 3), 7, -7]);
  ema.update();
  const live = p.data.slice();
  const inside = ema.withAverage(() => [...p.data]);
  assert.ok(Math.abs(inside[1]! - 0.5 * 0.2 - 0.5 * 7) < 1e-6);
  assert.deepEqual(p.data, live);
  assert.throws(() => ema.withAverage(() => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(p.data, live, 'restored after a throw');
  ema.apply();
  assert.deepEqual([...p.data], inside, 'apply leaves the average in the parameters');
});

test('EMA: the state dict round-trips, and bad decays or states are one-line errors', () => {
  const p = param([1, 2]);
  const a = new WeightEma([['w', p]], 0.99);
  a.update(); p.data.set([5, 6]); a.update();
  const b = new WeightEma([['w', param([0, 0])]], 0.99);
  b.loadStateDict(new Map([...a.stateDict()].map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)])), a.count);
  assert.deepEqual(b.stateDict().get('w')!.data, a.stateDict().get('w')!.data);
  assert.equal(b.count, 2);
  for (const d of [0, 1, -0.5, NaN]) assert.throws(() => new WeightEma([['w', p]], d), /EMA decay .*must be in \(0, 1\)/);
  assert.throws(() => b.loadStateDict(new Map(), 1), /EMA state: missing w/);
});
