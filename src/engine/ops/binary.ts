// Broadcasting arithmetic: add, sub, mul, div, maximum, minimum. Each op's backward sits beside its
// forward; gradients of broadcast operands are summed back to their own shape.

import './registerBackends.js';
import { backend, type BinaryOp } from '../backend.js';
import { Tensor, result, scalar } from '../tensor.js';
import { broadcastShapes, sumToShape } from './broadcast.js';
import { ShapeError } from '../errors.js';

type Operand = Tensor | number;

function lift(x: Operand, like: Tensor): Tensor {
  return typeof x === 'number' ? scalar(x, like.dtype) : x;
}

function raw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) throw new ShapeError(op, `dtype mismatch ${a.dtype} vs ${b.dtype}`);
  const shape = broadcastShapes(op, a.shape, b.shape);
  return new Tensor(backend().binary(op, a.data, a.shape, b.data, b.shape, shape), shape);
}

function binaryOp(op: BinaryOp, a0: Operand, b0: Operand, grad: (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null]): Tensor {
  const a = typeof a0 === 'number' ? lift(a0, b0 as Tensor) : a0;
  const b = lift(b0, a);
  const y = raw(op, a, b);
  return result(op, y.data, y.shape, [a, b], (g) => {
    const [ga, gb] = grad(g, a, b, y);
    return [ga && a.tracksGrad ? sumToShape(ga, a.shape) : null, gb && b.tracksGrad ? sumToShape(gb, b.shape) : null];
  });
}

/** a + b (broadcasting). */
export function add(a: Operand, b: Operand): Tensor {
  return binaryOp('add', a, b, (g) => [g, g]);
}

/** a − b (broadcasting). */
export function sub(a: Operand, b: Operand): Tensor {
  return binaryOp('sub', a, b, (g) => [g, raw('mul', g, scalar(-1, g.dtype))]);
}

/** a ⊙ b (broadcasting). */
export function mul(a: Operand, b: Operand): Tensor {
  return binaryOp('mul', a, b, (g, a, b) => [a.tracksGrad ? raw('mul', g, b) : null, b.tracksGrad ? raw('mul', g, a) : null]);
}

/** a / b (broadcasting): d/da = 1/b, d/db = −a/b² = −y/b. */
export function div(a: Operand, b: Operand): Tensor {
  return binaryOp('div', a, b, (g, _a, b, y) => [
    raw('div', g, b),
    b.tracksGrad ? raw('mul', raw('div', raw('mul', g, y), b), scalar(-1, g.dtype)) : null,
  ]);
}

/** max(a, b) elementwise; the gradient goes to a where a ≥ b, else to b. */
export function maximum(a: Operand, b: Operand): Tensor {
  return binaryOp('max', a, b, (g, a, b) => {
    const shape = g.shape;
    const ab = backend().broadcastTo(a.data, a.shape, shape);
    const bb = backend().broadcastTo(b.data, b.shape, shape);
    const ga = g.data.slice(), gb = g.data.slice();
    for (let i = 0; i < ga.length; i++) {
      if (ab[i]! >= bb[i]!) gb[i] = 0; else ga[i] = 0;
    }
    return [new Tensor(ga, shape), new Tensor(gb, shape)];
  });
}

/** min(a, b) elementwise; the gradient goes to a where a ≤ b, else to b. */
export function minimum(a: Operand, b: Operand): Tensor {
  return binaryOp('min', a, b, (g, a, b) => {
    const shape = g.shape;
    const ab = backend().broadcastTo(a.data, a.shape, shape);
    const bb = backend().broadcastTo(b.data, b.shape, shape);
    const ga = g.data.slice(), gb = g.data.slice();
    for (let i = 0; i < ga.length; i++) {
      if (ab[i]! <= bb[i]!) gb[i] = 0; else ga[i] = 0;
    }
    return [new Tensor(ga, shape), new Tensor(gb, shape)];
  });
}

/** a^b elementwise (broadcasting): d/da = b·a^(b−1), d/db = a^b·ln a. */
export function pow(a: Operand, b: Operand): Tensor {
  return binaryOp('pow', a, b, (g, a, b, y) => [
    a.tracksGrad ? raw('mul', g, raw('mul', b, raw('pow', a, raw('sub', b, scalar(1, g.dtype))))) : null,
    b.tracksGrad ? raw('mul', g, raw('mul', y, new Tensor(backend().unary('log', backend().broadcastTo(a.data, a.shape, y.shape), {}), y.shape))) : null,
  ]);
}
