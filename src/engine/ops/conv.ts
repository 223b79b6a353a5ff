// 2-D convolution (NCHW, grouped, strided, dilated, asymmetric padding) with its backward: dx and
// dw/db come from the backend's backward-data and backward-weights kernels.

import './registerBackends.js';
import { backend, type Conv2dGeom } from '../backend.js';
import { fmtShape } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { Tensor, result } from '../tensor.js';
import { pads4, pair } from './axes.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number] | [number, number, number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** The geometry of conv2d(x, w) with the given options, validated (ShapeError names both shapes). */
export function conv2dGeom(xShape: readonly number[], wShape: readonly number[], opts: Conv2dOptions = {}): Conv2dGeom {
  const where = `x ${fmtShape(xShape)}, w ${fmtShape(wShape)}`;
  if (xShape.length !== 4 || wShape.length !== 4) throw new ShapeError('conv2d', `expects 4-D input and weight (${where})`);
  const [n, c, h, w] = xShape as [number, number, number, number];
  const [oc, cpg, kh, kw] = wShape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  const [strideH, strideW] = pair(opts.stride ?? 1);
  const [dilH, dilW] = pair(opts.dilation ?? 1);
  const [padTop, padLeft, padBottom, padRight] = pads4('conv2d', opts.padding ?? 0);
  if (c % groups !== 0 || oc % groups !== 0 || c / groups !== cpg) {
    throw new ShapeError('conv2d', `channels do not match with groups=${groups} (${where})`);
  }
  const oh = Math.floor((h + padTop + padBottom - dilH * (kh - 1) - 1) / strideH) + 1;
  const ow = Math.floor((w + padLeft + padRight - dilW * (kw - 1) - 1) / strideW) + 1;
  if (oh <= 0 || ow <= 0) throw new ShapeError('conv2d', `kernel larger than padded input (${where})`);
  return { n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padTop, padLeft, padBottom, padRight, dilH, dilW, groups };
}

/** y[n,o,i,j] = b[o] + Σ_{c,p,q} w[o,c,p,q]·x[n, g·C/G + c, i·s − pad + p·d, j·s − pad + q·d]. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const g = conv2dGeom(x.shape, w.shape, opts);
  if (b && (b.size !== g.oc)) throw new ShapeError('conv2d', `bias ${fmtShape(b.shape)} does not match weight ${fmtShape(w.shape)}`);
  if (x.dtype !== w.dtype) throw new ShapeError('conv2d', `dtype mismatch x ${x.dtype} vs w ${w.dtype}`);
  const y = backend().conv2d(x.data, w.data, b ? b.data : null, g);
  const inputs = b ? [x, w, b] : [x, w];
  return result('conv2d', y, [g.n, g.oc, g.oh, g.ow], inputs, (gy) => {
    const be = backend();
    const gx = x.tracksGrad ? new Tensor(be.conv2dBackwardData(gy.data, w.data, g), x.shape) : null;
    let gw: Tensor | null = null, gb: Tensor | null = null;
    if (w.tracksGrad || b?.tracksGrad) {
      const r = be.conv2dBackwardWeights(gy.data, x.data, g, !!b?.tracksGrad);
      gw = new Tensor(r.gw, w.shape);
      gb = r.gb && b ? new Tensor(r.gb, b.shape) : null;
    }
    return b ? [gx, gw, gb] : [gx, gw];
  });
}
