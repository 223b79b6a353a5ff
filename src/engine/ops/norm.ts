// Batch normalization (torch.nn.functional.batch_norm semantics) and the differentiable batch
// statistics used by the BNS loss. Training mode normalizes with batch mean and biased variance and
// updates the running buffers in place, running_var receiving the UNBIASED variance (as PyTorch).

import './registerBackends.js';
import { backend } from '../backend.js';
import { type Data, allocLike, fmtShape } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { Tensor, result } from '../tensor.js';
import { reshape, slice } from './shape.js';

function layout(op: string, x: Tensor): { n: number; c: number; hw: number } {
  if (x.ndim < 2) throw new ShapeError(op, `expects [N, C, ...] input, got ${fmtShape(x.shape)}`);
  const n = x.shape[0]!, c = x.shape[1]!;
  return { n, c, hw: x.size / Math.max(1, n * c) };
}

function checkC(op: string, what: string, t: Tensor | null, c: number, x: Tensor): void {
  if (t && t.size !== c) throw new ShapeError(op, `${what} ${fmtShape(t.shape)} does not match input ${fmtShape(x.shape)}`);
}

/**
 * y = γ·(x − μ)/√(σ² + ε) + β per channel (axis 1). training: μ, σ² are the batch mean and biased
 * variance and the running buffers become (1−m)·running + m·batch (variance unbiased); eval: running stats
 * (batch stats when they are null, as torch).
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null,
  training: boolean, momentum = 0.1, eps = 1e-5): Tensor {
  const { n, c, hw } = layout('batchNorm', x);
  checkC('batchNorm', 'running_mean', runningMean, c, x);
  checkC('batchNorm', 'running_var', runningVar, c, x);
  checkC('batchNorm', 'weight', weight, c, x);
  checkC('batchNorm', 'bias', bias, c, x);
  const be = backend();
  const gamma = weight ? weight.data : null, beta = bias ? bias.data : null;
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const useBatch = training || !runningMean || !runningVar;
  if (useBatch) {
    const m = n * hw;
    if (training && m <= 1) throw new ShapeError('batchNorm', `expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
    const { y, mean, variance } = be.batchNormTrain(x.data, n, c, hw, gamma, beta, eps);
    if (training) updateRunning(runningMean, runningVar, mean, variance, momentum, m);
    return result('batchNorm', y, x.shape, inputs, (g) => {
      const r = backend().batchNormTrainBackward(g.data, x.data, n, c, hw, mean, variance, gamma, eps);
      return grads(x, weight, bias, r.gx, r.ggamma, r.gbeta);
    });
  }
  const mean = runningMean!.data.slice(), variance = runningVar!.data.slice(); // snapshot: buffers may change before backward
  const y = be.batchNormInfer(x.data, n, c, hw, mean, variance, gamma, beta, eps);
  return result('batchNorm', y, x.shape, inputs, (g) => {
    const paramGrads = !!(weight?.tracksGrad || bias?.tracksGrad);
    const r = backend().batchNormInferBackward(g.data, x.data, n, c, hw, mean, variance, gamma, eps, paramGrads);
    return grads(x, weight, bias, r.gx, weight?.tracksGrad ? r.ggamma : null, bias?.tracksGrad ? r.gbeta : null);
  });
}

function grads(x: Tensor, weight: Tensor | null, bias: Tensor | null, gx: Data, ggamma: Data | null, gbeta: Data | null): (Tensor | null)[] {
  const out: (Tensor | null)[] = [new Tensor(gx, x.shape)];
  if (weight) out.push(ggamma ? new Tensor(ggamma, weight.shape) : null);
  if (bias) out.push(gbeta ? new Tensor(gbeta, bias.shape) : null);
  return out;
}

/** In-place running-statistics update (the one sanctioned write into buffers, like torch). */
function updateRunning(rm: Tensor | null, rv: Tensor | null, mean: Data, variance: Data, momentum: number, m: number): void {
  const unbias = m / (m - 1);
  if (rm) for (let k = 0; k < rm.data.length; k++) rm.data[k] = (1 - momentum) * rm.data[k]! + momentum * mean[k]!;
  if (rv) for (let k = 0; k < rv.data.length; k++) rv.data[k] = (1 - momentum) * rv.data[k]! + momentum * variance[k]! * unbias;
}

/**
 * Differentiable per-channel batch statistics over all axes but 1: mean μ_c and biased variance σ²_c.
 * Backward: dx = gμ/M + gσ²·2(x − μ)/M with M = N·∏spatial. Both come from one [2, C] moments node, so
 * the full-size gradient is formed once (one fused kernel) however many of the two the loss uses.
 */
export function batchStats(x: Tensor): { mean: Tensor; var: Tensor } {
  const { n, c, hw } = layout('batchStats', x);
  const { mean, variance } = backend().batchMoments(x.data, n, c, hw);
  const both = allocLike(mean, 2 * c);
  both.set(mean, 0);
  both.set(variance, c);
  const moments = result('batchStats', both, [2, c], [x], (g) => [
    new Tensor(backend().batchMomentsBackward(g.data.subarray(0, c), g.data.subarray(c), x.data, n, c, hw, mean), x.shape),
  ]);
  return { mean: reshape(slice(moments, 0, 0, 1), [c]), var: reshape(slice(moments, 0, 1, 2), [c]) };
}
