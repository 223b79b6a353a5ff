// Conv2d with PyTorch's parameter names (weight [out, in/groups, kh, kw], bias [out]) and default
// init. Attributes are public so quantized subclasses (QuantConv2d) can override `forward` and call
// `convForward(x, w)` with a fake-quantized weight.

import { Parameter } from '../module.js';
import { WeightedModule } from './weighted.js';
import { Tensor } from '../../engine/tensor.js';
import { conv2d } from '../../engine/ops/index.js';
import { LrqError } from '../../engine/errors.js';
import { defaultBias, defaultRng, kaimingUniform, fans } from '../init.js';
import type { InitOptions } from './common.js';

export interface Conv2dOpts extends InitOptions {
  stride?: number | [number, number];
  padding?: number | [number, number] | [number, number, number, number];
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

/** y = conv2d(x, W, b) over NCHW input; W ~ kaiming_uniform(a=√5), b ~ U(±1/√fan_in). */
export class Conv2d extends WeightedModule {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  stride: number | [number, number];
  padding: number | [number, number] | [number, number, number, number];
  dilation: number | [number, number];
  groups: number;

  constructor(inChannels: number, outChannels: number, kernel: number | [number, number], opts: Conv2dOpts = {}) {
    super();
    const groups = opts.groups ?? 1;
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new LrqError(`Conv2d: channels ${inChannels}→${outChannels} not divisible by groups=${groups}`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = groups;
    const rng = opts.rng ?? defaultRng();
    const shape = [outChannels, inChannels / groups, ...this.kernelSize];
    this.registerParameter('weight', new Parameter(kaimingUniform(rng, shape, Math.sqrt(5), opts.dtype)));
    this.registerParameter('bias', (opts.bias ?? true) ? new Parameter(defaultBias(rng, outChannels, fans(shape).fanIn, opts.dtype)) : null);
  }

  /** The convolution of x with a given weight (and this layer's bias unless one is given, and its geometry). */
  convForward(x: Tensor, weight: Tensor, bias: Tensor | null = this.bias): Tensor {
    return conv2d(x, weight, bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override forward(x: Tensor): Tensor {
    return this.convForward(x, this.weight);
  }
}
