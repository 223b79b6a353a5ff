// The export contract (what a finished run hands to the exporter) and the GDFQ quantizer arithmetic of
// spec §1.2 emulated in float32, step by step, so exported codes equal the fake-quant training values.
// Rule: this file depends on no training code — a spec is plain data (names, typed arrays, numbers).

import { LrqError } from '../../engine/errors.js';

/** Quantization of one weight initializer: per-output-channel range (omitted = row min/max of the final weights, as GDFQ). */
export interface WeightQuant {
  bits: number;
  lo?: Float32Array;
  hi?: Float32Array;
}

/** Quantization of one activation tensor (the output of a Relu/Clip node): per-tensor range [lo, hi]. */
export interface ActQuant {
  bits: number;
  lo: number;
  hi: number;
}

/**
 * Everything the exporter needs from a run. Keys are ONNX names of the ORIGINAL model:
 * - initializers: final FP values (fine-tuned weights, BN γ/β, …) replacing the originals (same element count);
 * - weights: initializer name of a Conv/Gemm/MatMul weight → bits (+ optional per-output-channel lo/hi);
 * - activations: output tensor name of a Relu/Clip node (or that node's name) → bits, lo, hi;
 * - foldBn: fold BatchNormalization into the preceding Conv where that is exact (only convs whose
 *   weights stay FP — folding after weight quantization changes the function; default false);
 * - metadata: extra metadata_props (e.g. lrq.mean / lrq.std, run name), written as given.
 */
/** A BatchNormalization the student folded into its Conv (deploy scheme): node names and the folded bias. */
export interface FoldedBn {
  bn: string;
  conv: string;
  bias: Float32Array;
}

export interface ExportSpec {
  /** 'paper' (default): GDFQ's graph; 'deploy': BN folded, symmetric weights, activations keyed by edge name. */
  scheme?: 'paper' | 'deploy';
  /** deploy: the folded Conv+BN pairs (weights in `initializers` are already folded). */
  folded?: FoldedBn[];
  initializers?: Map<string, Float32Array>;
  weights: Map<string, WeightQuant>;
  activations: Map<string, ActQuant>;
  foldBn?: boolean;
  metadata?: Record<string, string>;
}

const f32 = Math.fround;

/** torch.round: round half to even (Math.round rounds half toward +∞). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The GDFQ grid of one range in float32: s = (2^k−1)/max(hi−lo, 1e-8), zp = round(s·lo) + 2^(k−1), r = zp − 2^(k−1). */
export interface Grid {
  bits: number;
  /** Step inverse s (float32). */
  s: number;
  /** GDFQ zero point zp (integer). */
  zp: number;
  /** r = round(s·lo): the integer level of the lowest grid point; levels are r … r + 2^k − 1, x̂ = level / s. */
  r: number;
}

/** Grid parameters of spec §1.2 computed with float32 rounding at every step (as torch float32 tensors: s = fl(fl(1/d)·(2^k−1))). */
export function gdfqGrid(lo: number, hi: number, bits: number): Grid {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw new LrqError(`quantizer: bit width ${bits} must be an integer in [2, 16]`);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new LrqError(`quantizer: range [${lo}, ${hi}] is not finite`);
  const n = 2 ** (bits - 1);
  // torch evaluates GDFQ's `n / clamp(hi − lo, 1e-8)` (python int n) as reciprocal(d)·n: two roundings.
  const range = Math.max(f32(f32(hi) - f32(lo)), f32(1e-8));
  const s = f32(f32(1 / range) * (2 ** bits - 1));
  const r = roundHalfEven(f32(s * f32(lo)));
  return { bits, s, zp: r + n, r };
}

/** GDFQ integer code q = clamp(round(s·x − zp), −2^(k−1), 2^(k−1)−1) in float32 arithmetic. */
export function gdfqCode(x: number, g: Grid): number {
  const n = 2 ** (g.bits - 1);
  const q = roundHalfEven(f32(f32(g.s * x) - g.zp));
  return q < -n ? -n : q > n - 1 ? n - 1 : q;
}

/** Dequantized value x̂ = (q + zp)/s in float32. */
export function gdfqDequant(q: number, g: Grid): number {
  return f32((q + g.zp) / g.s);
}

/** Fake-quantize a whole tensor per channel along `axis` of `dims` (per-tensor: lo/hi of length 1). */
export function fakeQuantGdfq(x: Float32Array, dims: readonly number[], axis: number, lo: Float32Array, hi: Float32Array, bits: number): Float32Array {
  const out = new Float32Array(x.length);
  const grids = Array.from(lo, (l, c) => gdfqGrid(l, hi[c]!, bits));
  const chOf = channelIndexer(dims, axis, lo.length);
  for (let i = 0; i < x.length; i++) {
    const g = grids[chOf(i)]!;
    out[i] = gdfqDequant(gdfqCode(x[i]!, g), g);
  }
  return out;
}

/** Element index → channel index along `axis` (per-tensor when channels = 1). */
export function channelIndexer(dims: readonly number[], axis: number, channels: number): (i: number) => number {
  if (channels === 1) return () => 0;
  if (dims[axis] !== channels) throw new LrqError(`quantizer: ${channels} per-channel ranges for axis ${axis} of shape [${dims.join(', ')}]`);
  let inner = 1;
  for (let d = axis + 1; d < dims.length; d++) inner *= dims[d]!;
  return (i) => Math.floor(i / inner) % channels;
}

/** Per-channel min and max along `axis` (GDFQ weight range: row min/max of the weight viewed as [out, −1]). */
export function channelMinMax(x: Float32Array, dims: readonly number[], axis: number): { lo: Float32Array; hi: Float32Array } {
  const c = dims[axis]!;
  const lo = new Float32Array(c).fill(Infinity);
  const hi = new Float32Array(c).fill(-Infinity);
  const chOf = channelIndexer(dims, axis, c);
  for (let i = 0; i < x.length; i++) {
    const k = chOf(i);
    const v = x[i]!;
    if (v < lo[k]!) lo[k] = v;
    if (v > hi[k]!) hi[k] = v;
  }
  return { lo, hi };
}
