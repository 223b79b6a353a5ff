// Adversarial Margin Add (spec §3.3, [ASSUMED] ArcFace-form reconstruction): an additive angular margin
// on the angle between the teacher's penultimate feature f and the FC row w_y (the class centre) of the
// sampled label, inside the generator's CE. Rule: the norm-preserving variant with m = 0 returns the
// teacher logits bit for bit, so AMA off and AMA with m = 0 are the same run (GDFQ).

import { Tensor, noGrad } from '../../engine/tensor.js';
import { add, sub, mul, div, sqrt, square, sum, clamp, maximum, matmul, transpose, unsqueeze, embedding, crossEntropy } from '../../engine/ops/index.js';
import { alloc } from '../../engine/dtype.js';
import { LrqError } from '../../engine/errors.js';
import { checkLabels, oneHot } from './labels.js';

export interface AmaOptions {
  /** 'norm-preserving' (default): only the target logit changes, to ‖f‖‖w_y‖·cos(θ_y+m)+b_y; 'arcface': s·cos θ_j everywhere. */
  variant: 'norm-preserving' | 'arcface';
  /** Margin m in radians (default 0.5). */
  margin: number;
  /** Logit scale s of the arcface variant (default 30). */
  scale: number;
  /** +1: cos(θ_y + m) (ArcFace); −1: cos(θ_y − m). */
  sign: 1 | -1;
  /** ε in cos θ = ⟨f, w⟩ / (‖f‖·‖w‖ + ε). */
  eps: number;
}

export const AMA_DEFAULTS: AmaOptions = { variant: 'norm-preserving', margin: 0.5, scale: 30, sign: 1, eps: 1e-8 };

/** ‖v‖ = √(Σv² + 1e-20): the tiny floor keeps the gradient finite for an all-zero feature row (dead ReLUs). */
function rowNorm(v: Tensor): Tensor {
  return sqrt(add(sum(square(v), 1), 1e-20));
}

/** cos θ is clamped to [−1 + 1e-7, 1 − 1e-7] so √(1 − cos²) keeps a finite gradient. */
const COS_LIMIT = 1 - 1e-7;

/**
 * φ = cos(θ + m') = c·cos m' − √(max(0, 1 − c²))·sin m' with m' = sign·m, plus ArcFace's monotonicity
 * fix: for sign +1 where c ≤ cos(π − m) use φ = c − m·sin m; for sign −1 (mirror, [ASSUMED]) where
 * c ≥ cos m (θ < m, where cos(θ − m) would rise again) use φ = c + m·sin m.
 */
export function marginCos(c: Tensor, margin: number, sign: 1 | -1): Tensor {
  const m = sign * margin;
  const main = sub(mul(c, Math.cos(m)), mul(sqrt(maximum(sub(1, square(c)), 0)), Math.sin(m)));
  const fix = add(c, -sign * margin * Math.sin(margin));
  // Branch mask from the values (constant; the branch choice carries no gradient, as torch.where).
  const useFix = alloc(c.dtype, c.size);
  const th = sign > 0 ? Math.cos(Math.PI - margin) : Math.cos(margin);
  let any = false;
  for (let i = 0; i < c.size; i++) {
    const v = c.data[i]!;
    if (margin > 0 && (sign > 0 ? v <= th : v >= th)) {
      useFix[i] = 1;
      any = true;
    }
  }
  if (!any) return main;
  const fixMask = new Tensor(useFix, c.shape);
  return add(mul(main, sub(1, fixMask)), mul(fix, fixMask));
}

/**
 * AMA logits from teacher logits t [B, C], feature f [B, d], FC weight W [C, d], bias b [C] | null
 * (checked only: t already holds it), labels y. With c = clamp(⟨f, w_y⟩/(‖f‖‖w_y‖ + ε)) and φ = marginCos(c):
 * norm-preserving: logits' = t + onehot(y)·‖f‖‖w_y‖·(φ − c) (= ‖f‖‖w_y‖φ + b_y at the target, t elsewhere);
 * arcface: logits' = s·(cos θ + onehot(y)·(φ − c)) with cos θ_j = ⟨f, w_j⟩/(‖f‖‖w_j‖ + ε).
 */
export function amaLogits(t: Tensor, f: Tensor, W: Tensor, b: Tensor | null, y: Int32Array, opts: Partial<AmaOptions> = {}): Tensor {
  const o: AmaOptions = { ...AMA_DEFAULTS, ...opts };
  checkLabels('ama', t, y);
  const [B, C] = t.shape as [number, number];
  if (f.ndim !== 2 || f.shape[0] !== B) throw new LrqError(`ama: feature must be [${B}, d], got [${f.shape.join(', ')}]`);
  if (W.ndim !== 2 || W.shape[0] !== C || W.shape[1] !== f.shape[1]) {
    throw new LrqError(`ama: FC weight must be [${C}, ${f.shape[1]}], got [${W.shape.join(', ')}]`);
  }
  if (b && b.size !== C) throw new LrqError(`ama: FC bias has ${b.size} entries for ${C} classes`);
  if (!(o.margin >= 0) || !(o.margin < Math.PI)) throw new LrqError(`ama: margin ${o.margin} must be in [0, π)`);
  if (o.sign !== 1 && o.sign !== -1) throw new LrqError(`ama: sign must be +1 or -1, got ${String(o.sign)}`);
  const oh = oneHot(y, C, t.dtype);
  const nf = rowNorm(f); // [B]
  if (o.variant === 'norm-preserving') {
    const wy = embedding(y, W); // [B, d]: the class centres of the targets
    const nw = rowNorm(wy);
    const norms = mul(nf, nw);
    const c = clamp(div(sum(mul(f, wy), 1), add(norms, o.eps)), -COS_LIMIT, COS_LIMIT);
    const delta = mul(norms, sub(marginCos(c, o.margin, o.sign), c)); // [B]
    return add(t, mul(oh, unsqueeze(delta, 1)));
  }
  if (o.variant === 'arcface') {
    if (!(o.scale > 0)) throw new LrqError(`ama: scale ${o.scale} must be > 0`);
    const nW = rowNorm(W); // [C]
    const denom = add(mul(unsqueeze(nf, 1), unsqueeze(nW, 0)), o.eps);
    const cos = clamp(div(matmul(f, transpose(W, 0, 1)), denom), -COS_LIMIT, COS_LIMIT); // [B, C]
    const c = sum(mul(cos, oh), 1);
    const delta = sub(marginCos(c, o.margin, o.sign), c);
    return mul(add(cos, mul(oh, unsqueeze(delta, 1))), o.scale);
  }
  throw new LrqError(`ama: unknown variant '${String(o.variant)}' (use norm-preserving or arcface)`);
}

/** L_AMA = CE(amaLogits(t, f, W, b, y), y), mean over the batch. */
export function amaLoss(t: Tensor, f: Tensor, W: Tensor, b: Tensor | null, y: Int32Array, opts: Partial<AmaOptions> = {}): Tensor {
  return crossEntropy(amaLogits(t, f, W, b, y, opts), y, 'mean');
}

/** Fraction of samples whose margin branch is the monotonicity fix (for logging). */
export function amaFixFraction(f: Tensor, W: Tensor, y: Int32Array, opts: Partial<AmaOptions> = {}): number {
  const o: AmaOptions = { ...AMA_DEFAULTS, ...opts };
  if (o.margin === 0) return 0;
  return noGrad(() => {
    const wy = embedding(y, W);
    const c = div(sum(mul(f, wy), 1), add(mul(rowNorm(f), rowNorm(wy)), o.eps));
    const th = o.sign > 0 ? Math.cos(Math.PI - o.margin) : Math.cos(o.margin);
    let n = 0;
    for (const v of c.data) if (o.sign > 0 ? v <= th : v >= th) n++;
    return c.size ? n / c.size : 0;
  });
}
