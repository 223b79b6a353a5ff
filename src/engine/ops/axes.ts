// Argument normalization shared by the ops: python-style negative axes, optional axis lists, and
// scalar-or-pair geometry arguments. Errors name the op and the offending shape or value.

import { fmtShape } from '../dtype.js';
import { ShapeError } from '../errors.js';

/** Axis `a` of an ndim-d tensor, negative counting from the end; ShapeError when out of range. */
export function normAxis(op: string, a: number, ndim: number, shape?: readonly number[]): number {
  const r = a < 0 ? a + ndim : a;
  if (!Number.isInteger(a) || r < 0 || r >= ndim) {
    throw new ShapeError(op, `axis ${a} out of range for ${shape ? `shape ${fmtShape(shape)}` : `${ndim}-d tensor`}`);
  }
  return r;
}

/** Sorted, unique axes (all axes when `axes` is undefined). */
export function normAxes(op: string, axes: number | readonly number[] | undefined, shape: readonly number[]): number[] {
  if (axes === undefined) return shape.map((_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, shape.length, shape)))];
  return out.sort((a, b) => a - b);
}

/** A scalar-or-pair argument as [h, w]. */
export function pair(v: number | readonly number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0]!, v[1] ?? v[0]!];
}

/** Padding as [top, left, bottom, right] from p, [h, w] or [top, left, bottom, right]. */
export function pads4(op: string, p: number | readonly number[]): [number, number, number, number] {
  if (typeof p === 'number') return [p, p, p, p];
  if (p.length === 2) return [p[0]!, p[1]!, p[0]!, p[1]!];
  if (p.length === 4) return [p[0]!, p[1]!, p[2]!, p[3]!];
  throw new ShapeError(op, `padding must be a number, [h, w] or [top, left, bottom, right], got [${p.join(', ')}]`);
}
