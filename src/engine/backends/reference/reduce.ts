// Reductions of the reference backend: sum and max over a set of axes. The output keeps reduced axes
// as size 1 (so its flat layout is that of the keepdim result). Sums accumulate in float64.

import { type Data, allocLike, numel, stridesOf } from '../../dtype.js';
import { forEachRow } from './strided.js';

function reducedShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, a) => (axes.includes(a) ? 1 : d));
}

/** Strides into the keepdim output, 0 along the reduced axes. */
function outStrides(shape: readonly number[], axes: readonly number[]): number[] {
  const st = stridesOf(reducedShape(shape, axes));
  return st.map((s, a) => (axes.includes(a) ? 0 : s));
}

/** out = Σ_{axes} x. */
export function sum(x: Data, shape: readonly number[], axes: readonly number[]): Data {
  const acc = new Float64Array(numel(reducedShape(shape, axes)));
  forEachRow(shape, [stridesOf(shape), outStrides(shape, axes)], (o, len, s) => {
    const xo = o[0]!, oo = o[1]!, os = s[1]!;
    if (os === 0) {
      let t = 0;
      for (let i = 0; i < len; i++) t += x[xo + i]!;
      acc[oo]! += t;
    } else {
      for (let i = 0; i < len; i++) acc[oo + i * os]! += x[xo + i]!;
    }
  });
  const out = allocLike(x, acc.length);
  out.set(acc);
  return out;
}

/** out = max_{axes} x. */
export function max(x: Data, shape: readonly number[], axes: readonly number[]): Data {
  const out = allocLike(x, numel(reducedShape(shape, axes)));
  out.fill(-Infinity);
  forEachRow(shape, [stridesOf(shape), outStrides(shape, axes)], (o, len, s) => {
    const xo = o[0]!, oo = o[1]!, os = s[1]!;
    for (let i = 0; i < len; i++) {
      const v = x[xo + i]!;
      if (v > out[oo + i * os]! || Number.isNaN(v)) out[oo + i * os] = v;
    }
  });
  return out;
}
