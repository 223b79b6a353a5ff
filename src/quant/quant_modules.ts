// Fake-quantized conv and linear layers (GDFQ's Quant_Conv2d / Quant_Linear). Each wraps the original
// layer and registers the SAME Parameter objects under the same names, so the student's state dict keys
// equal the teacher's and an optimizer step on the student moves the latent FP weights. Rule: the
// weight range is the per-output-channel min/max of the detached current weight, recomputed every
// forward; the bias stays full precision.

import type { Tensor } from '../engine/tensor.js';
import { Module } from '../nn/module.js';
import { Conv2d, Linear } from '../nn/layers/index.js';
import { checkBits, fakeQuantizeWeight, weightQuantMse } from './fake_quantize.js';

/** Shared behaviour of weight-quantized layers (for listing and toggling). */
export interface WeightQuantized {
  readonly weightBits: number;
  fakeQuantEnabled: boolean;
  /** The latent full-precision weight. */
  readonly weight: Tensor;
  /** The fake-quantized weight used by forward (STE to the latent weight). */
  quantizedWeight(): Tensor;
  /** mean((ŵ − w)²) of the current weight. */
  weightMse(): number;
}

/** y = conv2d(x, fakeQuant_perChannel(W), b) with the wrapped Conv2d's geometry. */
export class QuantConv2d extends Module implements WeightQuantized {
  /** Weight quantization on (false = the FP conv, for comparisons). */
  fakeQuantEnabled = true;

  constructor(readonly conv: Conv2d, readonly weightBits: number) {
    super();
    checkBits(weightBits, 'QuantConv2d');
    this.registerParameter('weight', conv.weight);
    this.registerParameter('bias', conv.bias);
  }
  get weight(): Tensor {
    return this.param('weight')!;
  }
  get bias(): Tensor | null {
    return this.param('bias');
  }
  quantizedWeight(): Tensor {
    return fakeQuantizeWeight(this.weight, this.weightBits);
  }
  weightMse(): number {
    return weightQuantMse(this.weight, this.weightBits);
  }
  override forward(x: Tensor): Tensor {
    return this.conv.convForward(x, this.fakeQuantEnabled ? this.quantizedWeight() : this.weight);
  }
}

/** y = x·fakeQuant_perRow(W)ᵀ + b. */
export class QuantLinear extends Module implements WeightQuantized {
  fakeQuantEnabled = true;

  constructor(readonly linear: Linear, readonly weightBits: number) {
    super();
    checkBits(weightBits, 'QuantLinear');
    this.registerParameter('weight', linear.weight);
    this.registerParameter('bias', linear.bias);
  }
  get weight(): Tensor {
    return this.param('weight')!;
  }
  get bias(): Tensor | null {
    return this.param('bias');
  }
  quantizedWeight(): Tensor {
    return fakeQuantizeWeight(this.weight, this.weightBits);
  }
  weightMse(): number {
    return weightQuantMse(this.weight, this.weightBits);
  }
  override forward(x: Tensor): Tensor {
    return this.linear.linearForward(x, this.fakeQuantEnabled ? this.quantizedWeight() : this.weight);
  }
}
