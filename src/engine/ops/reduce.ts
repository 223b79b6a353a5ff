// Reductions: sum, mean, variance, amax over axes (all axes by default), optionally keeping reduced
// dims. Backward broadcasts the output gradient back over the reduced axes; amax splits it evenly
// among tied maxima, as torch.amax does.

import './registerBackends.js';
import { backend } from '../backend.js';
import { Tensor, result } from '../tensor.js';
import { normAxes } from './axes.js';
import { square } from './unary.js';
import { sub } from './binary.js';

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, a) => (axes.includes(a) ? 1 : d));
}
function outShape(shape: readonly number[], axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? keptShape(shape, axes) : shape.filter((_, a) => !axes.includes(a));
}

/** Σ of x over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes('sum', axes, x.shape);
  const kept = keptShape(x.shape, ax);
  const y = ax.length ? backend().sum(x.data, x.shape, ax) : x.data.slice();
  return result('sum', y, outShape(x.shape, ax, keepdim), [x], (g) => [new Tensor(backend().broadcastTo(g.data, kept, x.shape), x.shape)]);
}

/** Mean of x over `axes` (all when omitted). */
export function mean(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes('mean', axes, x.shape);
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  const kept = keptShape(x.shape, ax);
  const s = ax.length ? backend().sum(x.data, x.shape, ax) : x.data;
  const y = backend().affine(s, 1 / count, 0);
  return result('mean', y, outShape(x.shape, ax, keepdim), [x], (g) => [
    new Tensor(backend().broadcastTo(backend().affine(g.data, 1 / count, 0), kept, x.shape), x.shape),
  ]);
}

/** Σ (x − mean)² / (count − unbiased) over `axes`. */
export function variance(x: Tensor, axes?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
  const ax = normAxes('variance', axes, x.shape);
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  const d = sub(x, mean(x, ax, true));
  const s = sum(square(d), ax, opts.keepdim ?? false);
  const denom = count - (opts.unbiased ? 1 : 0);
  const y = backend().affine(s.data, 1 / denom, 0);
  return result('variance', y, s.shape, [s], (g) => [new Tensor(backend().affine(g.data, 1 / denom, 0), s.shape)]);
}

/** max of x over `axes`; the gradient is split evenly among the elements equal to the max. */
export function amax(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes('amax', axes, x.shape);
  const kept = keptShape(x.shape, ax);
  const y = ax.length ? backend().max(x.data, x.shape, ax) : x.data.slice();
  return result('amax', y, outShape(x.shape, ax, keepdim), [x], (g) => {
    const b = backend();
    const mb = b.broadcastTo(y, kept, x.shape);
    const mask = b.binary('sub', x.data, x.shape, mb, x.shape, x.shape);
    for (let i = 0; i < mask.length; i++) mask[i] = mask[i] === 0 ? 1 : 0;
    const cnt = ax.length ? b.sum(mask, x.shape, ax) : mask;
    const share = b.binary('div', g.data, kept, cnt, kept, kept);
    const gx = b.binary('mul', b.broadcastTo(share, kept, x.shape), x.shape, mask, x.shape, x.shape);
    return [new Tensor(gx, x.shape)];
  });
}

