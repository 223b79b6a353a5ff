// Decoupled knowledge distillation (Zhao et al. 2022, mdistiller's DKD; spec §3.4): TCKD (binary
// target/non-target KL) + NCKD (KL among the non-target classes). Rule: every log-probability is a
// difference of log-sum-exps (log p_y = s_y/T − LSE(s/T), log(1−p_y) = LSE_{j≠y}(s/T) − LSE(s/T)) —
// never the log of a probability, which mdistiller takes and which can be −∞.

import type { Tensor } from '../../engine/tensor.js';
import { add, sub, mul, div, exp, sum, mean, logsumexp, unsqueeze } from '../../engine/ops/index.js';
import { LrqError } from '../../engine/errors.js';
import { checkLabels, oneHot } from './labels.js';

export interface DkdOptions {
  /** TCKD weight α (mdistiller: 1). */
  alpha: number;
  /** NCKD weight β (mdistiller: 8 on CIFAR). */
  beta: number;
  /** Temperature T (mdistiller: 4). */
  temperature: number;
}

/**
 * Masking constant for "j ≠ y" log-sum-exps: the target entry is shifted by −1e9 so exp() gives exactly
 * 0 (mdistiller shifts by −1000, which leaks for |logits/T| near 1000).
 */
const MASK = 1e9;

/**
 * Per-sample DKD terms (no T² factor): tckd_i = KL([q_y, 1−q_y] ‖ [p_y, 1−p_y]), nckd_i = KL(q̂ ‖ p̂)
 * with p = softmax(s/T), q = softmax(t/T), p̂, q̂ the distributions renormalized over j ≠ y; also
 * returns log q_y. Identity: KL(q ‖ p) = tckd_i + (1 − q_y)·nckd_i.
 */
export function dkdTerms(student: Tensor, teacher: Tensor, y: Int32Array, temperature: number): { tckd: Tensor; nckd: Tensor; logQy: Tensor } {
  checkLabels('dkdLoss', student, y, 2);
  if (student.shape.join() !== teacher.shape.join()) {
    throw new LrqError(`dkdLoss: student [${student.shape.join(', ')}] and teacher [${teacher.shape.join(', ')}] logits differ in shape`);
  }
  if (!(temperature > 0)) throw new LrqError(`dkdLoss: temperature ${temperature} must be > 0`);
  const C = student.shape[1]!;
  const oh = oneHot(y, C, student.dtype);
  const notTarget = sub(1, oh);
  const s = div(student, temperature);
  const t = div(teacher, temperature);
  const sMasked = sub(s, mul(oh, MASK));
  const tMasked = sub(t, mul(oh, MASK));
  const lseS = logsumexp(s, -1), lseT = logsumexp(t, -1);
  const lseSn = logsumexp(sMasked, -1), lseTn = logsumexp(tMasked, -1);
  const logPy = sub(sum(mul(s, oh), 1), lseS);
  const logQy = sub(sum(mul(t, oh), 1), lseT);
  const log1mPy = sub(lseSn, lseS);
  const log1mQy = sub(lseTn, lseT);
  const tckd = add(mul(exp(logQy), sub(logQy, logPy)), mul(exp(log1mQy), sub(log1mQy, log1mPy)));
  const logQhat = sub(tMasked, unsqueeze(lseTn, 1));
  const logPhat = sub(sMasked, unsqueeze(lseSn, 1));
  const nckd = sum(mul(mul(exp(logQhat), notTarget), sub(logQhat, logPhat)), 1);
  return { tckd, nckd, logQy };
}

/** DKD = α·T²·mean_i tckd_i + β·T²·mean_i nckd_i (mdistiller's dkd_loss), as a scalar tensor. */
export function dkdLoss(student: Tensor, teacher: Tensor, y: Int32Array, opts: DkdOptions): Tensor {
  return dkdParts(student, teacher, y, opts).loss;
}

/** The DKD total and its two parts TCKD = T²·mean tckd_i, NCKD = T²·mean nckd_i (unweighted, for logging). */
export function dkdParts(student: Tensor, teacher: Tensor, y: Int32Array, opts: DkdOptions): { loss: Tensor; tckd: Tensor; nckd: Tensor } {
  const T = opts.temperature;
  const terms = dkdTerms(student, teacher, y, T);
  const tckd = mul(mean(terms.tckd), T * T);
  const nckd = mul(mean(terms.nckd), T * T);
  return { loss: add(mul(tckd, opts.alpha), mul(nckd, opts.beta)), tckd, nckd };
}

/** DKD ramp weight: clamp((epoch − warmupEpochs + 1) / dkdWarmup, 0, 1) (epochs from 0; mdistiller counts from 1). */
export function dkdRamp(epoch: number, warmupEpochs: number, dkdWarmup: number): number {
  if (dkdWarmup <= 0) return epoch >= warmupEpochs ? 1 : 0;
  return Math.min(1, Math.max(0, (epoch - warmupEpochs + 1) / dkdWarmup));
}
