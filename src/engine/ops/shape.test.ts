// Layout ops: forward values against hand-computed expectations (python slice semantics included)
// and float64 gradchecks of every op's adjoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64 } from '../testing.js';
import { tensor } from '../tensor.js';
import { ShapeError } from '../errors.js';
import * as ops from './index.js';

const rng = new Rng(5);
const ar = (n: number, shape: number[]) => tensor(Array.from({ length: n }, (_, i) => i), shape);

test('reshape infers -1 and rejects bad sizes', () => {
  assert.deepEqual(ops.reshape(ar(6, [2, 3]), [-1, 2]).shape, [3, 2]);
  assert.deepEqual(ops.flatten(ar(24, [2, 3, 4])).shape, [2, 12]);
  assert.deepEqual(ops.unsqueeze(ar(6, [2, 3]), -1).shape, [2, 3, 1]);
  assert.deepEqual(ops.squeeze(ar(6, [1, 2, 1, 3])).shape, [2, 3]);
  assert.throws(() => ops.reshape(ar(6, [2, 3]), [4, 2]), ShapeError);
});

test('transpose / permute values', () => {
  assert.deepEqual(ops.transpose(ar(6, [2, 3]), 0, 1).toArray(), [0, 3, 1, 4, 2, 5]);
  const p = ops.permute(ar(24, [2, 3, 4]), [2, 0, 1]);
  assert.deepEqual(p.shape, [4, 2, 3]);
  assert.equal(p.data[1 * 6 + 1 * 3 + 2], 1 * 12 + 2 * 4 + 1); // p[1,1,2] = x[1,2,1]
});

test('slice follows python semantics', () => {
  const x = ar(10, [10]);
  assert.deepEqual(ops.slice(x, 0, 1, 8, 2).toArray(), [1, 3, 5, 7]);
  assert.deepEqual(ops.slice(x, 0, -3, null).toArray(), [7, 8, 9]);
  assert.deepEqual(ops.slice(x, 0, null, null, -3).toArray(), [9, 6, 3, 0]);
  assert.deepEqual(ops.slice(x, 0, 8, 2, -2).toArray(), [8, 6, 4]);
  assert.deepEqual(ops.slice(x, 0, 5, 100).toArray(), [5, 6, 7, 8, 9]);
  assert.deepEqual(ops.slice(x, 0, 5, 2).toArray(), []);
  const m = ar(12, [3, 4]);
  assert.deepEqual(ops.slice(m, 1, 0, 4, 2).toArray(), [0, 2, 4, 6, 8, 10]);
});

test('pad and concat values', () => {
  assert.deepEqual(ops.pad(ar(4, [2, 2]), [[1, 0]], -1).toArray(), [-1, 0, 1, -1, 2, 3]);
  assert.deepEqual(ops.pad(ar(2, [1, 2]), [[0, 1], [1, 0]]).toArray(), [0, 0, 1, 0, 0, 0]);
  assert.deepEqual(ops.concat([ar(4, [2, 2]), ar(2, [2, 1])], 1).toArray(), [0, 1, 0, 2, 3, 1]);
  assert.throws(() => ops.concat([ar(4, [2, 2]), ar(3, [3, 1])], 1), /concat.*\[2, 2\].*\[3, 1\]/);
});

test('gradcheck layout ops', () => {
  gradcheck((t) => ops.reshape(t, [4, -1]), [randn64(rng, [2, 3, 2])]);
  gradcheck((t) => ops.permute(t, [1, 2, 0]), [randn64(rng, [2, 3, 4])]);
  gradcheck((t) => ops.transpose(t, 0, 2), [randn64(rng, [2, 3, 4])]);
  gradcheck((t) => ops.slice(t, 1, 0, null, 2), [randn64(rng, [2, 5, 3])]);
  gradcheck((t) => ops.slice(t, -1, -1, 0, -2), [randn64(rng, [2, 3, 6])]);
  gradcheck((t) => ops.slice(ops.slice(t, 2, 1, 6, 2), 3, 0, 5, 2), [randn64(rng, [1, 2, 6, 5])]);
  gradcheck((t) => ops.pad(t, [[1, 2], [0, 3]], 0.5), [randn64(rng, [2, 3, 2])]);
  gradcheck((a, b, c) => ops.concat([a!, b!, c!], 1), [randn64(rng, [2, 1, 3]), randn64(rng, [2, 2, 3]), randn64(rng, [2, 3, 3])]);
  gradcheck((a, b) => ops.concat([a!, b!], 0), [randn64(rng, [1, 4]), randn64(rng, [2, 4])]);
});
