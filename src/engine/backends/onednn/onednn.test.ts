// Parity of every kernel the oneDNN backend overrides against the reference backend on seeded random
// float32 inputs (float32 tolerances), plus: native failures surface as JS Errors, float64 falls back.
// Skipped (with the loader's reason) when the addon is not built on this machine.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { spawnSync } from 'node:child_process';
import type { Backend, BinaryOp, Conv2dGeom, Pool2dGeom, UnaryOp } from '../../backend.js';
import { referenceBackend as ref } from '../reference/index.js';
import { onednnBackend } from './index.js';
import { nativeLoadError } from './native.js';
import { setBackend } from '../../backend.js';
import { Tensor } from '../../tensor.js';
import { conv2d } from '../../ops/conv.js';
import { batchNorm } from '../../ops/norm.js';
import { leakyRelu, relu } from '../../ops/unary.js';
import { add, mul } from '../../ops/binary.js';
import { upsampleNearest } from '../../ops/pool.js';
import { sum } from '../../ops/reduce.js';

const nb = onednnBackend();
const skip = nb ? false : `oneDNN addon not available: ${nativeLoadError()}`;
const dnn = nb as Backend;

/** Seeded uniform floats in [lo, hi) (xorshift32). */
function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    a[i] = lo + ((s >>> 0) / 4294967296) * (hi - lo);
  }
  return a;
}

/** |got − want| ≤ atol + rtol·|want| elementwise (NaN only where want is NaN). */
function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol = 1e-4, atol = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      assert.ok(Number.isNaN(w) && Number.isNaN(g), `${what}[${i}]: got ${g}, want ${w}`);
      continue;
    }
    if (g === w) continue;
    const err = Math.abs(g - w) - (atol + rtol * Math.abs(w));
    if (err > worst) { worst = err; at = i; }
  }
  assert.ok(at < 0, `${what}[${at}]: got ${got[at]}, want ${want[at]}`);
}

function convGeom(n: number, c: number, h: number, w: number, oc: number, kh: number, kw: number,
  o: { s?: number; pad?: [number, number, number, number]; d?: number; g?: number } = {}): Conv2dGeom {
  const s = o.s ?? 1, d = o.d ?? 1, [pt, pl, pb, pr] = o.pad ?? [0, 0, 0, 0];
  const oh = Math.floor((h + pt + pb - d * (kh - 1) - 1) / s) + 1;
  const ow = Math.floor((w + pl + pr - d * (kw - 1) - 1) / s) + 1;
  return { n, c, h, w, oc, kh, kw, oh, ow, strideH: s, strideW: s, padTop: pt, padLeft: pl, padBottom: pb, padRight: pr,
    dilH: d, dilW: d, groups: o.g ?? 1 };
}

const convCases: [string, Conv2dGeom][] = [
  ['3×3 pad 1', convGeom(2, 3, 9, 9, 4, 3, 3, { pad: [1, 1, 1, 1] })],
  ['3×3 stride 2', convGeom(2, 8, 8, 8, 16, 3, 3, { s: 2, pad: [1, 1, 1, 1] })],
  ['grouped g=2', convGeom(2, 4, 7, 6, 6, 3, 3, { g: 2, pad: [1, 1, 1, 1] })],
  ['depthwise 5×5 pad 2', convGeom(2, 8, 10, 10, 8, 5, 5, { g: 8, pad: [2, 2, 2, 2] })],
  ['depthwise 7×7 dil 3 pad 9', convGeom(2, 8, 12, 12, 8, 7, 7, { g: 8, d: 3, pad: [9, 9, 9, 9] })],
  ['asymmetric pad stride 2', convGeom(2, 3, 9, 8, 5, 3, 2, { s: 2, pad: [0, 1, 2, 0] })],
  ['1×1', convGeom(3, 16, 5, 5, 8, 1, 1)],
  ['dilated 3×3 dil 2', convGeom(1, 4, 11, 11, 4, 3, 3, { d: 2, pad: [2, 2, 2, 2] })],
  ['depthwise 3×3 dil 2 stride 2 asymmetric pad', convGeom(2, 6, 11, 10, 6, 3, 3, { g: 6, d: 2, s: 2, pad: [1, 2, 0, 3] })],
  ['depthwise 7×7 dil 3 pad 9, 64×32×32', convGeom(2, 64, 32, 32, 64, 7, 7, { g: 64, d: 3, pad: [9, 9, 9, 9] })],
  // ShuffleNetV2's depthwise shapes (planes narrower than a vector, stride 2) and the column-phase split
  // of the weight-gradient kernel (stride 3 with dilation 2, odd widths, stride 2 down only)
  ['depthwise 3×3 pad 1, 4×4', convGeom(3, 12, 4, 4, 12, 3, 3, { g: 12, pad: [1, 1, 1, 1] })],
  ['depthwise 3×3 stride 2 pad 1, 8×8', convGeom(2, 16, 8, 8, 16, 3, 3, { g: 16, s: 2, pad: [1, 1, 1, 1] })],
  ['depthwise 3×3 stride 2 pad 1, 9×7', convGeom(2, 5, 9, 7, 5, 3, 3, { g: 5, s: 2, pad: [1, 1, 1, 1] })],
  ['depthwise 3×3 stride 3 dil 2 asymmetric pad', convGeom(2, 4, 13, 12, 4, 3, 3, { g: 4, s: 3, d: 2, pad: [2, 0, 1, 3] })],
  ['depthwise 3×3 stride 2×1', { ...convGeom(2, 6, 9, 7, 6, 3, 3, { g: 6, pad: [1, 1, 1, 1] }), strideH: 2, oh: 5 }],
];

for (const [name, g] of convCases) {
  test(`conv2d ${name}: forward, backward data, backward weights match reference`, { skip }, () => {
    const x = rand(g.n * g.c * g.h * g.w, 1);
    const w = rand(g.oc * (g.c / g.groups) * g.kh * g.kw, 2);
    const b = rand(g.oc, 3);
    const gy = rand(g.n * g.oc * g.oh * g.ow, 4);
    close(dnn.conv2d(x, w, b, g), ref.conv2d(x, w, b, g), 'y (bias)');
    close(dnn.conv2d(x, w, null, g), ref.conv2d(x, w, null, g), 'y');
    close(dnn.conv2dBackwardData(gy, w, g), ref.conv2dBackwardData(gy, w, g), 'gx');
    const got = dnn.conv2dBackwardWeights(gy, x, g, true), want = ref.conv2dBackwardWeights(gy, x, g, true);
    close(got.gw, want.gw, 'gw', 1e-4, 1e-3);
    close(got.gb!, want.gb!, 'gb', 1e-4, 1e-3);
    assert.equal(dnn.conv2dBackwardWeights(gy, x, g, false).gb, null);
    // After backward-data on gy, backward-weights on a different gy2 must not reuse gy's reordered copy.
    const gy2 = rand(gy.length, 5);
    dnn.conv2dBackwardData(gy, w, g);
    close(dnn.conv2dBackwardWeights(gy2, x, g, false).gw, ref.conv2dBackwardWeights(gy2, x, g, false).gw, 'gw (other gy)', 1e-4, 1e-3);
    // A second call reuses the cached primitive and must give the same numbers.
    close(dnn.conv2d(x, w, b, g), ref.conv2d(x, w, b, g), 'y (cached)');
  });
}

test('conv2d: float64 inputs fall back to the reference kernel', { skip }, () => {
  const g = convCases[0]![1];
  const x = Float64Array.from(rand(g.n * g.c * g.h * g.w, 5)), w = Float64Array.from(rand(g.oc * g.c * 9, 6));
  const y = dnn.conv2d(x, w, null, g);
  assert.ok(y instanceof Float64Array);
  assert.deepEqual(y, ref.conv2d(x, w, null, g));
});

test('float64 inputs of other overridden kernels fall back to reference (same dtype, same values)', { skip }, () => {
  const x = Float64Array.from(rand(2 * 3 * 16, 7)), y = Float64Array.from(rand(2 * 3 * 16, 8));
  const shape = [2, 3, 16];
  const checks: [string, () => unknown, () => unknown][] = [
    ['binary', () => dnn.binary('mul', x, shape, y, shape, shape), () => ref.binary('mul', x, shape, y, shape, shape)],
    ['unary', () => dnn.unary('tanh', x, {}), () => ref.unary('tanh', x, {})],
    ['sum', () => dnn.sum(x, shape, [0, 2]), () => ref.sum(x, shape, [0, 2])],
    ['batchNormTrain', () => dnn.batchNormTrain(x, 2, 3, 16, null, null, 1e-5).y, () => ref.batchNormTrain(x, 2, 3, 16, null, null, 1e-5).y],
    ['matmul', () => dnn.matmul(x, y, 1, 6, 6, 16, false, true, null, 0, 0), () => ref.matmul(x, y, 1, 6, 6, 16, false, true, null, 0, 0)],
    ['transpose', () => dnn.transpose(x, shape, [2, 0, 1]), () => ref.transpose(x, shape, [2, 0, 1])],
  ];
  for (const [name, got, want] of checks) {
    const g = got() as Float64Array;
    assert.ok(g instanceof Float64Array, `${name} keeps float64`);
    assert.deepEqual(g, want(), name);
  }
});

test('conv2d with an empty batch returns empty arrays instead of a oneDNN error', { skip }, () => {
  const g = { ...convCases[0]![1], n: 0 };
  assert.equal(dnn.conv2d(new Float32Array(0), rand(g.oc * g.c * 9, 1), null, g).length, 0);
});

test('native failures surface as JS Errors (absurd geometry, bad lengths)', { skip }, () => {
  const g = { ...convCases[0]![1] };
  const x = rand(g.n * g.c * g.h * g.w, 1), w = rand(g.oc * g.c * 9, 2);
  // Output size inconsistent with the window arithmetic: oneDNN refuses the descriptor.
  assert.throws(() => dnn.conv2d(x, w, null, { ...g, oh: g.oh + 7 }), (e: unknown) =>
    e instanceof Error && /conv2d/.test(e.message));
  assert.throws(() => dnn.conv2d(x, w, null, { ...g, oh: g.oh + 7 }), /oneDNN status invalid_arguments/);
  assert.throws(() => dnn.conv2d(x.subarray(1), w, null, g), /input length does not match/);
  assert.throws(() => dnn.conv2d(x, w, null, { ...g, groups: 2 }), /divisible by groups/);
  assert.throws(() => dnn.matmul(rand(4, 1), rand(4, 2), 1, 3, 3, 3, false, false, null, 0, 0), /too short/);
  assert.throws(() => dnn.batchNormTrain(rand(10, 1), 2, 3, 2, null, null, 1e-5), /length/);
});

test('matmul: all transpose flags, bias, batch and broadcast batch strides match reference', { skip }, () => {
  const [m, n, k] = [5, 7, 6];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const a = rand(3 * m * k, 11), b = rand(3 * k * n, 12), bias = rand(n, 13);
      close(dnn.matmul(a, b, 3, m, n, k, ta, tb, bias, m * k, k * n), ref.matmul(a, b, 3, m, n, k, ta, tb, bias, m * k, k * n), `ta=${ta} tb=${tb}`);
      close(dnn.matmul(a, b, 3, m, n, k, ta, tb, null, 0, k * n), ref.matmul(a, b, 3, m, n, k, ta, tb, null, 0, k * n), `A broadcast ta=${ta} tb=${tb}`);
    }
  }
  const a = rand(64 * 100, 14), w = rand(256 * 100, 15), bias = rand(256, 16);
  close(dnn.matmul(a, w, 1, 64, 256, 100, false, true, bias, 0, 0), ref.matmul(a, w, 1, 64, 256, 100, false, true, bias, 0, 0), 'linear');
});

test('batch norm: train, infer and backward match reference (with and without affine, hw = 1)', { skip }, () => {
  for (const [n, c, hw] of [[4, 3, 25], [8, 16, 1], [2, 5, 64]] as const) {
    const x = rand(n * c * hw, 21, -2, 3), gamma = rand(c, 22, 0.5, 1.5), beta = rand(c, 23), gy = rand(n * c * hw, 24);
    for (const aff of [true, false]) {
      const gm = aff ? gamma : null, bt = aff ? beta : null;
      for (const eps of [1e-5, 0.8]) {
        const got = dnn.batchNormTrain(x, n, c, hw, gm, bt, eps), want = ref.batchNormTrain(x, n, c, hw, gm, bt, eps);
        close(got.y, want.y, 'y', 1e-4, 1e-4);
        close(got.mean, want.mean, 'mean');
        close(got.variance, want.variance, 'variance');
        close(dnn.batchNormInfer(x, n, c, hw, want.mean, want.variance, gm, bt, eps),
          ref.batchNormInfer(x, n, c, hw, want.mean, want.variance, gm, bt, eps), 'infer');
        const gb = dnn.batchNormTrainBackward(gy, x, n, c, hw, want.mean, want.variance, gm, eps);
        const wb = ref.batchNormTrainBackward(gy, x, n, c, hw, want.mean, want.variance, gm, eps);
        close(gb.gx, wb.gx, 'gx', 1e-3, 1e-4);
        close(gb.ggamma, wb.ggamma, 'ggamma', 1e-4, 1e-3);
        close(gb.gbeta, wb.gbeta, 'gbeta', 1e-4, 1e-3);
        for (const params of [true, false]) {
          const gi = dnn.batchNormInferBackward(gy, x, n, c, hw, want.mean, want.variance, gm, eps, params);
          const wi = ref.batchNormInferBackward(gy, x, n, c, hw, want.mean, want.variance, gm, eps, params);
          close(gi.gx, wi.gx, 'infer gx', 1e-5, 1e-5);
          assert.equal(gi.ggamma === null, !params);
          if (params) {
            close(gi.ggamma!, wi.ggamma!, 'infer ggamma', 1e-4, 1e-3);
            close(gi.gbeta!, wi.gbeta!, 'infer gbeta', 1e-4, 1e-3);
          }
        }
      }
    }
  }
});

test('batch moments and their backward match reference (planes above the parallel threshold, hw = 1)', { skip }, () => {
  for (const [n, c, hw] of [[4, 3, 25], [8, 16, 1], [16, 8, 1024]] as const) {
    const x = rand(n * c * hw, 41, -2, 3), gm = rand(c, 42), gv = rand(c, 43);
    const got = dnn.batchMoments(x, n, c, hw), want = ref.batchMoments(x, n, c, hw);
    close(got.mean, want.mean, 'mean');
    close(got.variance, want.variance, 'variance');
    close(dnn.batchMomentsBackward(gm, gv, x, n, c, hw, want.mean), ref.batchMomentsBackward(gm, gv, x, n, c, hw, want.mean), 'gx', 1e-6, 1e-5);
  }
  assert.throws(() => dnn.batchMoments(rand(10, 1), 2, 3, 2), /batchMoments.*length/);
});

test('unary ops and their backward match reference', { skip }, () => {
  const ops: [UnaryOp, { alpha?: number; lo?: number; hi?: number }][] = [
    ['neg', {}], ['relu', {}], ['leaky_relu', { alpha: 0.2 }], ['leaky_relu', {}], ['clip', { lo: -0.5, hi: 0.25 }],
    ['tanh', {}], ['sigmoid', {}], ['gelu', {}], ['exp', {}], ['abs', {}], ['cos', {}], ['sin', {}], ['square', {}],
    ['round', {}], ['elu', {}], ['elu', { alpha: 0.5 }],
  ];
  const x = rand(70000, 31, -3, 3); // above the parallel threshold
  x[0] = 0; x[1] = -0.5; x[2] = 0.25; x[3] = 2.5; x[4] = 1.5; // kinks, clip bounds, rounding ties
  const gy = rand(x.length, 32);
  for (const [op, args] of ops) {
    const y = dnn.unary(op, x, args), yr = ref.unary(op, x, args);
    close(y, yr, `${op} fwd`, 1e-5, 1e-6);
    close(dnn.unaryBackward(op, gy, x, yr, args), ref.unaryBackward(op, gy, x, yr, args), `${op} bwd`, 1e-4, 1e-5);
  }
  const xp = rand(5000, 33, 0.01, 4);
  for (const op of ['log', 'sqrt'] as const) {
    const yr = ref.unary(op, xp, {});
    close(dnn.unary(op, xp, {}), yr, `${op} fwd`, 1e-5, 1e-6);
    close(dnn.unaryBackward(op, gy.subarray(0, xp.length), xp, yr, {}), ref.unaryBackward(op, gy.subarray(0, xp.length), xp, yr, {}), `${op} bwd`);
  }
});

test('binary ops with broadcasting and affine match reference', { skip }, () => {
  const cases: [number[], number[]][] = [
    [[4, 3, 5, 6], [4, 3, 5, 6]], [[4, 3, 5, 6], [1, 3, 1, 1]], [[3, 1, 1], [4, 3, 5, 6]], [[2, 3], []],
    [[], [2, 3]], [[4, 1, 6], [5, 1]], [[32, 16, 16, 16], [32, 16, 16, 16]], [[32, 64, 8, 8], [64, 1, 1]], [[7, 1], [1, 9]],
  ];
  const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'];
  for (const [as, bs] of cases) {
    const r = Math.max(as.length, bs.length);
    const pa = [...Array(r - as.length).fill(1), ...as], pb = [...Array(r - bs.length).fill(1), ...bs];
    const os = pa.map((d, i) => Math.max(d, pb[i]!));
    const a = rand(as.reduce((p, d) => p * d, 1), 41, 0.1, 2), b = rand(bs.reduce((p, d) => p * d, 1), 42, 0.1, 2);
    for (const op of ops) close(dnn.binary(op, a, as, b, bs, os), ref.binary(op, a, as, b, bs, os), `${op} ${as}∘${bs}`, 1e-5, 1e-6);
    close(dnn.broadcastTo(b, bs, os), ref.broadcastTo(b, bs, os), `broadcastTo ${bs}→${os}`, 0, 0);
  }
  const a = rand(1000, 43);
  close(dnn.affine(a, 2.5, -0.75), ref.affine(a, 2.5, -0.75), 'affine', 1e-6, 1e-6);
});

test('sum and max over axes match reference', { skip }, () => {
  const cases: [number[], number[]][] = [
    [[32, 16, 8, 8], [0, 2, 3]], [[32, 16, 8, 8], [2, 3]], [[32, 16, 8, 8], [0]], [[32, 16, 8, 8], [0, 1, 2, 3]],
    [[64, 10], [0]], [[64, 10], [1]], [[5, 1, 7], [1]], [[4, 5, 6], []], [[3, 4, 5, 6], [1, 3]], [[200, 300], [0, 1]],
  ];
  for (const [shape, axes] of cases) {
    const x = rand(shape.reduce((p, d) => p * d, 1), 51, -1, 1);
    close(dnn.sum(x, shape, axes), ref.sum(x, shape, axes), `sum ${shape} over ${axes}`, 1e-4, 1e-4);
    close(dnn.max(x, shape, axes), ref.max(x, shape, axes), `max ${shape} over ${axes}`, 0, 0);
  }
});

test('slice (steps incl. negative), sliceBackward and pad match reference', { skip }, () => {
  const shape = [4, 6, 8, 10];
  const x = rand(4 * 6 * 8 * 10, 64);
  const cases: [number[], number[], number[]][] = [
    [[0, 0, 0, 0], [1, 1, 2, 2], [4, 6, 4, 5]], [[1, 2, 7, 9], [2, 1, -1, -3], [2, 3, 8, 4]], [[0, 5, 0, 0], [1, -2, 1, 1], [4, 3, 8, 10]],
  ];
  for (const [starts, steps, outShape] of cases) {
    close(dnn.slice(x, shape, starts, steps, outShape), ref.slice(x, shape, starts, steps, outShape), `slice ${starts}/${steps}`, 0, 0);
    const gy = rand(outShape.reduce((p, d) => p * d, 1), 65);
    close(dnn.sliceBackward(gy, shape, starts, steps, outShape), ref.sliceBackward(gy, shape, starts, steps, outShape), `sliceBackward ${starts}/${steps}`, 0, 0);
  }
  close(dnn.pad(x, shape, [0, 2, 1, 0], [1, 2, 0, 3], 0), ref.pad(x, shape, [0, 2, 1, 0], [1, 2, 0, 3], 0), 'pad 0', 0, 0);
  close(dnn.pad(x, shape, [1, 0, 0, 2], [0, 0, 3, 0], -1.5), ref.pad(x, shape, [1, 0, 0, 2], [0, 0, 3, 0], -1.5), 'pad −1.5', 0, 0);
});

test('concat along every axis (pooled output, large enough for the pool) matches reference exactly; float64 falls back', { skip }, () => {
  const shapes = [[4, 24, 16, 16], [4, 24, 16, 16]];
  for (let axis = 0; axis < 4; axis++) {
    const sh = shapes.map((s, i) => s.map((d, a) => (a === axis ? d + i : d)));
    const xs = sh.map((s, i) => rand(s.reduce((p, d) => p * d, 1), 70 + i));
    close(dnn.concat(xs, sh, axis), ref.concat(xs, sh, axis), `concat axis ${axis}`, 0, 0);
  }
  const x64 = Float64Array.from([1, 2, 3]);
  const y = dnn.concat([x64, x64], [[3], [3]], 0);
  assert.ok(y instanceof Float64Array);
  assert.deepEqual([...y], [1, 2, 3, 1, 2, 3]);
});

test('transpose and nearest upsampling (forward and backward) match reference', { skip }, () => {
  const cases: [number[], number[]][] = [[[3, 4], [1, 0]], [[2, 3, 4, 5], [0, 2, 3, 1]], [[2, 3, 4, 5], [3, 1, 0, 2]], [[64, 300], [1, 0]], [[2, 3, 4], [0, 1, 2]]];
  for (const [shape, perm] of cases) {
    const x = rand(shape.reduce((p, d) => p * d, 1), 61);
    close(dnn.transpose(x, shape, perm), ref.transpose(x, shape, perm), `transpose ${shape} ${perm}`, 0, 0);
  }
  const x = rand(2 * 3 * 5 * 4, 62), gy = rand(2 * 3 * 10 * 12, 63);
  close(dnn.upsampleNearest(x, 2, 3, 5, 4, 2, 3), ref.upsampleNearest(x, 2, 3, 5, 4, 2, 3), 'upsample', 0, 0);
  close(dnn.upsampleNearestBackward(gy, 2, 3, 5, 4, 2, 3), ref.upsampleNearestBackward(gy, 2, 3, 5, 4, 2, 3), 'upsample bwd', 1e-6, 1e-6);
});

test('avg and max pooling (padding, asymmetric pad, include/exclude pad) match reference', { skip }, () => {
  const geoms: Pool2dGeom[] = [];
  for (const countIncludePad of [true, false]) {
    for (const [k, s, pt, pl, pb, pr] of [[2, 2, 0, 0, 0, 0], [3, 2, 1, 1, 1, 1], [3, 1, 1, 0, 0, 1], [8, 8, 0, 0, 0, 0]] as const) {
      const [h, w] = [8, 8];
      const oh = Math.floor((h + pt + pb - k) / s) + 1, ow = Math.floor((w + pl + pr - k) / s) + 1;
      geoms.push({ n: 2, c: 3, h, w, kh: k, kw: k, oh, ow, strideH: s, strideW: s, padTop: pt, padLeft: pl, padBottom: pb, padRight: pr, countIncludePad });
    }
  }
  for (const g of geoms) {
    const x = rand(g.n * g.c * g.h * g.w, 71), gy = rand(g.n * g.c * g.oh * g.ow, 72);
    const what = `k${g.kh} s${g.strideH} pad ${g.padTop},${g.padLeft},${g.padBottom},${g.padRight} incl ${g.countIncludePad}`;
    close(dnn.avgPool2d(x, g), ref.avgPool2d(x, g), `avg ${what}`, 1e-5, 1e-6);
    close(dnn.avgPool2dBackward(gy, g), ref.avgPool2dBackward(gy, g), `avg bwd ${what}`, 1e-5, 1e-6);
    const got = dnn.maxPool2d(x, g), want = ref.maxPool2d(x, g);
    close(got.y, want.y, `max ${what}`, 0, 0);
    assert.deepEqual(got.argmax, want.argmax, `argmax ${what}`);
    close(dnn.maxPool2dBackward(gy, got.argmax, g), ref.maxPool2dBackward(gy, want.argmax, g), `max bwd ${what}`, 0, 0);
  }
});

test('fakeQuant is bit-identical to reference; rowMinMax, softmax and logSoftmax match', { skip }, () => {
  const rows = 16, cols = 300;
  const x = rand(rows * cols, 81, -3, 2);
  const { min, max } = ref.rowMinMax(x, rows, cols);
  const mm = dnn.rowMinMax(x, rows, cols);
  close(mm.min, min, 'min', 0, 0);
  close(mm.max, max, 'max', 0, 0);
  for (const bits of [2, 4, 8]) {
    assert.deepEqual(dnn.fakeQuant(x, rows, cols, min, max, bits), ref.fakeQuant(x, rows, cols, min, max, bits), `per-row ${bits} bits`);
    const lo = Float32Array.of(-1.5), hi = Float32Array.of(1.25);
    assert.deepEqual(dnn.fakeQuant(x, 1, rows * cols, lo, hi, bits), ref.fakeQuant(x, 1, rows * cols, lo, hi, bits), `per-tensor ${bits} bits`);
  }
  close(dnn.softmax(x, rows, cols), ref.softmax(x, rows, cols), 'softmax', 1e-5, 1e-7);
  close(dnn.logSoftmax(x, rows, cols), ref.logSoftmax(x, rows, cols), 'logSoftmax', 1e-5, 1e-6);
});

test('QDrop/LSQ kernels: masked fakeQuant and bernoulliMask bit-identical, lsqBackward equal to the reference', { skip }, () => {
  // 100,003 elements: past the parallel threshold, with a tail that is not a multiple of 4
  const n = 100003;
  const x = rand(n, 83, -3, 2);
  for (const [seed, t] of [[0x9e3779b9, 128], [12345, 64], [7, 0], [1, 256]] as const) {
    const m = dnn.bernoulliMask(n, seed, t), r = ref.bernoulliMask(n, seed, t);
    assert.deepEqual(m, r, `mask seed ${seed} t ${t}`);
  }
  const keep = ref.bernoulliMask(n, 99, 128);
  const kept = keep.reduce((s, v) => s + v, 0);
  assert.ok(kept > 0.48 * n && kept < 0.52 * n, `about half kept: ${kept}`);
  const lo = Float32Array.of(-1.5), hi = Float32Array.of(1.25);
  for (const bits of [2, 4]) {
    const q = dnn.fakeQuant(x, 1, n, lo, hi, bits, keep);
    assert.deepEqual(q, ref.fakeQuant(x, 1, n, lo, hi, bits, keep), `masked fakeQuant ${bits} bits`);
    let same = 0;
    for (let i = 0; i < n; i++) if (keep[i] === 1) same += q[i] === x[i] ? 1 : 0;
    assert.equal(same, kept, 'kept elements pass unquantized');
    const g = rand(n, 84);
    for (const k of [keep, null]) {
      const a = dnn.lsqBackward(x, g, 0.21, 3, bits, k), b = ref.lsqBackward(x, g, 0.21, 3, bits, k);
      assert.deepEqual(a.gx, b.gx, `gx ${bits} bits`);
      // float32 terms summed in chunks: agreement to float precision of Σ|g·(level − v)| (each |level − v| ≤ 2^(k−1) + zp)
      const scale = g.reduce((s, v) => s + Math.abs(v), 0) * (2 ** (bits - 1) + 3);
      assert.ok(Math.abs(a.gs - b.gs) <= 1e-7 * scale, `gs ${a.gs} vs ${b.gs} (scale ${scale})`);
    }
  }
  const a = rand(n, 85), b = rand(n, 86);
  assert.deepEqual(dnn.selectMask(keep, a, b), ref.selectMask(keep, a, b), 'selectMask');
});

test('threads() reports the OpenMP thread count (LRQ_THREADS or all cores)', { skip }, () => {
  const want = Number(process.env['LRQ_THREADS']) || availableParallelism();
  assert.equal(dnn.threads(), want);
});

test('a conv/BN/relu/upsample/residual network: loss and every gradient agree across backends', { skip }, () => {
  const run = (name: 'reference' | 'onednn'): number[][] => {
    setBackend(name);
    try {
      const x = new Tensor(rand(4 * 8 * 6 * 6, 91), [4, 8, 6, 6], true);
      const w1 = new Tensor(rand(8 * 8 * 9, 92, -0.3, 0.3), [8, 8, 3, 3], true);
      const w2 = new Tensor(rand(8 * 1 * 25, 93, -0.3, 0.3), [8, 1, 5, 5], true);
      const b2 = new Tensor(rand(8, 94), [8], true);
      const gamma = new Tensor(rand(8, 95, 0.5, 1.5), [8], true), beta = new Tensor(rand(8, 96), [8], true);
      const rm = new Tensor(new Float32Array(8), [8]), rv = new Tensor(new Float32Array(8).fill(1), [8]);
      let h = relu(batchNorm(conv2d(x, w1, null, { padding: 1 }), rm, rv, gamma, beta, true));
      h = add(h, x);
      h = conv2d(upsampleNearest(h, 2), w2, b2, { padding: 2, groups: 8 });
      const loss = sum(mul(leakyRelu(h, 0.2), h));
      loss.backward();
      return [[loss.item()], ...[x, w1, w2, b2, gamma, beta].map((t) => Array.from(t.grad!.data)), Array.from(rm.data), Array.from(rv.data)];
    } finally {
      setBackend('onednn');
    }
  };
  const want = run('reference'), got = run('onednn');
  want.forEach((w, i) => close(got[i]!, w, `output ${i}`, 1e-3, 1e-3));
});

test('an addon that fails to load makes the factory return null and the registry fall back with one warning', () => {
  // Runs in a child process: the loader caches its result per process. /etc/hostname exists but is no addon.
  const code = `
    const { onednnBackend } = await import('./src/engine/backends/onednn/index.ts');
    const { nativeLoadError } = await import('./src/engine/backends/onednn/native.ts');
    const { backend } = await import('./src/engine/backend.ts');
    await import('./src/engine/backends/reference/index.ts');
    console.log(JSON.stringify({ isNull: onednnBackend() === null, why: nativeLoadError(), chosen: backend().name }));`;
  const env: NodeJS.ProcessEnv = { ...process.env, LRQ_NATIVE_PATH: '/etc/hostname' };
  delete env['LRQ_BACKEND'];
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: new URL('../../../../', import.meta.url), env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { isNull: boolean; why: string; chosen: string };
  assert.equal(o.isNull, true);
  assert.match(o.why, /failed to load/);
  assert.equal(o.chosen, 'reference');
  assert.equal(r.stderr.match(/oneDNN addon not available/g)?.length, 1);
});
