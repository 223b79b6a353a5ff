// Pair mixing of image batches: x'_i = λ_i·x_i + (1 − λ_i)·x_{(i+1) mod B}, shared by the data-free
// student selection (its scoring set) and the student step's --mix-student. Rule: the only randomness is
// the Rng passed in, one uniform draw per mixed row, in row order.

import { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';

/** Mixing weights λ ~ U(MIX_LO, 1 − MIX_LO): every mixed image keeps a visible part of both sources. */
export const MIX_LO = 0.2;

/**
 * x'_i = λ_i·x_i + (1 − λ_i)·x_{(i+1) mod B} for rows i < `rows` (default all), λ_i ~ U(0.2, 0.8); rows
 * from `rows` on are copied unchanged. A new tensor; x is not modified.
 */
export function mixPairs(x: Tensor, rng: Rng, rows = x.shape[0]!): Tensor {
  const b = x.shape[0]!, d = x.size / b;
  const src = x.data, out = Float32Array.from(src);
  for (let i = 0; i < Math.min(rows, b); i++) {
    const lam = MIX_LO + (1 - 2 * MIX_LO) * rng.uniform([1]).data[0]!;
    const j = (i + 1) % b;
    for (let k = 0; k < d; k++) out[i * d + k] = lam * src[i * d + k]! + (1 - lam) * src[j * d + k]!;
  }
  return new Tensor(out, x.shape);
}
