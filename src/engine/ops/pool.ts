// Pooling and resampling ops over NCHW tensors: avgPool2d, maxPool2d, globalAvgPool and nearest
// upsampling by integer factors, each with its backward from the backend's kernels.

import './registerBackends.js';
import { backend, type Pool2dGeom } from '../backend.js';
import { fmtShape } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { Tensor, result } from '../tensor.js';
import { pads4, pair } from './axes.js';
import { mean } from './reduce.js';

type Size = number | [number, number];

function poolGeom(op: string, x: Tensor, kernel: Size, stride: Size | undefined, padding: number | number[], countIncludePad: boolean): Pool2dGeom {
  if (x.ndim !== 4) throw new ShapeError(op, `expects NCHW input, got ${fmtShape(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = pair(kernel);
  const [strideH, strideW] = pair(stride ?? kernel);
  const [padTop, padLeft, padBottom, padRight] = pads4(op, padding);
  const oh = Math.floor((h + padTop + padBottom - kh) / strideH) + 1;
  const ow = Math.floor((w + padLeft + padRight - kw) / strideW) + 1;
  if (oh <= 0 || ow <= 0) throw new ShapeError(op, `kernel ${kh}x${kw} larger than padded input ${fmtShape(x.shape)}`);
  return { n, c, h, w, kh, kw, oh, ow, strideH, strideW, padTop, padLeft, padBottom, padRight, countIncludePad };
}

/** y = mean over each kernel window (divisor includes zero padding when countIncludePad). */
export function avgPool2d(x: Tensor, kernel: Size, stride?: Size, padding: number | number[] = 0, countIncludePad = true): Tensor {
  const g = poolGeom('avgPool2d', x, kernel, stride, padding, countIncludePad);
  return result('avgPool2d', backend().avgPool2d(x.data, g), [g.n, g.c, g.oh, g.ow], [x], (gy) => [
    new Tensor(backend().avgPool2dBackward(gy.data, g), x.shape),
  ]);
}

/** y = max over each kernel window (padding never wins); gradient goes to the argmax. */
export function maxPool2d(x: Tensor, kernel: Size, stride?: Size, padding: number | number[] = 0): Tensor {
  const g = poolGeom('maxPool2d', x, kernel, stride, padding, false);
  const { y, argmax } = backend().maxPool2d(x.data, g);
  return result('maxPool2d', y, [g.n, g.c, g.oh, g.ow], [x], (gy) => [
    new Tensor(backend().maxPool2dBackward(gy.data, argmax, g), x.shape),
  ]);
}

/** Mean over H and W: [N, C, H, W] → [N, C, 1, 1]. */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.ndim !== 4) throw new ShapeError('globalAvgPool', `expects NCHW input, got ${fmtShape(x.shape)}`);
  return mean(x, [2, 3], true);
}

/** y[n,c,i,j] = x[n,c,⌊i/s⌋,⌊j/s⌋] for integer scale s (or [sh, sw]). */
export function upsampleNearest(x: Tensor, scale: Size = 2): Tensor {
  if (x.ndim !== 4) throw new ShapeError('upsampleNearest', `expects NCHW input, got ${fmtShape(x.shape)}`);
  const [sh, sw] = pair(scale);
  if (!Number.isInteger(sh) || !Number.isInteger(sw) || sh < 1 || sw < 1) throw new ShapeError('upsampleNearest', `scale must be a positive integer, got ${sh}x${sw} (input ${fmtShape(x.shape)})`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  return result('upsampleNearest', backend().upsampleNearest(x.data, n, c, h, w, sh, sw), [n, c, h * sh, w * sw], [x], (g) => [
    new Tensor(backend().upsampleNearestBackward(g.data, n, c, h, w, sh, sw), x.shape),
  ]);
}
