// Learning-rate schedules. multiStepLr is GDFQ's "multi_step" policy: lr = base·γ^(#{s : epoch + 1 > s}),
// which for integer epochs and milestones is the same as torch's MultiStepLR count #{s : epoch ≥ s}.

/** base·gamma^(number of milestones m with epoch ≥ m), epoch counted from 0 (set once per epoch). */
export function multiStepLr(base: number, milestones: readonly number[], gamma: number, epoch: number): number {
  let k = 0;
  for (const m of milestones) if (epoch >= m) k++;
  return base * gamma ** k;
}
