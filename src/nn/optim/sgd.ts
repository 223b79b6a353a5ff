// SGD with momentum, dampening, Nesterov and L2 weight decay, exactly torch.optim.SGD (single-tensor
// path): d = g + wd·p; buf = d on the first step, else μ·buf + (1−dampening)·d; Nesterov d = d + μ·buf,
// else d = buf; p −= lr·d. Each stage rounds to the parameter's dtype (Math.fround for float32) as torch does.

import { Tensor } from '../../engine/tensor.js';
import { LrqError } from '../../engine/errors.js';
import { Optimizer, type ParamsArg } from './optimizer.js';

export interface SgdOptions {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

/** torch.optim.SGD. */
export class SGD extends Optimizer<SgdOptions> {
  /** Scratch for the update direction d, reused across parameters and steps (a fresh array per parameter per step cost ≈ 1% of a training step). */
  private scratch = new Float64Array(0);

  constructor(params: ParamsArg<SgdOptions>, opts: Partial<SgdOptions> & { lr: number }) {
    const defaults: SgdOptions = { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...opts };
    if (defaults.nesterov && (defaults.momentum <= 0 || defaults.dampening !== 0)) {
      throw new LrqError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
    if (defaults.lr < 0) throw new LrqError(`SGD: invalid learning rate ${defaults.lr}`);
    super(params, defaults);
  }

  override step(): void {
    for (const g of this.paramGroups) {
      const { lr, momentum: mu, dampening, nesterov, weightDecay: wd } = g;
      for (const p of g.params) {
        if (!p.grad) continue;
        const r = p.data instanceof Float32Array ? Math.fround : (v: number) => v;
        const pd = p.data, gd = p.grad.data;
        if (this.scratch.length < pd.length) this.scratch = new Float64Array(pd.length);
        const d = this.scratch.subarray(0, pd.length);
        for (let i = 0; i < d.length; i++) d[i] = wd !== 0 ? r(gd[i]! + wd * pd[i]!) : gd[i]!;
        if (mu !== 0) {
          let st = this.state.get(p);
          if (!st) {
            st = {};
            this.state.set(p, st);
          }
          let buf = st['momentum_buffer'] as Tensor | undefined;
          if (!buf) {
            // torch: buf = clone(d) on the first step (no dampening applied).
            buf = new Tensor(pd.slice(), p.shape);
            for (let i = 0; i < d.length; i++) buf.data[i] = d[i]!;
            st['momentum_buffer'] = buf;
          } else {
            const bd = buf.data;
            for (let i = 0; i < d.length; i++) bd[i] = r(r(mu * bd[i]!) + (1 - dampening) * d[i]!);
          }
          const bd = buf.data;
          if (nesterov) for (let i = 0; i < d.length; i++) d[i] = r(d[i]! + mu * bd[i]!);
          else for (let i = 0; i < d.length; i++) d[i] = bd[i]!;
        }
        for (let i = 0; i < d.length; i++) pd[i] = pd[i]! - lr * d[i]!;
      }
    }
  }
}
