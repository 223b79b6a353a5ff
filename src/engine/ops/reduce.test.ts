// Reductions: forward values on a hand-checkable tensor and float64 gradchecks over several axis sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64, assertClose } from '../testing.js';
import { tensor } from '../tensor.js';
import * as ops from './index.js';

const rng = new Rng(3);
const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);

test('sum / mean / variance / amax values and shapes', () => {
  assert.deepEqual(ops.sum(x).toArray(), [21]);
  assert.deepEqual(ops.sum(x, 0).toArray(), [5, 7, 9]);
  assert.deepEqual(ops.sum(x, -1, true).shape, [2, 1]);
  assertClose(ops.mean(x, 1).data, [2, 5]);
  assertClose(ops.variance(x, 1).data, [2 / 3, 2 / 3]);
  assertClose(ops.variance(x, 1, { unbiased: true }).data, [1, 1]);
  assert.deepEqual(ops.amax(x, 0).toArray(), [4, 5, 6]);
  assert.deepEqual(ops.amax(x, [0, 1], true).shape, [1, 1]);
});

for (const axes of [undefined, 0, 1, [0, 2], -1]) {
  test(`gradcheck reductions over ${JSON.stringify(axes)}`, () => {
    gradcheck((t) => ops.sum(t, axes), [randn64(rng, [2, 3, 4])]);
    gradcheck((t) => ops.mean(t, axes, true), [randn64(rng, [2, 3, 4])]);
    gradcheck((t) => ops.variance(t, axes, { unbiased: true }), [randn64(rng, [2, 3, 4])]);
    gradcheck((t) => ops.amax(t, axes), [randn64(rng, [2, 3, 4])]);
  });
}

test('amax splits the gradient among ties', () => {
  const t = tensor([1, 3, 3, 0], [4], { requiresGrad: true });
  ops.amax(t).backward();
  assert.deepEqual(t.grad!.toArray(), [0, 0.5, 0.5, 0]);
});
