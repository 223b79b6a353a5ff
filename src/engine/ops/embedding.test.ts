// embedding: gathered rows, repeated ids accumulating gradient, range errors, float64 gradcheck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64 } from '../testing.js';
import { tensor } from '../tensor.js';
import { LrqError } from '../errors.js';
import * as ops from './index.js';

test('embedding gathers rows and scatter-adds gradients of repeated ids', () => {
  const table = tensor([0, 1, 10, 11, 20, 21], [3, 2], { requiresGrad: true });
  const y = ops.embedding(new Int32Array([2, 0, 2]), table);
  assert.deepEqual(y.shape, [3, 2]);
  assert.deepEqual(y.toArray(), [20, 21, 0, 1, 20, 21]);
  ops.sum(y).backward();
  assert.deepEqual(table.grad!.toArray(), [1, 1, 0, 0, 2, 2]);
  assert.throws(() => ops.embedding(new Int32Array([3]), table), LrqError);
});

test('gradcheck embedding', () => {
  const ids = new Int32Array([1, 3, 1, 0]);
  gradcheck((t) => ops.embedding(ids, t!), [randn64(new Rng(2), [4, 3])]);
});
