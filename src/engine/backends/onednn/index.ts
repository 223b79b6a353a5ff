// The oneDNN backend: the reference backend with its heavy kernels replaced by calls into the native
// addon. Rule: float32 inputs go native; any float64 input (gradient checks) goes to the reference
// kernel, so both dtypes always work and only float32 is fast. Registers itself as 'onednn'.

import { type Backend, type Conv2dGeom, type Pool2dGeom, type BinaryOp, registerBackend } from '../../backend.js';
import { type Data, numel, stridesOf } from '../../dtype.js';
import { referenceBackend } from '../reference/index.js';
import { loadNative, type NativeAddon } from './native.js';

const binaryCode: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5, pow: 6 };

/** Whether every non-null array is float32 (the native kernels' only dtype). */
function f32(...xs: (Data | null)[]): boolean {
  for (const x of xs) if (x !== null && !(x instanceof Float32Array)) return false;
  return true;
}

/** Conv2dGeom as the addon's 18-field array (dilation stays 1-based; the addon converts to oneDNN's d−1). */
function convGeom(g: Conv2dGeom): number[] {
  return [g.n, g.c, g.h, g.w, g.oc, g.kh, g.kw, g.oh, g.ow, g.strideH, g.strideW, g.padTop, g.padLeft, g.padBottom,
    g.padRight, g.dilH, g.dilW, g.groups];
}

/** Pool2dGeom as the addon's 15-field array. */
function poolGeom(g: Pool2dGeom): number[] {
  return [g.n, g.c, g.h, g.w, g.kh, g.kw, g.oh, g.ow, g.strideH, g.strideW, g.padTop, g.padLeft, g.padBottom, g.padRight,
    g.countIncludePad ? 1 : 0];
}

/** Offset of the first sliced element and the per-axis strides (step·stride) of a strided slice. */
function sliceView(shape: readonly number[], starts: readonly number[], steps: readonly number[]): { off: number; st: number[] } {
  const xs = stridesOf(shape);
  let off = 0;
  for (let a = 0; a < shape.length; a++) off += starts[a]! * xs[a]!;
  return { off, st: xs.map((s, a) => s * steps[a]!) };
}

/** The Backend over a loaded addon: native float32 kernels, reference for everything else. */
export function makeOnednnBackend(nat: NativeAddon): Backend {
  const ref = referenceBackend;
  const F = (d: Data): Float32Array => d as Float32Array;
  const FN = (d: Data | null): Float32Array | null => d as Float32Array | null;
  let lastBwdDataGy: Data | null = null;
  const overrides: Partial<Backend> = {
    threads: () => nat.threads(),
    allocSerial: () => nat.allocSerial(),
    release: (d, since) => d instanceof Float32Array && nat.release(d, since),
    adamUpdate: (p, g, m, v, h) => {
      if (!f32(p, g, m, v)) return false;
      nat.adamUpdate(F(p), F(g), F(m), F(v), h.b1, h.b2, h.eps, h.stepSize, h.bc2Sqrt, h.wd);
      return true;
    },

    // An empty batch has nothing for oneDNN to do (it rejects zero dims); the reference returns empties.
    conv2d: (x, w, b, g) => (f32(x, w, b) && g.n > 0 ? nat.conv2d(F(x), F(w), FN(b), convGeom(g)) : ref.conv2d(x, w, b, g)),
    conv2dBackwardData: (gy, w, g) => {
      lastBwdDataGy = null;
      if (!f32(gy, w) || g.n === 0) return ref.conv2dBackwardData(gy, w, g);
      const gx = nat.conv2dBackwardData(F(gy), F(w), convGeom(g));
      lastBwdDataGy = gy;
      return gx;
    },
    conv2dBackwardWeights: (gy, x, g, withBias) => {
      // Same JS array as the preceding backward-data call ⇒ same values (kernels never write inputs),
      // so the addon may reuse its blocked copy of gy; the addon also checks the geometry matches.
      const sameGy = lastBwdDataGy === gy;
      lastBwdDataGy = null;
      if (!f32(gy, x) || g.n === 0) return ref.conv2dBackwardWeights(gy, x, g, withBias);
      const [gw, gb] = nat.conv2dBackwardWeights(F(gy), F(x), convGeom(g), withBias, sameGy);
      return { gw, gb };
    },

    matmul: (a, b, batch, m, n, k, transA, transB, bias, aStride, bStride) =>
      f32(a, b, bias)
        ? nat.matmul(F(a), F(b), batch, m, n, k, transA, transB, FN(bias), aStride, bStride)
        : ref.matmul(a, b, batch, m, n, k, transA, transB, bias, aStride, bStride),

    batchNormTrain: (x, n, c, hw, gamma, beta, eps) => {
      if (!f32(x, gamma, beta)) return ref.batchNormTrain(x, n, c, hw, gamma, beta, eps);
      const [y, mean, variance] = nat.batchNormTrain(F(x), n, c, hw, FN(gamma), FN(beta), eps);
      return { y, mean, variance };
    },
    batchNormInfer: (x, n, c, hw, mean, variance, gamma, beta, eps) =>
      f32(x, mean, variance, gamma, beta)
        ? nat.batchNormInfer(F(x), n, c, hw, F(mean), F(variance), FN(gamma), FN(beta), eps)
        : ref.batchNormInfer(x, n, c, hw, mean, variance, gamma, beta, eps),
    batchNormTrainBackward: (gy, x, n, c, hw, mean, variance, gamma, eps) => {
      if (!f32(gy, x, mean, variance, gamma)) return ref.batchNormTrainBackward(gy, x, n, c, hw, mean, variance, gamma, eps);
      const [gx, ggamma, gbeta] = nat.batchNormTrainBackward(F(gy), F(x), n, c, hw, F(mean), F(variance), FN(gamma), eps);
      return { gx, ggamma, gbeta };
    },
    batchNormInferBackward: (gy, x, n, c, hw, mean, variance, gamma, eps, paramGrads) => {
      if (!f32(gy, x, mean, variance, gamma)) return ref.batchNormInferBackward(gy, x, n, c, hw, mean, variance, gamma, eps, paramGrads);
      const [gx, ggamma, gbeta] = nat.batchNormInferBackward(F(gy), F(x), n, c, hw, F(mean), F(variance), FN(gamma), eps, paramGrads);
      return { gx, ggamma, gbeta };
    },
    batchMoments: (x, n, c, hw) => {
      if (!f32(x)) return ref.batchMoments(x, n, c, hw);
      const [mean, variance] = nat.batchMoments(F(x), n, c, hw);
      return { mean, variance };
    },
    batchMomentsBackward: (gmean, gvar, x, n, c, hw, mean) =>
      f32(gmean, gvar, x, mean)
        ? nat.batchMomentsBackward(F(gmean), F(gvar), F(x), n, c, hw, F(mean))
        : ref.batchMomentsBackward(gmean, gvar, x, n, c, hw, mean),

    unary: (op, x, args) => {
      if (!f32(x)) return ref.unary(op, x, args);
      const alpha = args.alpha ?? (op === 'elu' ? 1 : 0.01);
      return nat.unary(op, F(x), alpha, args.lo ?? -Infinity, args.hi ?? Infinity) ?? ref.unary(op, x, args);
    },
    unaryBackward: (op, gy, x, y, args) => {
      if (!f32(gy, x, y)) return ref.unaryBackward(op, gy, x, y, args);
      const alpha = args.alpha ?? (op === 'elu' ? 1 : 0.01);
      return nat.unaryBackward(op, F(gy), F(x), F(y), alpha, args.lo ?? -Infinity, args.hi ?? Infinity) ??
        ref.unaryBackward(op, gy, x, y, args);
    },
    binary: (op, a, aShape, b, bShape, outShape) =>
      f32(a, b) ? nat.binary(binaryCode[op], F(a), aShape, F(b), bShape, outShape) : ref.binary(op, a, aShape, b, bShape, outShape),
    affine: (a, alpha, beta) => (f32(a) ? nat.affine(F(a), alpha, beta) : ref.affine(a, alpha, beta)),

    sum: (x, shape, axes) => (f32(x) ? nat.reduce(F(x), shape, axes, false) : ref.sum(x, shape, axes)),
    max: (x, shape, axes) => (f32(x) ? nat.reduce(F(x), shape, axes, true) : ref.max(x, shape, axes)),
    broadcastTo: (x, shape, outShape) => (f32(x) ? nat.broadcastTo(F(x), shape, outShape) : ref.broadcastTo(x, shape, outShape)),
    transpose: (x, shape, perm) => (f32(x) ? nat.transpose(F(x), shape, perm) : ref.transpose(x, shape, perm)),

    slice: (x, shape, starts, steps, outShape) => {
      if (!f32(x)) return ref.slice(x, shape, starts, steps, outShape);
      const out = nat.alloc(numel(outShape)); // fully overwritten by the copy
      const { off, st } = sliceView(shape, starts, steps);
      nat.stridedCopy(F(x), off, st, out, 0, stridesOf(outShape), outShape);
      return out;
    },
    sliceBackward: (gy, shape, starts, steps, outShape) => {
      if (!f32(gy)) return ref.sliceBackward(gy, shape, starts, steps, outShape);
      const out = nat.alloc(numel(shape), 0);
      const { off, st } = sliceView(shape, starts, steps);
      nat.stridedCopy(F(gy), 0, stridesOf(outShape), out, off, st, outShape);
      return out;
    },
    gatherRows: (table, dim, ids) => {
      // pooled output (see concat): the reconstruction gathers three 2-MB batches per iteration
      if (!f32(table)) return ref.gatherRows(table, dim, ids);
      const out = nat.alloc(ids.length * dim);
      for (let i = 0; i < ids.length; i++) out.set(F(table).subarray(ids[i]! * dim, (ids[i]! + 1) * dim), i * dim);
      return out;
    },
    // the copy is a memcpy either way; the win is the pooled output (a fresh array page-faults on first touch,
    // which cost ShuffleNetV2's 16 Concats per forward more than the copy itself)
    concat: (xs, shapes, axis) => {
      if (!xs.every((x) => f32(x))) return ref.concat(xs, shapes, axis);
      const first = shapes[0]!;
      let outer = 1, inner = 1;
      for (let a = 0; a < axis; a++) outer *= first[a]!;
      for (let a = axis + 1; a < first.length; a++) inner *= first[a]!;
      const rowOut = shapes.reduce((s, sh) => s + sh[axis]!, 0) * inner;
      const out = nat.alloc(outer * rowOut); // fully overwritten below
      let off = 0;
      xs.forEach((x, t) => {
        const blk = shapes[t]![axis]! * inner;
        for (let o = 0; o < outer; o++) out.set((x as Float32Array).subarray(o * blk, (o + 1) * blk), o * rowOut + off);
        off += blk;
      });
      return out;
    },
    pad: (x, shape, before, after, value) => {
      if (!f32(x)) return ref.pad(x, shape, before, after, value);
      const outShape = shape.map((d, a) => d + before[a]! + after[a]!);
      const out = nat.alloc(numel(outShape), value);
      const os = stridesOf(outShape);
      let off = 0;
      for (let a = 0; a < shape.length; a++) off += before[a]! * os[a]!;
      nat.stridedCopy(F(x), 0, stridesOf(shape), out, off, os, shape);
      return out;
    },

    avgPool2d: (x, g) => (f32(x) ? nat.avgPool2d(F(x), poolGeom(g)) : ref.avgPool2d(x, g)),
    avgPool2dBackward: (gy, g) => (f32(gy) ? nat.avgPool2dBackward(F(gy), poolGeom(g)) : ref.avgPool2dBackward(gy, g)),
    maxPool2d: (x, g) => {
      if (!f32(x)) return ref.maxPool2d(x, g);
      const [y, argmax] = nat.maxPool2d(F(x), poolGeom(g));
      return { y, argmax };
    },
    maxPool2dBackward: (gy, argmax, g) =>
      f32(gy) ? nat.maxPool2dBackward(F(gy), argmax, poolGeom(g)) : ref.maxPool2dBackward(gy, argmax, g),
    upsampleNearest: (x, n, c, h, w, sh, sw) =>
      f32(x) ? nat.upsampleNearest(F(x), n, c, h, w, sh, sw) : ref.upsampleNearest(x, n, c, h, w, sh, sw),
    upsampleNearestBackward: (gy, n, c, h, w, sh, sw) =>
      f32(gy) ? nat.upsampleNearestBackward(F(gy), n, c, h, w, sh, sw) : ref.upsampleNearestBackward(gy, n, c, h, w, sh, sw),

    logSoftmax: (x, rows, cols) => (f32(x) ? nat.softmax(F(x), rows, cols, true) : ref.logSoftmax(x, rows, cols)),
    softmax: (x, rows, cols) => (f32(x) ? nat.softmax(F(x), rows, cols, false) : ref.softmax(x, rows, cols)),

    fakeQuant: (x, rows, cols, lo, hi, bits, keep = null) =>
      f32(x, lo, hi) ? nat.fakeQuant(F(x), rows, cols, F(lo), F(hi), bits, keep) : ref.fakeQuant(x, rows, cols, lo, hi, bits, keep),
    lsqBackward: (x, g, step, zp, bits, keep) => {
      if (!f32(x, g)) return ref.lsqBackward(x, g, step, zp, bits, keep);
      const [gx, gs] = nat.lsqBackward(F(x), F(g), step, zp, bits, keep);
      return { gx, gs };
    },
    bernoulliMask: (n, seed, t) => nat.bernoulliMask(n, seed, t),
    selectMask: (keep, a, b) => (f32(a, b) ? nat.selectMask(keep, F(a), F(b)) : ref.selectMask(keep, a, b)),
    rowMinMax: (x, rows, cols) => {
      if (!f32(x)) return ref.rowMinMax(x, rows, cols);
      const [min, max] = nat.rowMinMax(F(x), rows, cols);
      return { min, max };
    },
  };
  return { ...ref, ...overrides, name: 'onednn' };
}

let instance: Backend | null | undefined;

/** Factory for the registry: the oneDNN backend, or null when the addon is not available. */
export function onednnBackend(): Backend | null {
  if (instance === undefined) {
    const nat = loadNative();
    instance = nat ? makeOnednnBackend(nat) : null;
  }
  return instance;
}

registerBackend('onednn', onednnBackend);
