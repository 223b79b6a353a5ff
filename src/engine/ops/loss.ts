// Classification losses: crossEntropy with hard (class index) or soft (probability) targets and klDiv
// with torch.nn.functional.kl_div semantics (input = log-probs, target = probs, 0·log 0 = 0).

import './registerBackends.js';
import { backend } from '../backend.js';
import { type Data, allocLike, fmtShape } from '../dtype.js';
import { LrqError, ShapeError } from '../errors.js';
import { Tensor, result } from '../tensor.js';
import { mul } from './binary.js';
import { mean, sum } from './reduce.js';
import { neg } from './unary.js';
import { logSoftmax } from './softmax.js';

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(loss: Tensor, reduction: Reduction | 'batchmean', op: string, batch: number): Tensor {
  switch (reduction) {
    case 'none': return loss;
    case 'sum': return sum(loss);
    case 'mean': return mean(loss);
    case 'batchmean': return mul(sum(loss), 1 / batch);
    default: throw new LrqError(`${op}: unknown reduction '${reduction as string}'`);
  }
}

/**
 * ℓ_i = −log softmax(x_i)[t_i] (hard targets) or ℓ_i = −Σ_c t_ic·log softmax(x_i)_c (soft targets),
 * reduced by mean over the batch, sum, or none.
 */
export function crossEntropy(logits: Tensor, target: Int32Array | Tensor, reduction: Reduction = 'mean'): Tensor {
  if (logits.ndim !== 2) throw new ShapeError('crossEntropy', `expects logits [N, C], got ${fmtShape(logits.shape)}`);
  const [n, c] = logits.shape as [number, number];
  if (target instanceof Tensor) {
    if (target.size !== logits.size) throw new ShapeError('crossEntropy', `soft target ${fmtShape(target.shape)} does not match logits ${fmtShape(logits.shape)}`);
    const t = target.ndim === 2 ? target : new Tensor(target.data, logits.shape);
    return reduce(neg(sum(mul(t, logSoftmax(logits, 1)), 1)), reduction, 'crossEntropy', n);
  }
  if (target.length !== n) throw new ShapeError('crossEntropy', `target has ${target.length} labels for logits ${fmtShape(logits.shape)}`);
  for (const t of target) if (!(t >= 0 && t < c)) throw new LrqError(`crossEntropy: target class ${t} out of range [0, ${c})`);
  const lsm = backend().logSoftmax(logits.data, n, c);
  const loss = allocLike(logits.data, n);
  for (let i = 0; i < n; i++) loss[i] = -lsm[i * c + target[i]!]!;
  const perRow = result('crossEntropy', loss, [n], [logits], (g) => {
    // d/dx_ij = g_i·(softmax_ij − [j = t_i])
    const gx = allocLike(g.data, logits.size);
    for (let i = 0; i < n; i++) {
      const gi = g.data[i]!;
      for (let j = 0; j < c; j++) gx[i * c + j] = gi * Math.exp(lsm[i * c + j]!);
      gx[i * c + target[i]!]! -= gi;
    }
    return [new Tensor(gx, logits.shape)];
  });
  return reduce(perRow, reduction, 'crossEntropy', n);
}

/**
 * Pointwise t·(log t − x) (0 where t = 0), reduced by 'mean' (over all elements), 'batchmean'
 * (sum / N), 'sum' or 'none' — torch.nn.functional.kl_div(input, target) with log_target = false.
 */
export function klDiv(input: Tensor, target: Tensor, reduction: Reduction | 'batchmean' = 'mean'): Tensor {
  if (input.size !== target.size || input.ndim !== target.ndim) throw new ShapeError('klDiv', `input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} differ`);
  const x = input.data, t = target.data;
  const y = allocLike(x, x.length);
  for (let i = 0; i < y.length; i++) { const ti = t[i]!; y[i] = ti > 0 ? ti * (Math.log(ti) - x[i]!) : ti === 0 ? 0 : NaN; }
  const point = result('klDiv', y, input.shape, [input, target], (g) => {
    const gd = g.data;
    let gi: Data | null = null, gt: Data | null = null;
    if (input.tracksGrad) { gi = allocLike(gd, gd.length); for (let i = 0; i < gd.length; i++) gi[i] = -t[i]! * gd[i]!; }
    if (target.tracksGrad) {
      gt = allocLike(gd, gd.length);
      for (let i = 0; i < gd.length; i++) gt[i] = t[i]! > 0 ? gd[i]! * (Math.log(t[i]!) + 1 - x[i]!) : 0;
    }
    return [gi && new Tensor(gi, input.shape), gt && new Tensor(gt, target.shape)];
  });
  return reduce(point, reduction, 'klDiv', input.shape[0] ?? 1);
}
