// Shape and layout ops: reshape / flatten / (un)squeeze share storage (views are safe because kernels
// never write their inputs); transpose, permute, slice, pad and concat copy through backend kernels.
// Each backward is the adjoint layout op.

import './registerBackends.js';
import { backend } from '../backend.js';
import { fmtShape, numel } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { Tensor, result } from '../tensor.js';
import { normAxis } from './axes.js';

/** The same values with a new shape (one −1 entry is inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const infer = shape.filter((d) => d === -1).length;
  if (infer > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) throw new ShapeError('reshape', `invalid target shape ${fmtShape(shape)} for input ${fmtShape(x.shape)}`);
  let out = [...shape];
  if (infer) {
    const known = numel(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) throw new ShapeError('reshape', `cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    out = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (numel(out) !== x.size) throw new ShapeError('reshape', `cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  return result('reshape', x.data, out, [x], (g) => [new Tensor(g.data, x.shape)]);
}

/** Merge axes startDim… into one: [N, C, H, W] → [N, C·H·W] for startDim = 1. */
export function flatten(x: Tensor, startDim = 1): Tensor {
  const s = x.ndim === 0 ? 0 : normAxis('flatten', startDim, x.ndim, x.shape);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s))]);
}

/** Insert a size-1 axis at position d (d ∈ [−ndim−1, ndim]). */
export function unsqueeze(x: Tensor, d: number): Tensor {
  const a = normAxis('unsqueeze', d, x.ndim + 1, x.shape);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/** Remove size-1 axis d (or every size-1 axis when d is omitted). */
export function squeeze(x: Tensor, d?: number): Tensor {
  if (d === undefined) return reshape(x, x.shape.filter((s) => s !== 1));
  const a = normAxis('squeeze', d, x.ndim, x.shape);
  if (x.shape[a] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

/** Axes reordered: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normAxis('permute', a, x.ndim, x.shape));
  if (p.length !== x.ndim || new Set(p).size !== p.length) throw new ShapeError('permute', `perm [${perm.join(', ')}] is not a permutation of the axes of ${fmtShape(x.shape)}`);
  const out = p.map((a) => x.shape[a]!);
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return result('permute', backend().transpose(x.data, x.shape, p), out, [x], (g) => [new Tensor(backend().transpose(g.data, out, inv), x.shape)]);
}

/** Swap axes d0 and d1. */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  const a = normAxis('transpose', d0, x.ndim, x.shape), b = normAxis('transpose', d1, x.ndim, x.shape);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Python slice semantics start:end:step on one axis; null start/end mean "from the edge". */
export function sliceIndices(len: number, start: number | null, end: number | null, step: number): { start: number; count: number } {
  if (step > 0) {
    let s = start === null ? 0 : start < 0 ? start + len : start;
    let e = end === null ? len : end < 0 ? end + len : end;
    s = Math.min(Math.max(s, 0), len);
    e = Math.min(Math.max(e, 0), len);
    return { start: s, count: Math.max(0, Math.ceil((e - s) / step)) };
  }
  let s = start === null ? len - 1 : start < 0 ? start + len : start;
  let e = end === null ? -1 : end < 0 ? end + len : end;
  s = Math.min(Math.max(s, -1), len - 1);
  e = Math.min(Math.max(e, -1), len - 1);
  return { start: s, count: Math.max(0, Math.ceil((e - s) / step)) };
}

/** x[..., start:end:step, ...] along `axis` (python semantics: negative indices, any nonzero step). */
export function slice(x: Tensor, axis: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
  const a = normAxis('slice', axis, x.ndim, x.shape);
  if (!Number.isInteger(step) || step === 0) throw new ShapeError('slice', `step must be a nonzero integer, got ${step} (shape ${fmtShape(x.shape)})`);
  const { start: s, count } = sliceIndices(x.shape[a]!, start, end, step);
  const starts = x.shape.map((_, i) => (i === a ? (count ? s : 0) : 0));
  const steps = x.shape.map((_, i) => (i === a ? step : 1));
  const out = x.shape.map((d, i) => (i === a ? count : d));
  return result('slice', backend().slice(x.data, x.shape, starts, steps, out), out, [x], (g) => [
    new Tensor(backend().sliceBackward(g.data, x.shape, starts, steps, out), x.shape),
  ]);
}

/** Constant padding: pads[i] = [before, after] for the last pads.length axes (leading axes unpadded). */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  if (pads.length > x.ndim) throw new ShapeError('pad', `${pads.length} pad pairs for shape ${fmtShape(x.shape)}`);
  const lead = x.ndim - pads.length;
  const before = x.shape.map((_, i) => (i < lead ? 0 : pads[i - lead]![0]));
  const after = x.shape.map((_, i) => (i < lead ? 0 : pads[i - lead]![1]));
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ShapeError('pad', `pads must be non-negative integers, got ${JSON.stringify(pads)} for shape ${fmtShape(x.shape)}`);
  }
  const out = x.shape.map((d, i) => d + before[i]! + after[i]!);
  const ones = x.shape.map(() => 1);
  return result('pad', backend().pad(x.data, x.shape, before, after, value), out, [x], (g) => [
    new Tensor(backend().slice(g.data, out, before, ones, x.shape), x.shape),
  ]);
}

/** Concatenate tensors along `axis` (all other dims equal). */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
  const first = xs[0]!;
  const a = normAxis('concat', axis, first.ndim, first.shape);
  for (const t of xs) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError('concat', `shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ outside axis ${a}`);
    }
    if (t.dtype !== first.dtype) throw new ShapeError('concat', `dtype mismatch ${first.dtype} vs ${t.dtype}`);
  }
  const out = first.shape.map((d, i) => (i === a ? xs.reduce((s, t) => s + t.shape[a]!, 0) : d));
  const y = backend().concat(xs.map((t) => t.data), xs.map((t) => t.shape), a);
  return result('concat', y, out, xs, (g) => {
    let off = 0;
    const ones = out.map(() => 1);
    return xs.map((t) => {
      const starts = out.map((_, i) => (i === a ? off : 0));
      off += t.shape[a]!;
      return t.tracksGrad ? new Tensor(backend().slice(g.data, out, starts, ones, t.shape), t.shape) : null;
    });
  });
}
