// Rounding and fake quantization of the reference backend. Rounding is half-to-even like torch.round;
// fakeQuant follows GDFQ/ZeroQ's asymmetric arithmetic (spec §1.2) step by step, and for float32
// data rounds every intermediate to float32 (Math.fround) so results match torch's float32 bit for bit.
// GDFQ writes s = n / clamp(hi − lo, 1e-8) with a python int n, which torch evaluates as
// reciprocal(hi − lo) · n (Tensor.__rtruediv__), so s is computed as (1/d)·n here too.

import { type Data, allocLike } from '../../dtype.js';

/** Round to the nearest integer, ties to even (torch.round / numpy.round); keeps −0. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v); // ties toward +∞
  if (r - v === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

const id = (v: number): number => v;

/**
 * Per row r of x [rows, cols] with range [lo[r], hi[r]]: s = (2^k−1)/max(hi−lo, 1e-8),
 * zp = round(s·lo) + 2^(k−1), q = clamp(round(s·x − zp), −2^(k−1), 2^(k−1)−1), y = (q + zp)/s.
 */
export function fakeQuant(x: Data, rows: number, cols: number, lo: Data, hi: Data, bits: number, keep: Uint8Array | null = null): Data {
  const y = allocLike(x, x.length);
  const f = x instanceof Float32Array ? Math.fround : id;
  const n = 2 ** bits - 1;
  const half = 2 ** (bits - 1);
  for (let r = 0; r < rows; r++) {
    const l = lo[r]!, h = hi[r]!;
    const s = f(f(1 / Math.max(f(h - l), f(1e-8))) * n);
    const zp = f(roundHalfEven(f(s * l)) + half);
    const base = r * cols;
    for (let i = 0; i < cols; i++) {
      let q = roundHalfEven(f(f(s * x[base + i]!) - zp));
      if (q < -half) q = -half; else if (q > half - 1) q = half - 1;
      y[base + i] = f(f(q + zp) / s);
    }
  }
  if (keep) for (let i = 0; i < y.length; i++) if (keep[i] === 1) y[i] = x[i]!;
  return y;
}

/**
 * LSQ backward (Esser et al. 2020) of a per-tensor quantizer, v = x/Δ − zp: gx = g inside the grid or
 * where kept, else 0; gs = Σ g·(round(v) − v) inside, g·(zp − 2^(k−1)) below, g·(zp + 2^(k−1) − 1) above.
 */
export function lsqBackward(x: Data, g: Data, step: number, zp: number, bits: number, keep: Uint8Array | null): { gx: Data; gs: number } {
  // one pass, monomorphic locals: this loop runs over every activation of every reconstruction iteration
  const size = x.length, n = 2 ** (bits - 1);
  const gx = allocLike(x, size);
  const lowCode = -n + zp, highCode = n - 1 + zp;
  let gs = 0;
  for (let i = 0; i < size; i++) {
    const gi = g[i]!;
    if (keep !== null && keep[i] === 1) {
      gx[i] = gi;
      continue;
    }
    const v = x[i]! / step - zp;
    if (v < -n) gs += gi * lowCode;
    else if (v > n - 1) gs += gi * highCode;
    else {
      gx[i] = gi;
      gs += gi * (Math.round(v) - v);
    }
  }
  return { gx, gs };
}

/** out[i] = keep[i] ? a[i] : b[i]. */
export function selectMask(keep: Uint8Array, a: Data, b: Data): Data {
  const out = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) out[i] = keep[i] === 1 ? a[i]! : b[i]!;
  return out;
}

/** Per-row min and max of x [rows, cols]. */
export function rowMinMax(x: Data, rows: number, cols: number): { min: Data; max: Data } {
  const mn = allocLike(x, rows), mx = allocLike(x, rows);
  for (let r = 0; r < rows; r++) {
    let a = Infinity, b = -Infinity;
    for (let i = r * cols, e = i + cols; i < e; i++) {
      const v = x[i]!;
      if (v < a) a = v;
      if (v > b) b = v;
    }
    mn[r] = a;
    mx[r] = b;
  }
  return { min: mn, max: mx };
}
