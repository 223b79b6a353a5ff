// GDFQ grid → ONNX QuantizeLinear/DequantizeLinear parameters. ONNX: u = sat(round(x/scale) + z),
// x̂ = (u − z)·scale. GDFQ: level ℓ = q + zp ∈ [r, r + 2^k − 1] with r = round(s·lo), x̂ = ℓ/s.
// Hence scale = fl32(1/s) and u − z = ℓ. Rule: only the 2^k GDFQ levels can ever come out of an
// exported Q/DQ pair, whatever container holds them (see the container-choice comments below).

import { LrqError } from '../../engine/errors.js';
import type { Container } from './containers.js';
import { channelIndexer, gdfqCode, gdfqDequant, gdfqGrid, type Grid } from './spec.js';

/** A weight as stored for DequantizeLinear: integer codes v, per-channel scale and zero point z. */
export interface WeightQdq {
  container: Container;
  /** v = (q + 2^(k−1)) + c per element, c a per-channel shift chosen so v and z fit the container. */
  codes: Int32Array;
  scale: Float32Array;
  zeroPoint: Int32Array;
  /** The fake-quant values (q + zp)/s the training engine computes (what fakequant-fp32 stores). */
  fakeQuant: Float32Array;
  grids: Grid[];
}

/**
 * Per-channel codes for a weight. For channel grid r and L = 2^k−1 we store v = u + c (u = q + 2^(k−1) ∈
 * [0, L]) and z = c − r, so v − z = q + zp exactly. c must keep v ∈ [cmin, cmax] and z ∈ [cmin, cmax]:
 * c ∈ [max(cmin, cmin + r), min(cmax − L, cmax + r)]. With a 4-bit container and k = 4 that needs
 * r ∈ [−15, 0] (lo ≤ 0 ≤ hi, the usual case); otherwise the next wider container is used for the tensor.
 */
export function weightQdq(x: Float32Array, dims: readonly number[], axis: number, lo: Float32Array, hi: Float32Array, bits: number, containers: Container[], where: string): WeightQdq {
  const C = lo.length;
  const grids = Array.from(lo, (l, c) => gdfqGrid(l, hi[c]!, bits));
  const L = 2 ** bits - 1;
  const n = 2 ** (bits - 1);
  for (const ct of containers) {
    const shift = new Int32Array(C);
    let ok = true;
    for (let c = 0; c < C && ok; c++) {
      const r = grids[c]!.r;
      const lower = Math.max(ct.min, ct.min + r);
      const upper = Math.min(ct.max - L, ct.max + r);
      if (lower > upper) ok = false;
      else shift[c] = Math.min(Math.max(0, lower), upper);
    }
    if (!ok) continue;
    const chOf = channelIndexer(dims, axis, C);
    const codes = new Int32Array(x.length);
    const fq = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = chOf(i);
      const q = gdfqCode(x[i]!, grids[c]!);
      codes[i] = q + n + shift[c]!;
      fq[i] = gdfqDequant(q, grids[c]!);
    }
    const scale = Float32Array.from(grids, (g) => 1 / g.s);
    const zeroPoint = Int32Array.from(grids, (g, c) => shift[c]! - g.r);
    return { container: ct, codes, scale, zeroPoint, fakeQuant: fq, grids };
  }
  throw new LrqError(`${where}: a weight range lies too far from zero for any ${containers.map((c) => c.name).join('/')} zero point`);
}

/** Per-tensor activation Q/DQ parameters, plus the float Clip bounds needed (null = none). */
export interface ActQdq {
  container: Container;
  scale: number;
  zeroPoint: number;
  clipLo: number | null;
  clipHi: number | null;
  grid: Grid;
}

/**
 * Activation parameters. Levels ℓ = round(x/scale) must be clamped to [r, r+L]; the container saturates
 * u = ℓ + z to [cmin, cmax], so we pick the largest z with r + z ≥ cmin and r + z + L ≤ cmax: then, in a
 * wider container (k = 5…7 in 8 bits), the top level sits exactly at cmax and saturation clips the top
 * for free. The bottom needs no op either when the producer guarantees x ≥ lowerBound with round(lowerBound·s) ≥ r
 * (ReLU: x ≥ 0 and r = round(s·lo) ≤ 0 whenever lo ≤ 0.5/s); otherwise a Clip node bounds x first.
 */
export function activationQdq(lo: number, hi: number, bits: number, lowerBound: number, containers: Container[], where: string): ActQdq {
  const grid = gdfqGrid(lo, hi, bits);
  const L = 2 ** bits - 1;
  const r = grid.r;
  const scale = Math.fround(1 / grid.s);
  for (const ct of containers) {
    const zMin = Math.max(ct.min, ct.min - r);
    const zMax = Math.min(ct.max, ct.max - L - r);
    if (zMin > zMax) continue;
    const z = zMax;
    const clipHi = z + r + L < ct.max ? Math.fround((r + L) * scale) : null;
    const bottomSafe = Number.isFinite(lowerBound) && lowerBound * grid.s >= r - 0.4;
    const clipLo = z + r > ct.min && !bottomSafe ? Math.fround(r * scale) : null;
    return { container: ct, scale, zeroPoint: z, clipLo, clipHi, grid };
  }
  throw new LrqError(`${where}: activation range [${lo}, ${hi}] at ${bits} bits lies too far from zero for any ${containers.map((c) => c.name).join('/')} zero point`);
}

/** uint8 Q/DQ parameters of a k-bit activation grid whose clamp runs on the integer tensor (int8 export). */
export interface IntActQdq {
  scale: number;
  zeroPoint: number;
  /** Integer clamp bounds on the uint8 tensor (null: the container's own saturation already clamps there). */
  clampLo: number | null;
  clampHi: number | null;
  grid: Grid;
}

/**
 * Levels ℓ ∈ [r, r + L] (L = 2^k − 1) on uint8 with z = clamp(−r, 0, 255 − L − r): the bottom level sits at 0
 * when it can (the container's saturation is the bottom clamp, and a ReLU in front of a zero point 0 is dropped by
 * onnxruntime), the top at z + r + L. clamp(sat(round(x/scale) + z), z + r, z + r + L) equals the grid's
 * clamp(round(x/scale), r, r + L) + z, so a uint8 Clip after QuantizeLinear replaces the float Clip in front of it —
 * and the integer kernels on both sides stay fused.
 */
export function intActivationQdq(lo: number, hi: number, bits: number, where: string): IntActQdq {
  const grid = gdfqGrid(lo, hi, bits);
  const L = 2 ** bits - 1;
  const r = grid.r;
  const z = Math.min(Math.max(0, -r), 255 - L - r);
  if (z < 0 || z > 255) throw new LrqError(`${where}: activation range [${lo}, ${hi}] at ${bits} bits lies too far from zero for a uint8 zero point`);
  return { scale: Math.fround(1 / grid.s), zeroPoint: z, clampLo: z + r > 0 ? z + r : null, clampHi: z + r + L < 255 ? z + r + L : null, grid };
}
