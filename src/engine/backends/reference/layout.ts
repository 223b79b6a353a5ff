// Layout kernels of the reference backend: broadcast, transpose, strided slice (and its adjoint),
// constant pad, concat. Pure index arithmetic; outputs are fresh arrays of the input's dtype.

import { type Data, allocLike, numel, stridesOf } from '../../dtype.js';
import { broadcastStrides, forEachRow } from './strided.js';

/** out = x broadcast from `shape` to `outShape`. */
export function broadcastTo(x: Data, shape: readonly number[], outShape: readonly number[]): Data {
  const out = allocLike(x, numel(outShape));
  forEachRow(outShape, [stridesOf(outShape), broadcastStrides(shape, outShape)], (o, len, st) => {
    const oo = o[0]!, xo = o[1]!, xs = st[1]!;
    for (let i = 0; i < len; i++) out[oo + i] = x[xo + i * xs]!;
  });
  return out;
}

/** out[j…] with out.shape[d] = shape[perm[d]]: out at index i_perm equals x at index i. */
export function transpose(x: Data, shape: readonly number[], perm: readonly number[]): Data {
  const outShape = perm.map((p) => shape[p]!);
  const inSt = stridesOf(shape);
  const out = allocLike(x, x.length);
  forEachRow(outShape, [stridesOf(outShape), perm.map((p) => inSt[p]!)], (o, len, st) => {
    const oo = o[0]!, xo = o[1]!, xs = st[1]!;
    for (let i = 0; i < len; i++) out[oo + i] = x[xo + i * xs]!;
  });
  return out;
}

function sliceStrides(shape: readonly number[], starts: readonly number[], steps: readonly number[]): { base: number; st: number[] } {
  const inSt = stridesOf(shape);
  let base = 0;
  const st = inSt.map((s, a) => {
    base += starts[a]! * s;
    return steps[a]! * s;
  });
  return { base, st };
}

/** out[i] = x[start + i·step] per axis. */
export function slice(x: Data, shape: readonly number[], starts: readonly number[], steps: readonly number[], outShape: readonly number[]): Data {
  const out = allocLike(x, numel(outShape));
  const { base, st } = sliceStrides(shape, starts, steps);
  forEachRow(outShape, [stridesOf(outShape), st], (o, len, s) => {
    const oo = o[0]!, xo = base + o[1]!, xs = s[1]!;
    for (let i = 0; i < len; i++) out[oo + i] = x[xo + i * xs]!;
  });
  return out;
}

/** Adjoint of slice: zeros of `shape` with gy scattered to start + i·step. */
export function sliceBackward(gy: Data, shape: readonly number[], starts: readonly number[], steps: readonly number[], outShape: readonly number[]): Data {
  const out = allocLike(gy, numel(shape));
  const { base, st } = sliceStrides(shape, starts, steps);
  forEachRow(outShape, [stridesOf(outShape), st], (o, len, s) => {
    const go = o[0]!, xo = base + o[1]!, xs = s[1]!;
    for (let i = 0; i < len; i++) out[xo + i * xs]! += gy[go + i]!;
  });
  return out;
}

/** Constant padding: out has shape[a] + before[a] + after[a] per axis, x copied at offset `before`. */
export function pad(x: Data, shape: readonly number[], before: readonly number[], after: readonly number[], value: number): Data {
  const outShape = shape.map((d, a) => d + before[a]! + after[a]!);
  const out = allocLike(x, numel(outShape));
  if (value !== 0) out.fill(value);
  const outSt = stridesOf(outShape);
  let base = 0;
  for (let a = 0; a < shape.length; a++) base += before[a]! * outSt[a]!;
  forEachRow(shape, [stridesOf(shape), outSt], (o, len, s) => {
    const xo = o[0]!, oo = base + o[1]!, os = s[1]!;
    for (let i = 0; i < len; i++) out[oo + i * os] = x[xo + i]!;
  });
  return out;
}

/** Concatenate arrays of shapes `shapes` along `axis` (all other dims equal). */
export function concat(xs: readonly Data[], shapes: readonly (readonly number[])[], axis: number): Data {
  const first = shapes[0]!;
  let outer = 1;
  for (let a = 0; a < axis; a++) outer *= first[a]!;
  let inner = 1;
  for (let a = axis + 1; a < first.length; a++) inner *= first[a]!;
  const total = shapes.reduce((s, sh) => s + sh[axis]!, 0);
  const out = allocLike(xs[0]!, outer * total * inner);
  const rowOut = total * inner;
  let off = 0;
  for (let t = 0; t < xs.length; t++) {
    const x = xs[t]!;
    const blk = shapes[t]![axis]! * inner;
    for (let o = 0; o < outer; o++) out.set(x.subarray(o * blk, (o + 1) * blk), o * rowOut + off);
    off += blk;
  }
  return out;
}
