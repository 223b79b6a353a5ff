// Gradchecks for the broadcasting binary ops, including broadcast operands whose gradients must be
// summed back to their own shape, and scalar operands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64, rand64 } from '../testing.js';
import { tensor } from '../tensor.js';
import { ShapeError } from '../errors.js';
import * as ops from './index.js';

const rng = new Rng(11);

for (const [name, f] of Object.entries({ add: ops.add, sub: ops.sub, mul: ops.mul, maximum: ops.maximum, minimum: ops.minimum })) {
  test(`gradcheck ${name} with broadcasting`, () => {
    gradcheck(f, [randn64(rng, [2, 3, 4]), randn64(rng, [3, 1])]);
    gradcheck(f, [randn64(rng, [1, 4]), randn64(rng, [3, 1])]);
  });
}

test('gradcheck div and pow', () => {
  gradcheck(ops.div, [randn64(rng, [2, 3]), rand64(rng, [3], 0.5, 2)]);
  gradcheck(ops.pow, [rand64(rng, [2, 3], 0.5, 2), randn64(rng, [2, 1])]);
  gradcheck((x) => ops.pow(x, 3), [randn64(rng, [5])]);
});

test('number operands on either side', () => {
  assert.deepEqual(ops.sub(1, tensor([1, 2])).toArray(), [0, -1]);
  assert.deepEqual(ops.div(tensor([1, 2]), 2).toArray(), [0.5, 1]);
  gradcheck((x) => ops.div(3, x), [rand64(rng, [4], 1, 2)]);
});

test('incompatible shapes name the op and both shapes', () => {
  assert.throws(() => ops.add(tensor([1, 2, 3]), tensor([1, 2])), (e: Error) => e instanceof ShapeError && /add/.test(e.message) && /\[3\]/.test(e.message) && /\[2\]/.test(e.message));
});
