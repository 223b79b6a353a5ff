// MSE-optimal per-channel weight clipping before AdaRound (BRECQ initializes its weight quantizers the same
// way): each output channel's latent weights are clamped to [α·min, α·max] with the α of a grid that
// minimizes that channel's ‖fakeQuant(w) − w‖². Rule: the clip is applied to the latent weights
// themselves, so the grid the layer (and the exporter) derives from the row min/max afterwards is the
// clipped one — nothing else has to carry the range.

import { Tensor, noGrad } from '../../engine/tensor.js';
import { fakeQuantizeWeight, rowRanges } from '../../quant/fake_quantize.js';
import type { QuantConv2d, QuantLinear } from '../../quant/quant_modules.js';

/** Candidate clip ratios α: 1, 0.99, …, 0.5. */
const ALPHAS = Array.from({ length: 51 }, (_, i) => 1 - 0.01 * i);

/**
 * Clamp each row c of the layer's weight to [α_c·min_c, α_c·max_c], α_c = argmin_α Σ_j (Q(clamp(w_cj)) − w_cj)²
 * with Q the layer's own per-channel fake-quantizer; returns the mean squared quantization error before and after.
 */
export function clipWeightsMse(layer: QuantConv2d | QuantLinear): { before: number; after: number } {
  const w = layer.weight;
  const rows = w.shape[0]!, cols = w.size / rows;
  const src = Float32Array.from(w.data as Float32Array);
  const { lo: mn, hi: mx } = rowRanges(w);
  const bestErr = new Float64Array(rows).fill(Infinity), bestA = new Float32Array(rows).fill(1);
  let before = 0;
  const tmp = new Float32Array(src.length);
  for (const a of ALPHAS) {
    for (let c = 0; c < rows; c++) {
      const lo = Math.fround(a * mn[c]!), hi = Math.fround(a * mx[c]!);
      for (let j = 0; j < cols; j++) {
        const v = src[c * cols + j]!;
        tmp[c * cols + j] = v < lo ? lo : v > hi ? hi : v;
      }
    }
    const q = noGrad(() => fakeQuantizeWeight(new Tensor(tmp, w.shape), layer.weightBits, layer.grid)).data;
    for (let c = 0; c < rows; c++) {
      let e = 0;
      for (let j = 0; j < cols; j++) {
        const d = q[c * cols + j]! - src[c * cols + j]!;
        e += d * d;
      }
      if (a === 1) before += e;
      if (e < bestErr[c]!) {
        bestErr[c] = e;
        bestA[c] = a;
      }
    }
  }
  const d = w.data as Float32Array;
  for (let c = 0; c < rows; c++) {
    const lo = Math.fround(bestA[c]! * mn[c]!), hi = Math.fround(bestA[c]! * mx[c]!);
    for (let j = 0; j < cols; j++) {
      const v = src[c * cols + j]!;
      d[c * cols + j] = v < lo ? lo : v > hi ? hi : v;
    }
  }
  const after = bestErr.reduce((s, e) => s + e, 0);
  return { before: before / w.size, after: after / w.size };
}
