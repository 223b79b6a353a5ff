// Linear with PyTorch's parameter names (weight [out, in], bias [out]) and default init. Public
// attributes so quantized subclasses can override `forward` with a fake-quantized weight.

import { Parameter } from '../module.js';
import { WeightedModule } from './weighted.js';
import { Tensor } from '../../engine/tensor.js';
import { linear } from '../../engine/ops/index.js';
import { defaultBias, defaultRng, kaimingUniform } from '../init.js';
import type { InitOptions } from './common.js';

export interface LinearOpts extends InitOptions {
  bias?: boolean;
}

/** y = x·Wᵀ + b; W ~ kaiming_uniform(a=√5) = U(±1/√in), b ~ U(±1/√in). */
export class Linear extends WeightedModule {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOpts = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = opts.rng ?? defaultRng();
    this.registerParameter('weight', new Parameter(kaimingUniform(rng, [outFeatures, inFeatures], Math.sqrt(5), opts.dtype)));
    this.registerParameter('bias', (opts.bias ?? true) ? new Parameter(defaultBias(rng, outFeatures, inFeatures, opts.dtype)) : null);
  }

  /** x·weightᵀ + bias with a given weight (and optionally a given bias), for fake-quantized subclasses. */
  linearForward(x: Tensor, weight: Tensor, bias: Tensor | null = this.bias): Tensor {
    return linear(x, weight, bias);
  }

  override forward(x: Tensor): Tensor {
    return this.linearForward(x, this.weight);
  }
}
