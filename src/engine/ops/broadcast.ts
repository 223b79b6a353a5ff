// Broadcasting rules (numpy's, strictly: dims must be equal or 1) and the adjoint of a broadcast,
// which sums a gradient back down to the shape of the operand that was broadcast.

import { fmtShape } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { backend } from '../backend.js';
import { Tensor } from '../tensor.js';

/** The broadcast shape of a and b, or a ShapeError naming `op` and both shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Σ of g (shape `gShape`) over the axes along which `shape` was broadcast: the result has `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const data = axes.length ? backend().sum(g.data, g.shape, axes) : g.data;
  return new Tensor(data, shape);
}
