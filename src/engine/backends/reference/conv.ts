// Direct (im2col-free) 2-D convolution of the reference backend, forward and both backward passes.
// Every loop clips the output range per kernel tap so the innermost loop has no bounds tests; each
// output plane accumulates in float64 and is stored once.

import type { Conv2dGeom } from '../../backend.js';
import { type Data, allocLike } from '../../dtype.js';

/** Output indices o in [lo, hi) with 0 ≤ o·stride + off < size. */
function validRange(off: number, stride: number, size: number, outSize: number): [number, number] {
  const lo = off >= 0 ? 0 : Math.ceil(-off / stride);
  const hi = Math.min(outSize, Math.floor((size - 1 - off) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** y[n,oc,oy,ox] = b[oc] + Σ_{ci,i,j} w[oc,ci,i,j]·x[n, g·cpg+ci, oy·sh−pt+i·dh, ox·sw−pl+j·dw]. */
export function conv2d(x: Data, w: Data, b: Data | null, g: Conv2dGeom): Data {
  const { n, c, h, w: W, oc, kh, kw, oh, ow, strideH: sh, strideW: sw, padTop: pt, padLeft: pl, dilH: dh, dilW: dw, groups } = g;
  const cpg = c / groups, ocpg = oc / groups;
  const y = allocLike(x, n * oc * oh * ow);
  const acc = new Float64Array(oh * ow);
  for (let ni = 0; ni < n; ni++) {
    for (let o = 0; o < oc; o++) {
      const grp = Math.floor(o / ocpg);
      acc.fill(b ? b[o]! : 0);
      for (let ci = 0; ci < cpg; ci++) {
        const xBase = (ni * c + grp * cpg + ci) * h * W;
        const wBase = (o * cpg + ci) * kh * kw;
        for (let i = 0; i < kh; i++) {
          const offY = i * dh - pt;
          const [oy0, oy1] = validRange(offY, sh, h, oh);
          for (let j = 0; j < kw; j++) {
            const wv = w[wBase + i * kw + j]!;
            if (wv === 0) continue;
            const offX = j * dw - pl;
            const [ox0, ox1] = validRange(offX, sw, W, ow);
            for (let oy = oy0; oy < oy1; oy++) {
              const xr = xBase + (oy * sh + offY) * W + offX;
              const ar = oy * ow;
              for (let ox = ox0; ox < ox1; ox++) acc[ar + ox]! += wv * x[xr + ox * sw]!;
            }
          }
        }
      }
      y.set(acc, (ni * oc + o) * oh * ow);
    }
  }
  return y;
}

/** dL/dx[n,c,iy,ix] = Σ over taps that read it of w·gy (the adjoint of conv2d in x). */
export function conv2dBackwardData(gy: Data, w: Data, g: Conv2dGeom): Data {
  const { n, c, h, w: W, oc, kh, kw, oh, ow, strideH: sh, strideW: sw, padTop: pt, padLeft: pl, dilH: dh, dilW: dw, groups } = g;
  const cpg = c / groups, ocpg = oc / groups;
  const gx = allocLike(gy, n * c * h * W);
  const acc = new Float64Array(h * W);
  for (let ni = 0; ni < n; ni++) {
    for (let cc = 0; cc < c; cc++) {
      const grp = Math.floor(cc / cpg), ci = cc - grp * cpg;
      acc.fill(0);
      for (let o = grp * ocpg; o < (grp + 1) * ocpg; o++) {
        const gBase = (ni * oc + o) * oh * ow;
        const wBase = (o * cpg + ci) * kh * kw;
        for (let i = 0; i < kh; i++) {
          const offY = i * dh - pt;
          const [oy0, oy1] = validRange(offY, sh, h, oh);
          for (let j = 0; j < kw; j++) {
            const wv = w[wBase + i * kw + j]!;
            if (wv === 0) continue;
            const offX = j * dw - pl;
            const [ox0, ox1] = validRange(offX, sw, W, ow);
            for (let oy = oy0; oy < oy1; oy++) {
              const xr = (oy * sh + offY) * W + offX;
              const gr = gBase + oy * ow;
              for (let ox = ox0; ox < ox1; ox++) acc[xr + ox * sw]! += wv * gy[gr + ox]!;
            }
          }
        }
      }
      gx.set(acc, (ni * c + cc) * h * W);
    }
  }
  return gx;
}

/** dL/dw[oc,ci,i,j] = Σ_{n,oy,ox} gy[n,oc,oy,ox]·x[…]; dL/db[oc] = Σ_{n,oy,ox} gy[n,oc,oy,ox]. */
export function conv2dBackwardWeights(gy: Data, x: Data, g: Conv2dGeom, withBias: boolean): { gw: Data; gb: Data | null } {
  const { n, c, h, w: W, oc, kh, kw, oh, ow, strideH: sh, strideW: sw, padTop: pt, padLeft: pl, dilH: dh, dilW: dw, groups } = g;
  const cpg = c / groups, ocpg = oc / groups;
  const gw = allocLike(gy, oc * cpg * kh * kw);
  for (let o = 0; o < oc; o++) {
    const grp = Math.floor(o / ocpg);
    for (let ci = 0; ci < cpg; ci++) {
      for (let i = 0; i < kh; i++) {
        const offY = i * dh - pt;
        const [oy0, oy1] = validRange(offY, sh, h, oh);
        for (let j = 0; j < kw; j++) {
          const offX = j * dw - pl;
          const [ox0, ox1] = validRange(offX, sw, W, ow);
          let s = 0;
          for (let ni = 0; ni < n; ni++) {
            const xBase = (ni * c + grp * cpg + ci) * h * W;
            const gBase = (ni * oc + o) * oh * ow;
            for (let oy = oy0; oy < oy1; oy++) {
              const xr = xBase + (oy * sh + offY) * W + offX;
              const gr = gBase + oy * ow;
              for (let ox = ox0; ox < ox1; ox++) s += gy[gr + ox]! * x[xr + ox * sw]!;
            }
          }
          gw[((o * cpg + ci) * kh + i) * kw + j] = s;
        }
      }
    }
  }
  let gb: Data | null = null;
  if (withBias) {
    gb = allocLike(gy, oc);
    const plane = oh * ow;
    for (let o = 0; o < oc; o++) {
      let s = 0;
      for (let ni = 0; ni < n; ni++) {
        const base = (ni * oc + o) * plane;
        for (let k = 0; k < plane; k++) s += gy[base + k]!;
      }
      gb[o] = s;
    }
  }
  return { gw, gb };
}
