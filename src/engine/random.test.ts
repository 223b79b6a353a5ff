// Rng: the xoshiro128** core against outputs of Vigna's reference C code, determinism, state
// save/restore, and rough distribution moments of normal / uniform / integers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './random.js';

test('xoshiro128** core matches the reference C implementation from state [1, 2, 3, 4]', () => {
  // Expected values printed by xoshiro128starstar.c (prng.di.unimi.it) seeded with s = {1, 2, 3, 4}.
  const r = new Rng(0);
  r.setState({ s: [1, 2, 3, 4] });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(() => r.nextUint32()), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

test('same seed gives the same numbers, different seeds differ', () => {
  assert.deepEqual(new Rng(42).normal([100]).toArray(), new Rng(42).normal([100]).toArray());
  assert.notDeepEqual(new Rng(42).uniform([10]).toArray(), new Rng(43).uniform([10]).toArray());
  // Regression check of cross-machine determinism only: these values were produced by this very
  // implementation (not an external oracle); they must never change across machines or Node versions.
  const r = new Rng(42);
  assert.deepEqual([r.nextUint32(), r.nextUint32(), r.nextUint32()], [2837322924, 544945897, 479756282]);
  assert.deepEqual(new Rng(42).normal([3], 0, 1, 'float64').toArray(), [1.1226591822802086, 0.9491474351894811, 0.40412785633822706]);
});

test('state round-trips through JSON and resumes the stream', () => {
  const r = new Rng(7);
  r.normal([5]);
  const saved = JSON.parse(JSON.stringify(r.state()));
  const a = r.uniform([20], -1, 1, 'float64').toArray();
  const q = new Rng(999);
  q.setState(saved);
  assert.deepEqual(q.uniform([20], -1, 1, 'float64').toArray(), a);
  assert.throws(() => q.setState({ s: [1, 2] }), /setState/);
});

function moments(xs: ArrayLike<number>): { mean: number; variance: number } {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i]!;
  m /= xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i]! - m) ** 2;
  return { mean: m, variance: v / xs.length };
}

test('distribution moments', () => {
  const r = new Rng(1);
  const n = 200_000;
  const g = moments(r.normal([n], 2, 3, 'float64').data);
  assert.ok(Math.abs(g.mean - 2) < 0.03, `normal mean ${g.mean}`);
  assert.ok(Math.abs(g.variance - 9) < 0.1, `normal variance ${g.variance}`);
  const z = r.normal([n], 0, 1, 'float64').data;
  let k4 = 0;
  for (const v of z) k4 += v ** 4;
  assert.ok(Math.abs(k4 / n - 3) < 0.1, `normal 4th moment ${k4 / n}`);
  const u = moments(r.uniform([n], -1, 3, 'float64').data);
  assert.ok(Math.abs(u.mean - 1) < 0.02 && Math.abs(u.variance - 16 / 12) < 0.02, `uniform ${JSON.stringify(u)}`);
  const ints = r.integers(3, 8, 50_000);
  const counts = new Array(5).fill(0);
  for (const v of ints) counts[v - 3]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 400, `integers histogram ${counts}`);
  const p = r.permutation(10);
  assert.deepEqual([...p].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('bernoulliMask: frequency of ones ≈ p, reproducible from the state, one draw of the stream', () => {
  for (const p of [0.1, 0.5, 0.9]) {
    const m = new Rng(11).bernoulliMask(100001, p);
    const ones = m.reduce((s, v) => s + v, 0) / m.length;
    assert.ok(Math.abs(ones - p) < 0.01, `p ${p}: frequency ${ones}`);
    assert.ok(m.every((v) => v === 0 || v === 1));
  }
  assert.deepEqual(new Rng(5).bernoulliMask(37, 0.5), new Rng(5).bernoulliMask(37, 0.5));
  const a = new Rng(5), b = new Rng(5);
  a.bernoulliMask(1000, 0.5);
  b.nextUint32();
  assert.equal(a.nextUint32(), b.nextUint32());
  assert.equal(new Rng(1).bernoulliMask(64, 0).reduce((s, v) => s + v, 0), 0);
  assert.equal(new Rng(1).bernoulliMask(64, 1).reduce((s, v) => s + v, 0), 64);
});
