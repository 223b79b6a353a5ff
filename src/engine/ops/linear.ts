// Matrix products: linear (x·wᵀ + b) and matmul (2-D and batched with broadcast leading dims). Both
// call the backend's batched matmul kernel; backward is the usual pair gA = g·Bᵀ, gB = Aᵀ·g.

import './registerBackends.js';
import { backend } from '../backend.js';
import { fmtShape, numel } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { Tensor, result } from '../tensor.js';
import { broadcastShapes, sumToShape } from './broadcast.js';

/** y = x·wᵀ + b for x [..., in], w [out, in], b [out]. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  const where = `x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)}`;
  if (w.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== w.shape[1]) throw new ShapeError('linear', `in-features do not match (${where})`);
  if (b && b.size !== w.shape[0]) throw new ShapeError('linear', `bias ${fmtShape(b.shape)} does not match w ${fmtShape(w.shape)}`);
  const k = w.shape[1]!, n = w.shape[0]!, m = x.size / k;
  const outShape = [...x.shape.slice(0, -1), n];
  const y = backend().matmul(x.data, w.data, 1, m, n, k, false, true, b ? b.data : null, 0, 0);
  const inputs = b ? [x, w, b] : [x, w];
  return result('linear', y, outShape, inputs, (g) => {
    const be = backend();
    const gx = x.tracksGrad ? new Tensor(be.matmul(g.data, w.data, 1, m, k, n, false, false, null, 0, 0), x.shape) : null;
    const gw = w.tracksGrad ? new Tensor(be.matmul(g.data, x.data, 1, n, k, m, true, false, null, 0, 0), w.shape) : null;
    const gb = b?.tracksGrad ? new Tensor(be.sum(g.data, [m, n], [0]), b.shape) : null;
    return b ? [gx, gw, gb] : [gx, gw];
  });
}

/** C = A·B for A [..., m, k], B [..., k, n] (leading dims broadcast); 2-D when both are 2-D. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const where = `shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`;
  if (a.ndim < 2 || b.ndim < 2) throw new ShapeError('matmul', `needs at least 2-D operands (${where})`);
  const m = a.shape[a.ndim - 2]!, k = a.shape[a.ndim - 1]!, n = b.shape[b.ndim - 1]!;
  if (b.shape[b.ndim - 2] !== k) throw new ShapeError('matmul', `inner dims do not match (${where})`);
  const lead = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = numel(lead);
  const aFull = [...lead, m, k], bFull = [...lead, k, n];
  const be = backend();
  // A batch stride of 0 expresses "one matrix for every batch"; other broadcasts are materialized.
  const expand = (t: Tensor, full: number[]): [Tensor, number] => {
    const tb = numel(t.shape.slice(0, -2));
    if (tb === batch) return [t, t.shape[t.ndim - 2]! * t.shape[t.ndim - 1]!];
    if (tb === 1) return [t, 0];
    return [new Tensor(be.broadcastTo(t.data, t.shape, full), full), full[full.length - 2]! * full[full.length - 1]!];
  };
  const [ae, as] = expand(a, aFull);
  const [bE, bs] = expand(b, bFull);
  const y = be.matmul(ae.data, bE.data, batch, m, n, k, false, false, null, as, bs);
  return result('matmul', y, [...lead, m, n], [a, b], (g) => {
    const bk = backend();
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (a.tracksGrad) {
      // gA = g·Bᵀ per batch, then summed over broadcast batch dims.
      const d = bk.matmul(g.data, bE.data, batch, m, k, n, false, true, null, m * n, bs);
      ga = sumToShape(new Tensor(d, aFull), a.shape);
    }
    if (b.tracksGrad) {
      const d = bk.matmul(ae.data, g.data, batch, k, n, m, true, false, null, as, m * n);
      gb = sumToShape(new Tensor(d, bFull), b.shape);
    }
    return [ga, gb];
  });
}
