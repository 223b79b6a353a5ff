// Classic knowledge distillation (Hinton; GDFQ's student loss, spec §1.5). Rule: the reduction is an
// explicit switch because GDFQ's `nn.KLDivLoss()` default is the element-wise mean over B·C ('mean'),
// while IntraQ and the textbook form use the per-sample mean ('batchmean').

import type { Tensor } from '../../engine/tensor.js';
import { div, mul, klDiv, logSoftmax, softmax } from '../../engine/ops/index.js';
import { LrqError } from '../../engine/errors.js';

export interface KdOptions {
  /** Softmax temperature T (GDFQ: 20). */
  temperature: number;
  /** Loss weight α (GDFQ: 1 with 'mean'; IntraQ: 20 with 'batchmean'). */
  alpha: number;
  /** 'mean' = Σ/(B·C) (GDFQ quirk), 'batchmean' = Σ/B. */
  reduction: 'mean' | 'batchmean';
}

/** L_KD = α·T²·KL(softmax(t/T) ‖ softmax(s/T)), reduced by `reduction`; gradient flows into s (and t if it tracks). */
export function kdLoss(student: Tensor, teacher: Tensor, opts: KdOptions): Tensor {
  const { temperature: T, alpha, reduction } = opts;
  if (!(T > 0)) throw new LrqError(`kdLoss: temperature ${T} must be > 0`);
  if (student.ndim !== 2 || student.shape.join() !== teacher.shape.join()) {
    throw new LrqError(`kdLoss: student [${student.shape.join(', ')}] and teacher [${teacher.shape.join(', ')}] logits must both be [B, C]`);
  }
  const kl = klDiv(logSoftmax(div(student, T), -1), softmax(div(teacher, T), -1), reduction);
  return mul(kl, alpha * T * T);
}
