// Softmax family along one axis: softmax, logSoftmax (row kernels of the backend; a non-last axis is
// moved last and back) and logsumexp. Backward: softmax gx = y ⊙ (g − Σg⊙y), logSoftmax gx = g − eʸ·Σg.

import './registerBackends.js';
import { backend } from '../backend.js';
import { type Data, allocLike } from '../dtype.js';
import { Tensor, result } from '../tensor.js';
import { normAxis } from './axes.js';
import { amax, sum } from './reduce.js';
import { add, sub } from './binary.js';
import { exp, log } from './unary.js';
import { permute, squeeze } from './shape.js';

function alongLast(x: Tensor, axis: number, f: (t: Tensor) => Tensor, op: string): Tensor {
  const a = normAxis(op, axis, x.ndim, x.shape);
  if (a === x.ndim - 1) return f(x);
  const perm = x.shape.map((_, i) => i);
  perm[a] = x.ndim - 1;
  perm[x.ndim - 1] = a;
  return permute(f(permute(x, perm)), perm);
}

function softmaxLast(x: Tensor): Tensor {
  const cols = x.shape[x.ndim - 1] ?? 1, rows = x.size / Math.max(cols, 1);
  const y = backend().softmax(x.data, rows, cols);
  return result('softmax', y, x.shape, [x], (g) => [new Tensor(softmaxBackward(g.data, y, rows, cols), x.shape)]);
}

function logSoftmaxLast(x: Tensor): Tensor {
  const cols = x.shape[x.ndim - 1] ?? 1, rows = x.size / Math.max(cols, 1);
  const y = backend().logSoftmax(x.data, rows, cols);
  return result('logSoftmax', y, x.shape, [x], (g) => [new Tensor(logSoftmaxBackward(g.data, y, rows, cols), x.shape)]);
}

/** gx[r,j] = y[r,j]·(g[r,j] − Σ_k g[r,k]·y[r,k]). */
function softmaxBackward(g: Data, y: Data, rows: number, cols: number): Data {
  const gx = allocLike(g, g.length);
  for (let r = 0; r < rows; r++) {
    const b = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += g[b + j]! * y[b + j]!;
    for (let j = 0; j < cols; j++) gx[b + j] = y[b + j]! * (g[b + j]! - s);
  }
  return gx;
}

/** gx[r,j] = g[r,j] − exp(y[r,j])·Σ_k g[r,k]. */
export function logSoftmaxBackward(g: Data, y: Data, rows: number, cols: number): Data {
  const gx = allocLike(g, g.length);
  for (let r = 0; r < rows; r++) {
    const b = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += g[b + j]!;
    for (let j = 0; j < cols; j++) gx[b + j] = g[b + j]! - Math.exp(y[b + j]!) * s;
  }
  return gx;
}

/** exp(x) / Σ exp(x) along `axis`. */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongLast(x, axis, softmaxLast, 'softmax');
}

/** x − log Σ exp(x) along `axis`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongLast(x, axis, logSoftmaxLast, 'logSoftmax');
}

/** log Σ exp(x) along `axis`, computed as m + log Σ exp(x − m) with m the (detached) max. */
export function logsumexp(x: Tensor, axis = -1, keepdim = false): Tensor {
  const a = normAxis('logsumexp', axis, x.ndim, x.shape);
  const m = amax(x, a, true).detach();
  const s = add(log(sum(exp(sub(x, m)), a, true)), m);
  return keepdim ? s : squeeze(s, a);
}
