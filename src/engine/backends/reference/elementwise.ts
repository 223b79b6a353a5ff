// Elementwise kernels of the reference backend: unary ops with their derivatives, broadcasting binary
// ops, and the fused affine map. `round` is half-to-even (torch.round), never Math.round.

import type { BinaryOp, UnaryArgs, UnaryOp } from '../../backend.js';
import { type Data, allocLike, numel, stridesOf } from '../../dtype.js';
import { erf } from './erf.js';
import { roundHalfEven } from './quant.js';
import { broadcastStrides, forEachRow } from './strided.js';

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

/** y = f(x) for the unary op `op`. */
export function unary(op: UnaryOp, x: Data, args: UnaryArgs): Data {
  const n = x.length;
  const y = allocLike(x, n);
  const alpha = args.alpha ?? 0.01;
  const lo = args.lo ?? -Infinity;
  const hi = args.hi ?? Infinity;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) y[i] = -x[i]!; break;
    case 'relu': for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = v > 0 ? v : 0; } break;
    case 'leaky_relu': for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = v > 0 ? v : alpha * v; } break;
    case 'clip': for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = v < lo ? lo : v > hi ? hi : v; } break;
    case 'tanh': for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!); break;
    case 'sigmoid': for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-x[i]!)); break;
    case 'gelu': for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = 0.5 * v * (1 + erf(v * SQRT1_2)); } break;
    case 'exp': for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]!); break;
    case 'log': for (let i = 0; i < n; i++) y[i] = Math.log(x[i]!); break;
    case 'sqrt': for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]!); break;
    case 'abs': for (let i = 0; i < n; i++) y[i] = Math.abs(x[i]!); break;
    case 'cos': for (let i = 0; i < n; i++) y[i] = Math.cos(x[i]!); break;
    case 'sin': for (let i = 0; i < n; i++) y[i] = Math.sin(x[i]!); break;
    case 'square': for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = v * v; } break;
    case 'round': for (let i = 0; i < n; i++) y[i] = roundHalfEven(x[i]!); break;
    case 'elu': { const a = args.alpha ?? 1; for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = v > 0 ? v : a * Math.expm1(v); } break; }
    default: throw new Error(`reference unary: unknown op ${op as string}`);
  }
  return y;
}

/** dL/dx = dL/dy · f'(x), with y = f(x) given for ops whose derivative is cheaper from y. */
export function unaryBackward(op: UnaryOp, gy: Data, x: Data, y: Data, args: UnaryArgs): Data {
  const n = gy.length;
  const g = allocLike(gy, n);
  const alpha = args.alpha ?? 0.01;
  const lo = args.lo ?? -Infinity;
  const hi = args.hi ?? Infinity;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) g[i] = -gy[i]!; break;
    case 'relu': for (let i = 0; i < n; i++) g[i] = x[i]! > 0 ? gy[i]! : 0; break;
    case 'leaky_relu': for (let i = 0; i < n; i++) g[i] = x[i]! > 0 ? gy[i]! : alpha * gy[i]!; break;
    // torch.clamp passes the gradient where lo ≤ x ≤ hi (inclusive bounds).
    case 'clip': for (let i = 0; i < n; i++) { const v = x[i]!; g[i] = v >= lo && v <= hi ? gy[i]! : 0; } break;
    case 'tanh': for (let i = 0; i < n; i++) { const t = y[i]!; g[i] = gy[i]! * (1 - t * t); } break;
    case 'sigmoid': for (let i = 0; i < n; i++) { const s = y[i]!; g[i] = gy[i]! * s * (1 - s); } break;
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    case 'gelu': for (let i = 0; i < n; i++) {
      const v = x[i]!;
      g[i] = gy[i]! * (0.5 * (1 + erf(v * SQRT1_2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
    } break;
    case 'exp': for (let i = 0; i < n; i++) g[i] = gy[i]! * y[i]!; break;
    case 'log': for (let i = 0; i < n; i++) g[i] = gy[i]! / x[i]!; break;
    case 'sqrt': for (let i = 0; i < n; i++) g[i] = gy[i]! / (2 * y[i]!); break;
    case 'abs': for (let i = 0; i < n; i++) { const v = x[i]!; g[i] = v > 0 ? gy[i]! : v < 0 ? -gy[i]! : 0; } break;
    case 'cos': for (let i = 0; i < n; i++) g[i] = -gy[i]! * Math.sin(x[i]!); break;
    case 'sin': for (let i = 0; i < n; i++) g[i] = gy[i]! * Math.cos(x[i]!); break;
    case 'square': for (let i = 0; i < n; i++) g[i] = 2 * x[i]! * gy[i]!; break;
    case 'round': break; // zero gradient almost everywhere (torch.round)
    case 'elu': { const a = args.alpha ?? 1; for (let i = 0; i < n; i++) g[i] = x[i]! > 0 ? gy[i]! : gy[i]! * (y[i]! + a); break; }
    default: throw new Error(`reference unaryBackward: unknown op ${op as string}`);
  }
  return g;
}

function binRow(op: BinaryOp, out: Data, oo: number, a: Data, ao: number, as: number, b: Data, bo: number, bs: number, len: number): void {
  switch (op) {
    case 'add': for (let i = 0; i < len; i++) out[oo + i] = a[ao + i * as]! + b[bo + i * bs]!; break;
    case 'sub': for (let i = 0; i < len; i++) out[oo + i] = a[ao + i * as]! - b[bo + i * bs]!; break;
    case 'mul': for (let i = 0; i < len; i++) out[oo + i] = a[ao + i * as]! * b[bo + i * bs]!; break;
    case 'div': for (let i = 0; i < len; i++) out[oo + i] = a[ao + i * as]! / b[bo + i * bs]!; break;
    case 'max': for (let i = 0; i < len; i++) { const u = a[ao + i * as]!, v = b[bo + i * bs]!; out[oo + i] = u >= v || Number.isNaN(u) ? u : v; } break;
    case 'min': for (let i = 0; i < len; i++) { const u = a[ao + i * as]!, v = b[bo + i * bs]!; out[oo + i] = u <= v || Number.isNaN(u) ? u : v; } break;
    case 'pow': for (let i = 0; i < len; i++) out[oo + i] = Math.pow(a[ao + i * as]!, b[bo + i * bs]!); break;
    default: throw new Error(`reference binary: unknown op ${op as string}`);
  }
}

/** out = a ∘ b with a, b broadcast (numpy rules) to outShape. */
export function binary(op: BinaryOp, a: Data, aShape: readonly number[], b: Data, bShape: readonly number[], outShape: readonly number[]): Data {
  const out = allocLike(a, numel(outShape));
  forEachRow(outShape, [stridesOf(outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)], (o, len, st) => {
    binRow(op, out, o[0]!, a, o[1]!, st[1]!, b, o[2]!, st[2]!, len);
  });
  return out;
}

/** out = a·alpha + beta. */
export function affine(a: Data, alpha: number, beta: number): Data {
  const out = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! * alpha + beta;
  return out;
}
