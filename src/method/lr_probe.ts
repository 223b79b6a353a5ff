// Data-free cap on the student LR from the loss curvature (issue 19). Nesterov SGD with momentum μ diverges on
// a quadratic whose curvature λ exceeds 2(1+μ)/((1+2μ)·lr), and a pretrained net's sharpness differs by
// model: λ_max of the W4A4 student loss is ≈ 1.9e4 on akamaster ResNet-20 but ≈ 8e4 on chenyaofo's ResNet-20
// and ShuffleNetV2 (weights 2.4× smaller under BN: curvature ∝ 1/‖w‖²), so the paper's 1e-4 is 8× past the
// limit there and the student collapses in three steps (PyTorch twin, docs/EXPERIMENTS.md 2026-12-08).
// Rule: the probe reads the batch the student is about to train on and leaves every weight, gradient,
// observer and the run's Rng exactly as it found them; the cap only ever lowers the scheduled LR.

import { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { actQuantizers } from '../quant/prepare.js';
import type { Module } from '../nn/module.js';
import type { StepParts } from './step.js';
import { studentLoss } from './step.js';

/**
 * The cap is this fraction of the measured limit. λ̂ understates the curvature that matters, by measured
 * factors: power iteration from below and batch to batch 1.4× (4.2e4 vs 5.8e4 on two generated ShuffleNetV2
 * batches), the W4A4 student over its FP copy 1.07–1.36×, and real images over generated ones 2.0× at the
 * first student epoch (7.35e4 vs 3.73e4). At the full limit (3.6e-5 on generated images) the ShuffleNetV2
 * student still dropped 76.9 → 70.0 in its first epoch; on real images 3.6e-5 collapses it (PyTorch twin,
 * 75.4 → 16.8 in 12 steps) while 1.85e-5 and 9e-6 raise it to 78.2 / 78.0.
 */
export const CAP_SAFETY = 0.5;

/** Largest stable LR of Nesterov SGD on curvature λ: lr·λ < 2(1+μ)/(1+2μ) (Jury test of its 2×2 recurrence). */
export function nesterovStableLr(lambda: number, momentum: number): number {
  return (2 * (1 + momentum)) / ((1 + 2 * momentum) * lambda);
}

/** The student LR of an epoch: min(scheduled, cap) — the cap is null when the probe is off. */
export function cappedLr(scheduled: number, cap: number | null): number {
  return cap === null ? scheduled : Math.min(scheduled, cap);
}

/**
 * λ̂ ≈ |top eigenvalue| of ∇²L(w) by power iteration on finite-difference Hessian-vector products
 * Hv ≈ (∇L(w + εv) − ∇L(w − εv)) / 2ε, ‖εv‖ = relStep·‖w‖; `lossGrad` must fill every param's .grad.
 * The weights are restored bit for bit (copies), the gradients cleared.
 */
export function topCurvature(params: Tensor[], lossGrad: () => void, rng: Rng, iters = 8, relStep = 1e-3): number {
  const w0 = params.map((p) => Float32Array.from(p.data));
  const wNorm = Math.sqrt(w0.reduce((s, a) => s + dot(a, a), 0));
  let v = params.map((p) => Float64Array.from(rng.normal(p.shape).data));
  let lambda = 0;
  const gradAt = (sign: number, eps: number): Float64Array[] => {
    params.forEach((p, i) => { const d = p.data, a = w0[i]!, vi = v[i]!; for (let k = 0; k < d.length; k++) d[k] = a[k]! + sign * eps * vi[k]!; });
    for (const p of params) p.grad = null;
    lossGrad();
    return params.map((p) => (p.grad ? Float64Array.from(p.grad.data) : new Float64Array(p.size)));
  };
  try {
    for (let it = 0; it < iters; it++) {
      const n = Math.sqrt(v.reduce((s, a) => s + dot(a, a), 0));
      v = v.map((a) => a.map((x) => x / n));
      const eps = relStep * wNorm;
      const gp = gradAt(1, eps), gm = gradAt(-1, eps);
      const hv = gp.map((a, i) => a.map((x, k) => (x - gm[i]![k]!) / (2 * eps)));
      lambda = Math.abs(hv.reduce((s, a, i) => s + dot(a, v[i]!), 0)); // Rayleigh quotient vᵀHv, ‖v‖ = 1
      v = hv;
    }
  } finally {
    params.forEach((p, i) => { p.data.set(w0[i]!); p.grad = null; });
  }
  return lambda;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * The epoch's LR cap: CAP_SAFETY·nesterovStableLr(λ̂) with λ̂ the top curvature of the student loss (CE + ramp·DKD or
 * KD) on this batch, measured on the full-precision student (fake quantizers off: their rounding makes
 * finite differences meaningless; the W4A4 λ is 1.1–1.4× the FP one) with the range observers paused.
 * The start vector comes from its own stream seeded by (seed, epoch), never the run's Rng.
 */
export function probeStudentLrCap(p: StepParts, x: Tensor, y: Int32Array, t: Tensor, ramp: number, seed: number, epoch: number): { lambda: number; cap: number } {
  const { student, cfg } = p;
  const observers = actQuantizers(student).map(([, a]) => [a, a.observerEnabled] as const);
  const switches = [...student.namedModules()].map(([, m]) => m).filter((m): m is Module & { fakeQuantEnabled: boolean } => typeof (m as { fakeQuantEnabled?: unknown }).fakeQuantEnabled === 'boolean')
    .map((m) => [m, m.fakeQuantEnabled] as const);
  const params = student.parameters().filter((q) => q.requiresGrad);
  for (const [a] of observers) a.observerEnabled = false;
  for (const [m] of switches) m.fakeQuantEnabled = false;
  try {
    const lambda = topCurvature(params, () => studentLoss(p, x, y, t, ramp).loss.backward(), new Rng(seed * 1000003 + 7919 * (epoch + 1)));
    return { lambda, cap: CAP_SAFETY * nesterovStableLr(lambda, cfg.momentum) };
  } finally {
    for (const [m, on] of switches) m.fakeQuantEnabled = on;
    for (const [a, on] of observers) a.observerEnabled = on;
  }
}
