// Golden values from PyTorch (test/fixtures/engine_ops.json, made by tools/fixtures/engine_ops.py):
// conv2d (groups + dilation, depthwise 7×7 d3), batch norm train (output, running stats, gradients),
// cross entropy (hard and soft), kl_div reductions, gelu, and GDFQ fake quantization in float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor, tensor } from '../tensor.js';
import { assertClose } from '../testing.js';
import * as ops from './index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const fx: any = JSON.parse(readFileSync(new URL('../../../test/fixtures/engine_ops.json', import.meta.url), 'utf8')).cases;
const f64 = (v: number[], shape?: number[], requiresGrad = false): Tensor => tensor(v, shape, { dtype: 'float64', requiresGrad });
const TOL = 1e-10;

test('conv2d with groups, dilation, stride and padding matches torch', () => {
  for (const key of ['conv2d', 'conv2dDepthwiseDilated']) {
    const c = fx[key];
    const x = f64(c.x, c.xShape, true), w = f64(c.w, c.wShape, true), b = c.b ? f64(c.b, [c.b.length], true) : null;
    const y = ops.conv2d(x, w, b, c.opts);
    assert.deepEqual(y.shape, c.yShape);
    assertClose(y.data, c.y, TOL, TOL, `${key} y`);
    y.backward(f64(c.gy, c.yShape));
    assertClose(x.grad!.data, c.gx, TOL, TOL, `${key} gx`);
    assertClose(w.grad!.data, c.gw, TOL, TOL, `${key} gw`);
    if (b) assertClose(b.grad!.data, c.gb, TOL, TOL, `${key} gb`);
  }
});

test('batch norm training output, running-stat update and gradients match torch', () => {
  const c = fx.batchNormTrain;
  const x = f64(c.x, c.xShape, true), wt = f64(c.weight, [3], true), bs = f64(c.bias, [3], true);
  const rm = f64(c.runningMean, [3]), rv = f64(c.runningVar, [3]);
  const y = ops.batchNorm(x, rm, rv, wt, bs, true, 0.1, 1e-5);
  assertClose(y.data, c.y, TOL, TOL, 'y');
  assertClose(rm.data, c.newRunningMean, TOL, TOL, 'running_mean');
  assertClose(rv.data, c.newRunningVar, TOL, TOL, 'running_var');
  y.backward(f64(c.gy, c.xShape));
  assertClose(x.grad!.data, c.gx, 1e-9, 1e-9, 'gx');
  assertClose(wt.grad!.data, c.gweight, TOL, TOL, 'gweight');
  assertClose(bs.grad!.data, c.gbias, TOL, TOL, 'gbias');
});

test('cross entropy (hard and soft targets) matches torch', () => {
  const c = fx.crossEntropy;
  const logits = f64(c.logits, [4, 5], true);
  const loss = ops.crossEntropy(logits, new Int32Array(c.target));
  assertClose(loss.data, [c.loss], TOL, TOL, 'hard loss');
  loss.backward();
  assertClose(logits.grad!.data, c.glogits, TOL, TOL, 'hard grad');
  const sl = f64(c.softLogits, [4, 5], true);
  const soft = ops.crossEntropy(sl, f64(c.softTarget, [4, 5]));
  assertClose(soft.data, [c.softLoss], TOL, TOL, 'soft loss');
  soft.backward();
  assertClose(sl.grad!.data, c.gsoftLogits, TOL, TOL, 'soft grad');
});

test("kl_div 'mean', 'batchmean' and 'sum' match torch (including a zero target)", () => {
  const c = fx.klDiv;
  for (const red of ['mean', 'batchmean', 'sum'] as const) {
    const x = f64(c.input, c.shape, true);
    const l = ops.klDiv(ops.logSoftmax(x, 1), f64(c.target, c.shape), red);
    assertClose(l.data, [c.reductions[red].loss], TOL, TOL, `${red} loss`);
    l.backward();
    assertClose(x.grad!.data, c.reductions[red].ginput, TOL, TOL, `${red} grad`);
  }
});

test('gelu (erf form) and its derivative match torch', () => {
  const c = fx.gelu;
  const x = f64(c.x, undefined, true);
  const y = ops.gelu(x);
  assertClose(y.data, c.y, 1e-14, 1e-13, 'gelu');
  ops.sum(y).backward();
  assertClose(x.grad!.data, c.gx, 1e-14, 1e-13, 'gelu grad');
});

test('fakeQuantize matches GDFQ arithmetic in torch float32 bit for bit', () => {
  const c = fx.fakeQuant;
  const x = tensor(c.x, c.shape);
  for (const bits of [2, 4, 8]) {
    const y = ops.fakeQuantize(x, new Float32Array(c.lo), new Float32Array(c.hi), bits, true);
    assert.deepEqual(y.toArray(), c.y[String(bits)], `${bits} bits`);
  }
});
