// batchNorm and batchStats: gradchecks in train and eval mode (with and without affine parameters, 2-D
// and 4-D), running-statistics update with the unbiased variance, and float32 backend parity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64, rand64, assertClose, withBackend } from '../testing.js';
import { tensor, zeros, ones } from '../tensor.js';
import { availableBackends } from '../backend.js';
import * as ops from './index.js';

const rng = new Rng(13);

test('batchNorm train normalizes with batch stats and updates running stats (unbiased var)', () => {
  const x = tensor([1, 2, 3, 5, 0, 0, 4, 8], [4, 2]); // channel 0: 1,3,0,4; channel 1: 2,5,0,8
  const rm = zeros([2]), rv = ones([2]);
  const y = ops.batchNorm(x, rm, rv, null, null, true, 0.1, 0);
  // channel 0: mean 2, biased var (1+1+4+4)/4 = 2.5, unbiased 10/3
  assertClose([y.data[0]!, y.data[2]!], [-1 / Math.sqrt(2.5), 1 / Math.sqrt(2.5)], 1e-6);
  assertClose(rm.data, [0.2, 0.375], 1e-6);
  // channel 1: mean 3.75, Σd² = 3.0625+1.5625+14.0625+18.0625 = 36.75, unbiased 12.25
  assertClose(rv.data, [0.9 + 0.1 * 10 / 3, 0.9 + 0.1 * 12.25], 1e-6);
});

test('batchNorm eval uses running stats; null running stats fall back to batch stats', () => {
  const x = tensor([1, 2, 3, 4], [2, 2]);
  const y = ops.batchNorm(x, tensor([1, 2]), tensor([4, 1]), tensor([2, 1]), tensor([0, 1]), false, 0.1, 0);
  assertClose(y.data, [0, 1, 2, 3]);
  const z = ops.batchNorm(x, null, null, null, null, false, 0.1, 0);
  assertClose(z.data, [-1, -1, 1, 1], 1e-6);
});

for (const training of [true, false]) {
  test(`gradcheck batchNorm ${training ? 'train' : 'eval'}`, () => {
    const rm = rng.normal([3], 0, 0.3, 'float64'), rv = rng.uniform([3], 0.5, 2, 'float64');
    const mom = training ? 0 : 0.1; // momentum 0 keeps the running buffers fixed across the finite-difference calls
    gradcheck((x, w, b) => ops.batchNorm(x!, rm, rv, w!, b!, training, mom), [randn64(rng, [4, 3, 2, 3]), randn64(rng, [3]), randn64(rng, [3])]);
    gradcheck((x) => ops.batchNorm(x!, rm, rv, null, null, training, mom), [randn64(rng, [5, 3])]);
    // affine parameters present but frozen (the teacher's case): only dx is formed
    const wf = randn64(rng, [3]), bf = randn64(rng, [3]);
    gradcheck((x) => ops.batchNorm(x!, rm, rv, wf, bf, training, mom), [randn64(rng, [2, 3, 4])]);
  });
}

test('gradcheck batchStats (mean and biased variance over all axes but 1)', () => {
  const x = randn64(rng, [3, 4, 2, 2]);
  const { mean, var: v } = ops.batchStats(x);
  assertClose(mean.data, ops.mean(x, [0, 2, 3]).data, 1e-12);
  assertClose(v.data, ops.variance(x, [0, 2, 3]).data, 1e-12);
  gradcheck((t) => { const s = ops.batchStats(t!); return ops.add(ops.mul(s.mean, 2), ops.square(s.var)); }, [x]);
  gradcheck((t) => ops.batchStats(t!).var, [rand64(rng, [6, 3])]);
});

for (const name of availableBackends()) {
  test(`batchNorm float32 parity: ${name} vs reference`, () => {
    const x = rng.normal([4, 5, 3, 3], 1, 2).requiresGrad_(), w = rng.normal([5]).requiresGrad_(), b = rng.normal([5]).requiresGrad_();
    const g = rng.normal([4, 5, 3, 3]);
    const rm0 = rng.normal([5]), rv0 = rng.uniform([5], 0.5, 2);
    const run = (training: boolean) => () => {
      x.grad = w.grad = b.grad = null;
      const rm = rm0.clone(), rv = rv0.clone();
      const y = ops.batchNorm(x, rm, rv, w, b, training);
      y.backward(g);
      return [y.data, x.grad!.data, w.grad!.data, b.grad!.data, rm.data, rv.data];
    };
    for (const training of [true, false]) {
      const want = withBackend('reference', run(training));
      const got = withBackend(name, run(training));
      got.forEach((d, i) => assertClose(d, want[i]!, 1e-4, 1e-4, `${name} batchNorm(training=${training}) output ${i}`));
    }
  });
}

for (const name of availableBackends()) {
  test(`batchStats float32 parity: ${name} vs reference (values and the gradient of a loss on both)`, () => {
    const x = rng.normal([8, 6, 5, 5], 0.5, 2).requiresGrad_();
    const gm = rng.normal([6]), gv = rng.normal([6]);
    const run = () => {
      x.grad = null;
      const s = ops.batchStats(x);
      ops.add(ops.sum(ops.mul(s.mean, gm)), ops.sum(ops.mul(s.var, gv))).backward();
      return [s.mean.data, s.var.data, x.grad!.data];
    };
    const want = withBackend('reference', run), got = withBackend(name, run);
    got.forEach((d, i) => assertClose(d, want[i]!, 1e-5, 1e-4, `${name} batchStats output ${i}`));
  });
}

test('batchNorm rejects mismatched channel buffers', () => {
  assert.throws(() => ops.batchNorm(zeros([2, 3]), zeros([4]), ones([4]), null, null, false), /batchNorm.*\[4\].*\[2, 3\]/);
});
