// Pooling and nearest-neighbour resampling kernels of the reference backend (NCHW), with backward.
// Windows follow torch's floor-mode geometry; avg pool's divisor includes padding when countIncludePad
// (window clipped to the padded extent, as torch does) and counts only real pixels otherwise.

import type { Pool2dGeom } from '../../backend.js';
import { type Data, allocLike } from '../../dtype.js';

/** Calls f(outIndex, planeBase, y0, y1, x0, x1, divisor) for every output window (clipped to the input). */
function forEachWindow(g: Pool2dGeom, f: (o: number, base: number, y0: number, y1: number, x0: number, x1: number, div: number) => void): void {
  const { n, c, h, w, kh, kw, oh, ow, strideH, strideW, padTop, padLeft, padBottom, padRight, countIncludePad } = g;
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const ys = oy * strideH - padTop;
      const ye = Math.min(ys + kh, h + padBottom);
      const y0 = Math.max(ys, 0), y1 = Math.min(ye, h);
      for (let ox = 0; ox < ow; ox++, o++) {
        const xs = ox * strideW - padLeft;
        const xe = Math.min(xs + kw, w + padRight);
        const x0 = Math.max(xs, 0), x1 = Math.min(xe, w);
        const div = countIncludePad ? (ye - ys) * (xe - xs) : (y1 - y0) * (x1 - x0);
        f(o, base, y0, y1, x0, x1, div);
      }
    }
  }
}

/** y = mean of x over each window. */
export function avgPool2d(x: Data, g: Pool2dGeom): Data {
  const y = allocLike(x, g.n * g.c * g.oh * g.ow);
  const w = g.w;
  forEachWindow(g, (o, base, y0, y1, x0, x1, div) => {
    let s = 0;
    for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) s += x[base + iy * w + ix]!;
    y[o] = s / div;
  });
  return y;
}

/** gx[window] += gy / divisor. */
export function avgPool2dBackward(gy: Data, g: Pool2dGeom): Data {
  const gx = allocLike(gy, g.n * g.c * g.h * g.w);
  const w = g.w;
  forEachWindow(g, (o, base, y0, y1, x0, x1, div) => {
    const v = gy[o]! / div;
    for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) gx[base + iy * w + ix]! += v;
  });
  return gx;
}

/** y = max over each window; argmax = flat input index of the first maximum (−1 for an empty window). */
export function maxPool2d(x: Data, g: Pool2dGeom): { y: Data; argmax: Int32Array } {
  const y = allocLike(x, g.n * g.c * g.oh * g.ow);
  const argmax = new Int32Array(y.length);
  const w = g.w;
  forEachWindow(g, (o, base, y0, y1, x0, x1) => {
    let best = -Infinity, bi = -1;
    for (let iy = y0; iy < y1; iy++) {
      for (let ix = x0; ix < x1; ix++) {
        const k = base + iy * w + ix;
        const v = x[k]!;
        if (v > best || Number.isNaN(v) || bi < 0) { best = v; bi = k; if (Number.isNaN(v)) break; }
      }
    }
    y[o] = best;
    argmax[o] = bi;
  });
  return { y, argmax };
}

/** gx[argmax[o]] += gy[o]. */
export function maxPool2dBackward(gy: Data, argmax: Int32Array, g: Pool2dGeom): Data {
  const gx = allocLike(gy, g.n * g.c * g.h * g.w);
  for (let o = 0; o < gy.length; o++) {
    const k = argmax[o]!;
    if (k >= 0) gx[k]! += gy[o]!;
  }
  return gx;
}

/** y[n,c,i,j] = x[n,c,⌊i/sh⌋,⌊j/sw⌋]. */
export function upsampleNearest(x: Data, n: number, c: number, h: number, w: number, sh: number, sw: number): Data {
  const H = h * sh, W = w * sw;
  const y = allocLike(x, n * c * H * W);
  for (let p = 0; p < n * c; p++) {
    const xb = p * h * w, yb = p * H * W;
    for (let i = 0; i < H; i++) {
      const xr = xb + Math.floor(i / sh) * w, yr = yb + i * W;
      for (let j = 0; j < W; j++) y[yr + j] = x[xr + Math.floor(j / sw)]!;
    }
  }
  return y;
}

/** gx[n,c,i,j] = Σ of gy over the sh×sw block that copied x[n,c,i,j]. */
export function upsampleNearestBackward(gy: Data, n: number, c: number, h: number, w: number, sh: number, sw: number): Data {
  const H = h * sh, W = w * sw;
  const gx = allocLike(gy, n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    const xb = p * h * w, yb = p * H * W;
    for (let i = 0; i < H; i++) {
      const xr = xb + Math.floor(i / sh) * w, yr = yb + i * W;
      for (let j = 0; j < W; j++) gx[xr + Math.floor(j / sw)]! += gy[yr + j]!;
    }
  }
  return gx;
}
