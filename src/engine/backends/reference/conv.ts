// 2-D convolution of the reference backend, forward and both backward passes, via im2col: per image
// and group the receptive fields are unrolled into a float64 matrix col[K = cpg·kh·kw, P = oh·ow], so
// every product is a long contiguous axpy or dot over P (fast in JS) and padding is explicit zeros.
// Accumulation is in float64; each output is stored once.

import type { Conv2dGeom } from '../../backend.js';
import { type Data, allocLike } from '../../dtype.js';

/** col[(ci·kh+i)·kw+j, oy·ow+ox] = x[n, grp·cpg+ci, oy·sh−pt+i·dh, ox·sw−pl+j·dw] (0 outside). */
function im2col(x: Data, ni: number, grp: number, g: Conv2dGeom, col: Float64Array): void {
  const { c, h, w: W, kh, kw, oh, ow, strideH: sh, strideW: sw, padTop: pt, padLeft: pl, dilH: dh, dilW: dw, groups } = g;
  const cpg = c / groups, P = oh * ow;
  let row = 0;
  for (let ci = 0; ci < cpg; ci++) {
    const xBase = (ni * c + grp * cpg + ci) * h * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const offX = j * dw - pl;
        // valid ox: 0 ≤ ox·sw + offX < W
        const ox0 = offX >= 0 ? 0 : Math.min(ow, Math.ceil(-offX / sw));
        const ox1 = Math.max(ox0, Math.min(ow, Math.floor((W - 1 - offX) / sw) + 1));
        let p = row * P;
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - pt + i * dh;
          if (iy < 0 || iy >= h) {
            for (let ox = 0; ox < ow; ox++) col[p++] = 0;
            continue;
          }
          const xr = xBase + iy * W + offX;
          let ox = 0;
          for (; ox < ox0; ox++) col[p++] = 0;
          if (sw === 1) for (; ox < ox1; ox++) col[p++] = x[xr + ox]!;
          else for (; ox < ox1; ox++) col[p++] = x[xr + ox * sw]!;
          for (; ox < ow; ox++) col[p++] = 0;
        }
      }
    }
  }
}

/** Adjoint of im2col: gx[n, grp·cpg+ci, iy, ix] += gcol[k, p] over every (k, p) that read it. */
function col2imAdd(gcol: Float64Array, g: Conv2dGeom, plane: Float64Array, cpg: number): void {
  const { h, w: W, kh, kw, oh, ow, strideH: sh, strideW: sw, padTop: pt, padLeft: pl, dilH: dh, dilW: dw } = g;
  const P = oh * ow;
  let row = 0;
  for (let ci = 0; ci < cpg; ci++) {
    const base = ci * h * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const offX = j * dw - pl;
        const ox0 = offX >= 0 ? 0 : Math.min(ow, Math.ceil(-offX / sw));
        const ox1 = Math.max(ox0, Math.min(ow, Math.floor((W - 1 - offX) / sw) + 1));
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - pt + i * dh;
          if (iy < 0 || iy >= h) continue;
          const xr = base + iy * W + offX;
          const p = row * P + oy * ow;
          for (let ox = ox0; ox < ox1; ox++) plane[xr + ox * sw]! += gcol[p + ox]!;
        }
      }
    }
  }
}

/**
 * acc[aOff + (0..P)] += Σ_r wt[wOff + r·wStride]·m[mOff + r·P + (0..P)] for r < R. Four rows per pass
 * (one load/store of acc per four multiply-adds) roughly doubles the speed of this loop in V8.
 */
function axpyRows(acc: Float64Array, aOff: number, wt: Data, wOff: number, wStride: number, m: Data, mOff: number, R: number, P: number): void {
  let r = 0;
  for (; r + 4 <= R; r += 4) {
    const wi = wOff + r * wStride;
    const w0 = wt[wi]!, w1 = wt[wi + wStride]!, w2 = wt[wi + 2 * wStride]!, w3 = wt[wi + 3 * wStride]!;
    const r0 = mOff + r * P, r1 = r0 + P, r2 = r1 + P, r3 = r2 + P;
    for (let p = 0; p < P; p++) acc[aOff + p]! += w0 * m[r0 + p]! + w1 * m[r1 + p]! + w2 * m[r2 + p]! + w3 * m[r3 + p]!;
  }
  for (; r < R; r++) {
    const wv = wt[wOff + r * wStride]!;
    const r0 = mOff + r * P;
    for (let p = 0; p < P; p++) acc[aOff + p]! += wv * m[r0 + p]!;
  }
}

/** Two output channels at once: acc0 += Σ_k w[o0+k]·m[k,:], acc1 += Σ_k w[o1+k]·m[k,:] (shares loads of m). */
function axpyRows2(acc0: Float64Array, acc1: Float64Array, wt: Data, o0: number, o1: number, m: Float64Array, K: number, P: number): void {
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const a0 = wt[o0 + k]!, a1 = wt[o0 + k + 1]!, a2 = wt[o0 + k + 2]!, a3 = wt[o0 + k + 3]!;
    const b0 = wt[o1 + k]!, b1 = wt[o1 + k + 1]!, b2 = wt[o1 + k + 2]!, b3 = wt[o1 + k + 3]!;
    const r0 = k * P, r1 = r0 + P, r2 = r1 + P, r3 = r2 + P;
    for (let p = 0; p < P; p++) {
      const m0 = m[r0 + p]!, m1 = m[r1 + p]!, m2 = m[r2 + p]!, m3 = m[r3 + p]!;
      acc0[p]! += a0 * m0 + a1 * m1 + a2 * m2 + a3 * m3;
      acc1[p]! += b0 * m0 + b1 * m1 + b2 * m2 + b3 * m3;
    }
  }
  for (; k < K; k++) {
    const a = wt[o0 + k]!, b = wt[o1 + k]!;
    const r = k * P;
    for (let p = 0; p < P; p++) { const v = m[r + p]!; acc0[p]! += a * v; acc1[p]! += b * v; }
  }
}

/** out[oOff + k] += Σ_p g[p]·m[k·P + p] for k < K (four dot products per pass share the loads of g). */
function dotRows(out: Float64Array, oOff: number, g: Float64Array, m: Float64Array, K: number, P: number): void {
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const r0 = k * P, r1 = r0 + P, r2 = r1 + P, r3 = r2 + P;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let p = 0; p < P; p++) {
      const gv = g[p]!;
      s0 += gv * m[r0 + p]!; s1 += gv * m[r1 + p]!; s2 += gv * m[r2 + p]!; s3 += gv * m[r3 + p]!;
    }
    out[oOff + k]! += s0; out[oOff + k + 1]! += s1; out[oOff + k + 2]! += s2; out[oOff + k + 3]! += s3;
  }
  for (; k < K; k++) {
    const r0 = k * P;
    let s0 = 0;
    for (let p = 0; p < P; p++) s0 += g[p]! * m[r0 + p]!;
    out[oOff + k]! += s0;
  }
}

/** y[n,oc,oy,ox] = b[oc] + Σ_{ci,i,j} w[oc,ci,i,j]·x[n, g·cpg+ci, oy·sh−pt+i·dh, ox·sw−pl+j·dw]. */
export function conv2d(x: Data, w: Data, b: Data | null, g: Conv2dGeom): Data {
  const { n, c, oc, kh, kw, oh, ow, groups } = g;
  const cpg = c / groups, ocpg = oc / groups;
  const K = cpg * kh * kw, P = oh * ow;
  const y = allocLike(x, n * oc * P);
  const col = new Float64Array(K * P);
  const acc = new Float64Array(P), acc2 = new Float64Array(P);
  for (let ni = 0; ni < n; ni++) {
    for (let grp = 0; grp < groups; grp++) {
      im2col(x, ni, grp, g, col);
      let oo = 0;
      for (; oo + 2 <= ocpg; oo += 2) {
        const o = grp * ocpg + oo;
        acc.fill(b ? b[o]! : 0);
        acc2.fill(b ? b[o + 1]! : 0);
        axpyRows2(acc, acc2, w, o * K, (o + 1) * K, col, K, P);
        y.set(acc, (ni * oc + o) * P);
        y.set(acc2, (ni * oc + o + 1) * P);
      }
      for (; oo < ocpg; oo++) {
        const o = grp * ocpg + oo;
        acc.fill(b ? b[o]! : 0);
        axpyRows(acc, 0, w, o * K, 1, col, 0, K, P);
        y.set(acc, (ni * oc + o) * P);
      }
    }
  }
  return y;
}

/** dL/dx = col2im(Wᵀ·gy): each input pixel collects w·gy over the taps that read it. */
export function conv2dBackwardData(gy: Data, w: Data, g: Conv2dGeom): Data {
  const { n, c, h, w: W, oc, kh, kw, oh, ow, groups } = g;
  const cpg = c / groups, ocpg = oc / groups;
  const K = cpg * kh * kw, P = oh * ow;
  const gx = allocLike(gy, n * c * h * W);
  const gcol = new Float64Array(K * P);
  const plane = new Float64Array(cpg * h * W);
  for (let ni = 0; ni < n; ni++) {
    for (let grp = 0; grp < groups; grp++) {
      // gcol[k, :] = Σ_o w[o, k]·gy[n, o, :] over the group's output channels
      gcol.fill(0);
      const o0 = grp * ocpg;
      for (let k = 0; k < K; k++) axpyRows(gcol, k * P, w, o0 * K + k, K, gy, (ni * oc + o0) * P, ocpg, P);
      plane.fill(0);
      col2imAdd(gcol, g, plane, cpg);
      gx.set(plane, (ni * c + grp * cpg) * h * W);
    }
  }
  return gx;
}

/** dL/dw[oc,k] = Σ_{n,p} gy[n,oc,p]·col_n[k,p]; dL/db[oc] = Σ_{n,p} gy[n,oc,p]. */
export function conv2dBackwardWeights(gy: Data, x: Data, g: Conv2dGeom, withBias: boolean): { gw: Data; gb: Data | null } {
  const { n, c, oc, kh, kw, oh, ow, groups } = g;
  const cpg = c / groups, ocpg = oc / groups;
  const K = cpg * kh * kw, P = oh * ow;
  const acc = new Float64Array(oc * K);
  const col = new Float64Array(K * P);
  const gRow = new Float64Array(P);
  for (let ni = 0; ni < n; ni++) {
    for (let grp = 0; grp < groups; grp++) {
      im2col(x, ni, grp, g, col);
      for (let oo = 0; oo < ocpg; oo++) {
        const o = grp * ocpg + oo;
        const gBase = (ni * oc + o) * P;
        for (let p = 0; p < P; p++) gRow[p] = gy[gBase + p]!;
        dotRows(acc, o * K, gRow, col, K, P);
      }
    }
  }
  const gw = allocLike(gy, oc * K);
  gw.set(acc);
  let gb: Data | null = null;
  if (withBias) {
    gb = allocLike(gy, oc);
    for (let o = 0; o < oc; o++) {
      let s = 0;
      for (let ni = 0; ni < n; ni++) {
        const base = (ni * oc + o) * P;
        for (let p = 0; p < P; p++) s += gy[base + p]!;
      }
      gb[o] = s;
    }
  }
  return { gw, gb };
}
