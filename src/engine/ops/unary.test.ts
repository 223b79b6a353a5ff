// Gradchecks (float64 central differences) for every elementwise unary op, plus forward values
// against Math for a few points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64, rand64, assertClose } from '../testing.js';
import { type Tensor, tensor } from '../tensor.js';
import * as ops from './index.js';

const rng = new Rng(7);

const cases: Record<string, (x: Tensor) => Tensor> = {
  relu: ops.relu, relu6: (x) => ops.relu6(ops.mul(x, 4)), clamp: (x) => ops.clamp(x, -0.5, 0.7), leakyRelu: (x) => ops.leakyRelu(x, 0.2),
  elu: (x) => ops.elu(x), tanh: ops.tanh, sigmoid: ops.sigmoid, gelu: ops.gelu, exp: ops.exp, abs: ops.abs, cos: ops.cos, sin: ops.sin,
  neg: ops.neg, square: ops.square,
};
for (const [name, f] of Object.entries(cases)) {
  test(`gradcheck ${name}`, () => {
    gradcheck(f, [randn64(rng, [3, 5], 2)]);
  });
}

test('gradcheck log and sqrt on positive inputs', () => {
  gradcheck(ops.log, [rand64(rng, [4, 3], 0.2, 3)]);
  gradcheck(ops.sqrt, [rand64(rng, [4, 3], 0.2, 3)]);
});

test('gelu is the exact erf form', () => {
  // gelu(1) = 0.5·(1 + erf(1/√2)) = Φ(1) = 0.8413447460685429; gelu(−2) = −2·Φ(−2) = −0.04550026389635842
  assertClose(ops.gelu(tensor([1, -2], [2], { dtype: 'float64' })).data, [0.8413447460685429, -0.04550026389635842], 1e-15, 1e-14);
});

test('relu6 and clamp clip, leakyRelu scales negatives', () => {
  assert.deepEqual(ops.relu6(tensor([-1, 3, 7])).toArray(), [0, 3, 6]);
  assert.deepEqual(ops.clamp(tensor([-1, 0.5, 2]), 0, 1).toArray(), [0, 0.5, 1]);
  assertClose(ops.leakyRelu(tensor([-2, 3]), 0.1).data, [-0.2, 3]);
});
