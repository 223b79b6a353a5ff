// Exponential moving average of a module's parameters (Polyak averaging), as torch's
// swa_utils.AveragedModel with get_ema_multi_avg_fn(decay): the first update copies the parameters, each
// later one sets avg ← d·avg + (1−d)·p. Rule: the average lives outside autograd in its own arrays and
// only ever enters the live parameters through `withAverage` (which puts the live values back bit for bit)
// or `apply` (end of training), so keeping an average never changes the training trajectory.

import { Tensor } from '../../engine/tensor.js';
import { LrqError } from '../../engine/errors.js';
import type { Parameter } from '../module.js';

/** EMA of parameters: avg_0 = p_0, avg_t = d·avg_{t−1} + (1−d)·p_t, i.e. avg + (1−d)·(p − avg) as torch's lerp_. */
export class WeightEma {
  readonly decay: number;
  private readonly params: [string, Parameter][];
  private readonly avg: Tensor[];
  /** Number of updates so far (0 = no average yet). */
  count = 0;

  constructor(params: Iterable<[string, Parameter]>, decay: number) {
    if (!(decay > 0 && decay < 1)) throw new LrqError(`EMA decay ${decay}: must be in (0, 1)`);
    this.decay = decay;
    this.params = [...params];
    this.avg = this.params.map(([, p]) => new Tensor(p.data.slice(), p.shape));
  }

  /** Fold the current parameters into the average (the first call copies them). */
  update(): void {
    const w = 1 - this.decay;
    this.params.forEach(([, p], i) => {
      const a = this.avg[i]!.data, d = p.data;
      if (this.count === 0) { a.set(d); return; }
      // computed in double, rounded once by the store into the parameter's dtype
      for (let k = 0; k < a.length; k++) a[k] = a[k]! + w * (d[k]! - a[k]!);
    });
    this.count++;
  }

  /** Run fn with the averaged values in the parameters, then restore the live values exactly. */
  withAverage<T>(fn: () => T): T {
    if (this.count === 0) return fn();
    const live = this.params.map(([, p]) => p.data.slice());
    this.apply();
    try {
      return fn();
    } finally {
      this.params.forEach(([, p], i) => p.data.set(live[i]!));
    }
  }

  /** Copy the average into the parameters for good (no-op before the first update). */
  apply(): void {
    if (this.count === 0) return;
    this.params.forEach(([, p], i) => p.data.set(this.avg[i]!.data));
  }

  /** The averaged tensors by parameter path (shared with the EMA: copy before mutating). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.params.map(([k], i) => [k, this.avg[i]!]));
  }

  /** Restore an average saved by stateDict() with its update count. */
  loadStateDict(sd: Map<string, Tensor>, count: number): void {
    this.params.forEach(([k, p], i) => {
      const s = sd.get(k);
      if (!s) throw new LrqError(`EMA state: missing ${k}`);
      if (s.size !== p.size) throw new LrqError(`EMA state ${k}: ${s.size} values, parameter has ${p.size}`);
      this.avg[i]!.data.set(s.data);
    });
    this.count = count;
  }
}
