// Elementwise unary ops (relu family, tanh, sigmoid, gelu, exp, log, …). Forward and backward both
// call the backend's unary kernels; the backward gets x and y so derivatives like tanh' = 1 − y² are cheap.

import './registerBackends.js';
import { backend, type UnaryArgs, type UnaryOp } from '../backend.js';
import { Tensor, result } from '../tensor.js';

function unaryOp(op: UnaryOp, x: Tensor, args: UnaryArgs = {}, name: string = op): Tensor {
  const y = backend().unary(op, x.data, args);
  return result(name, y, x.shape, [x], (g) => [new Tensor(backend().unaryBackward(op, g.data, x.data, y, args), x.shape)]);
}

/** max(x, 0). */
export const relu = (x: Tensor): Tensor => unaryOp('relu', x);
/** min(max(x, 0), 6). */
export const relu6 = (x: Tensor): Tensor => unaryOp('clip', x, { lo: 0, hi: 6 }, 'relu6');
/** min(max(x, lo), hi); gradient passes where lo ≤ x ≤ hi (torch.clamp). */
export const clamp = (x: Tensor, lo = -Infinity, hi = Infinity): Tensor => unaryOp('clip', x, { lo, hi }, 'clamp');
/** x if x > 0 else slope·x. */
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => unaryOp('leaky_relu', x, { alpha: slope }, 'leakyRelu');
/** x if x > 0 else α·(eˣ − 1). */
export const elu = (x: Tensor, alpha = 1): Tensor => unaryOp('elu', x, { alpha });
/** tanh(x). */
export const tanh = (x: Tensor): Tensor => unaryOp('tanh', x);
/** 1 / (1 + e^{−x}). */
export const sigmoid = (x: Tensor): Tensor => unaryOp('sigmoid', x);
/** x·Φ(x) = ½x(1 + erf(x/√2)) (exact, not the tanh approximation). */
export const gelu = (x: Tensor): Tensor => unaryOp('gelu', x);
/** eˣ. */
export const exp = (x: Tensor): Tensor => unaryOp('exp', x);
/** ln x. */
export const log = (x: Tensor): Tensor => unaryOp('log', x);
/** √x. */
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', x);
/** |x| (gradient sign(x), 0 at 0). */
export const abs = (x: Tensor): Tensor => unaryOp('abs', x);
/** cos x. */
export const cos = (x: Tensor): Tensor => unaryOp('cos', x);
/** sin x. */
export const sin = (x: Tensor): Tensor => unaryOp('sin', x);
/** −x. */
export const neg = (x: Tensor): Tensor => unaryOp('neg', x);
/** x². */
export const square = (x: Tensor): Tensor => unaryOp('square', x);
