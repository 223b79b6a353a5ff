// Losses: crossEntropy (hard and soft targets, all reductions) and klDiv (all reductions, 0·log 0 = 0)
// checked against their defining formulas and by float64 gradchecks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64, assertClose } from '../testing.js';
import { tensor } from '../tensor.js';
import { LrqError } from '../errors.js';
import * as ops from './index.js';

const rng = new Rng(23);

test('crossEntropy hard = mean of −log softmax at the label; soft with one-hot targets agrees', () => {
  const x = randn64(rng, [4, 5]);
  const t = new Int32Array([0, 3, 4, 1]);
  const lsm = ops.logSoftmax(x).data;
  const want = [0, 1, 2, 3].map((i) => -lsm[i * 5 + t[i]!]!);
  assertClose(ops.crossEntropy(x, t, 'none').data, want, 1e-12);
  assertClose(ops.crossEntropy(x, t).data, [want.reduce((a, b) => a + b) / 4], 1e-12);
  assertClose(ops.crossEntropy(x, t, 'sum').data, [want.reduce((a, b) => a + b)], 1e-12);
  const onehot = tensor(Array.from({ length: 20 }, (_, k) => (t[Math.floor(k / 5)] === k % 5 ? 1 : 0)), [4, 5], { dtype: 'float64' });
  assertClose(ops.crossEntropy(x, onehot).data, ops.crossEntropy(x, t).data, 1e-12);
  assert.throws(() => ops.crossEntropy(x, new Int32Array([0, 1, 5, 0])), LrqError);
});

test('gradcheck crossEntropy hard and soft', () => {
  const t = new Int32Array([2, 0, 1]);
  for (const red of ['mean', 'sum', 'none'] as const) gradcheck((x) => ops.crossEntropy(x!, t, red), [randn64(rng, [3, 4])]);
  const soft = () => ops.softmax(randn64(rng, [3, 4])).detach().requiresGrad_();
  gradcheck((x, p) => ops.crossEntropy(x!, p!), [randn64(rng, [3, 4]), soft()]);
  gradcheck((x, p) => ops.crossEntropy(x!, p!, 'none'), [randn64(rng, [3, 4]), soft()]);
});

test('klDiv reductions and zero targets', () => {
  const inp = ops.logSoftmax(randn64(rng, [2, 3])).detach();
  const tgt = tensor([0.2, 0.8, 0, 0.5, 0.25, 0.25], [2, 3], { dtype: 'float64' });
  const pw = Array.from(tgt.data, (t, i) => (t > 0 ? t * (Math.log(t) - inp.data[i]!) : 0));
  const s = pw.reduce((a, b) => a + b);
  assertClose(ops.klDiv(inp, tgt, 'none').data, pw, 1e-12);
  assertClose(ops.klDiv(inp, tgt, 'sum').data, [s], 1e-12);
  assertClose(ops.klDiv(inp, tgt, 'mean').data, [s / 6], 1e-12);
  assertClose(ops.klDiv(inp, tgt, 'batchmean').data, [s / 2], 1e-12);
});

test('gradcheck klDiv wrt input and target', () => {
  for (const red of ['mean', 'batchmean', 'sum', 'none'] as const) {
    const tgt = ops.softmax(randn64(rng, [3, 4])).detach().requiresGrad_();
    gradcheck((x, t) => ops.klDiv(ops.logSoftmax(x!), t!, red), [randn64(rng, [3, 4]), tgt]);
  }
});
