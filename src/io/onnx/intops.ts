// Integer tensor arithmetic for ONNX shape computations (Shape → Gather → Concat → Reshape chains, pad
// amounts). These values carry no gradient, so plain JS arrays with row-major indexing are enough.
// Rule: semantics follow the ONNX operator spec (Slice clamping, numpy broadcasting, Div truncates).

import { LrqError } from '../../engine/errors.js';
import { stridesOf as strides } from '../../engine/dtype.js';
import { IntTensor } from './proto.js';

/** Normalize an axis index into [0, rank) (negative counts from the end). */
export function normAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new LrqError(`${where}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** One axis of an ONNX Slice after clamping: first index, step and number of elements taken. */
export interface SliceAxis { start: number; step: number; len: number }

/** ONNX Slice clamping rules for one axis of length `dim`. */
export function sliceAxis(dim: number, start: number, end: number, step: number, where: string): SliceAxis {
  if (step === 0) throw new LrqError(`${where}: Slice step 0 is not allowed`);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, 0), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  const len = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return { start: s, step, len };
}

/** out[i…] = x[start_a + i_a·step_a …] for per-axis slices (all axes given). */
export function intSlice(x: IntTensor, ax: readonly SliceAxis[]): IntTensor {
  const shape = ax.map((a) => a.len);
  const st = strides(x.shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Array<number>(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += (ax[d]!.start + idx[d]! * ax[d]!.step) * st[d]!;
    out[k] = x.data[off]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return new IntTensor(out, shape);
}

/** Permute axes: out.shape[i] = x.shape[perm[i]]. */
export function intTranspose(x: IntTensor, perm: readonly number[]): IntTensor {
  const st = strides(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const n = x.size;
  const out = new Array<number>(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += idx[d]! * st[perm[d]!]!;
    out[k] = x.data[off]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return new IntTensor(out, shape);
}

/** Concatenate along `axis`. */
export function intConcat(xs: readonly IntTensor[], axis: number): IntTensor {
  const rank = xs[0]!.shape.length;
  const outer = xs[0]!.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const inner = x.shape.slice(axis).reduce((a, b) => a * b, 1);
      for (let i = 0; i < inner; i++) out.push(x.data[o * inner + i]!);
    }
  }
  const shape = [...xs[0]!.shape];
  if (rank > 0) shape[axis] = xs.reduce((a, x) => a + x.shape[axis]!, 0);
  return new IntTensor(out, shape);
}

/** ONNX Gather: out = x indexed along `axis` by `ind` (negative indices wrap); out rank = r − 1 + rank(ind). */
export function intGather(x: IntTensor, ind: IntTensor, axis: number, where: string): IntTensor {
  const dim = x.shape[axis]!;
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const i0 of ind.data) {
      const i = i0 < 0 ? i0 + dim : i0;
      if (i < 0 || i >= dim) throw new LrqError(`${where}: Gather index ${i0} out of range for axis of size ${dim}`);
      for (let k = 0; k < inner; k++) out.push(x.data[(o * dim + i) * inner + k]!);
    }
  }
  return new IntTensor(out, [...x.shape.slice(0, axis), ...ind.shape, ...x.shape.slice(axis + 1)]);
}

/** Elementwise integer binary op with numpy broadcasting. */
export function intBinary(a: IntTensor, b: IntTensor, f: (x: number, y: number) => number, where: string): IntTensor {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array<number>(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => {
    const e = pb[i]!;
    if (d !== e && d !== 1 && e !== 1) throw new LrqError(`${where}: cannot broadcast [${a.shape.join(', ')}] with [${b.shape.join(', ')}]`);
    return d === 1 ? e : d;
  });
  const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s));
  const sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
  const n = shape.reduce((x, y) => x * y, 1);
  const out = new Array<number>(n);
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < n; k++) {
    let oa = 0, ob = 0;
    for (let d = 0; d < rank; d++) {
      oa += idx[d]! * sa[d]!;
      ob += idx[d]! * sb[d]!;
    }
    out[k] = f(a.data[oa]!, b.data[ob]!);
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return new IntTensor(out, shape);
}

/** ONNX Reshape target shape: 0 copies the input dim (unless allowzero), one −1 is inferred. */
export function resolveReshape(inShape: readonly number[], target: readonly number[], allowZero: boolean, where: string): number[] {
  const total = inShape.reduce((a, b) => a * b, 1);
  const out = target.map((d, i) => (d === 0 && !allowZero ? inShape[i]! : d));
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1) throw new LrqError(`${where}: Reshape target [${target.join(', ')}] has more than one -1`);
  if (neg === 1) {
    const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (known === 0 || total % known !== 0) throw new LrqError(`${where}: cannot reshape [${inShape.join(', ')}] to [${target.join(', ')}]`);
    out[out.indexOf(-1)] = total / known;
  }
  if (out.reduce((a, b) => a * b, 1) !== total) throw new LrqError(`${where}: cannot reshape [${inShape.join(', ')}] to [${target.join(', ')}]`);
  return out;
}
