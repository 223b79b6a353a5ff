// Rounding and fake quantization. round is half-to-even with zero gradient (torch.round); roundSTE and
// fakeQuantize pass the gradient straight through unchanged (GDFQ's AsymmetricQuantFunction: no
// masking of clipped values, no gradient into the range).

import './registerBackends.js';
import { backend } from '../backend.js';
import { fmtShape } from '../dtype.js';
import { LrqError, ShapeError } from '../errors.js';
import { Tensor, result } from '../tensor.js';

/** Nearest integer, ties to even (0.5 → 0, 1.5 → 2, −0.5 → −0); gradient 0. */
export function round(x: Tensor): Tensor {
  return result('round', backend().unary('round', x.data, {}), x.shape, [x], () => [null]);
}

/** Nearest integer, ties to even; gradient passes through as identity. */
export function roundSTE(x: Tensor): Tensor {
  return result('roundSTE', backend().unary('round', x.data, {}), x.shape, [x], (g) => [new Tensor(g.data, x.shape)]);
}

/**
 * GDFQ fake quantization of x with range [lo, hi] per tensor (lo, hi of length 1) or per slice along
 * axis 0 (perChannelAxis0): s = (2^k−1)/max(hi−lo, 1e-8), zp = round(s·lo) + 2^(k−1),
 * y = (clamp(round(s·x − zp), −2^(k−1), 2^(k−1)−1) + zp)/s. Gradient: identity.
 */
export function fakeQuantize(x: Tensor, lo: Float32Array, hi: Float32Array, bits: number, perChannelAxis0: boolean): Tensor {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) throw new LrqError(`fakeQuantize: bits must be an integer in [1, 16], got ${bits}`);
  const rows = perChannelAxis0 ? (x.shape[0] ?? 1) : 1;
  if (lo.length !== rows || hi.length !== rows) {
    throw new ShapeError('fakeQuantize', `range of length ${lo.length}/${hi.length} for ${rows} row(s) of input ${fmtShape(x.shape)}`);
  }
  const y = backend().fakeQuant(x.data, rows, x.size / Math.max(rows, 1), lo, hi, bits);
  return result('fakeQuantize', y, x.shape, [x], (g) => [new Tensor(g.data, x.shape)]);
}
