// Fake-quantized conv and linear layers (GDFQ's Quant_Conv2d / Quant_Linear). Each wraps the original
// layer and registers the SAME Parameter objects under the same names, so the student's state dict keys
// equal the teacher's and an optimizer step on the student moves the latent FP weights. Rule: the
// weight range is the per-output-channel min/max of the detached current weight, recomputed every
// forward; the bias stays full precision.

import { Tensor, noGrad } from '../engine/tensor.js';
import { add, fakeQuantize } from '../engine/ops/index.js';
import { gdfqGrid } from '../io/onnx_export/spec.js';
import { Module } from '../nn/module.js';
import { LrqError } from '../engine/errors.js';
import { Conv2d, Linear } from '../nn/layers/index.js';
import { ActFakeQuant, checkBits, weightQuantMse, weightRanges, type WeightGrid } from './fake_quantize.js';

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

/**
 * The common body of weight-quantized layers: registers the wrapped layer's weight and bias Parameters
 * under their own names and fake-quantizes the weight per output channel (row) on demand.
 */
abstract class WeightQuantizedLayer extends Module implements WeightQuantized {
  /** Weight quantization on (false = the FP layer, for comparisons). */
  fakeQuantEnabled = true;

  constructor(layer: { weight: Tensor; bias: Tensor | null }, readonly weightBits: number, kind: string, readonly grid: WeightGrid = 'asymmetric') {
    super();
    checkBits(weightBits, kind);
    this.registerParameter('weight', layer.weight);
    this.registerParameter('bias', layer.bias);
  }
  get weight(): Tensor {
    return this.param('weight')!;
  }
  get bias(): Tensor | null {
    return this.param('bias');
  }
  /** ŵ = fakeQuant_perRow(W) (STE to W) on the given (default: current) ranges; forward reads the weight through this method (AdaRound replaces it). */
  quantizedWeight(r = this.ranges()): Tensor {
    return fakeQuantize(this.weight, r.lo, r.hi, this.weightBits, true);
  }
  /** mean((ŵ − W)²). */
  weightMse(): number {
    return weightQuantMse(this.weight, this.weightBits, this.grid);
  }
  /** The per-channel [lo, hi] the current weight is quantized with (what the export must use). */
  ranges(): { lo: Float32Array; hi: Float32Array } {
    return weightRanges(this.weight, this.weightBits, this.grid);
  }
  /**
   * Deploy scheme: the quantizer of this layer's input. Integer kernels add the bias as int32 codes at scale
   * s_x·s_w, so forward uses b̂ = round(b/(s_x·s_w))·s_x·s_w (STE), with the exporter's float32 arithmetic.
   */
  inputQuantizer: ActFakeQuant | null = null;

  /** The weight and bias forward uses: (ŵ, b or its int32-grid value), or (W, b) with fake quantization off; one range computation for both. */
  protected effectiveParams(): { w: Tensor; b: Tensor | null } {
    if (!this.fakeQuantEnabled) return { w: this.weight, b: this.bias };
    const r = this.ranges();
    return { w: this.quantizedWeight(r), b: this.biasOnGrid(r) };
  }

  /** b, or b̂ on the int32 grid of s_x·s_w[c] when the input quantizer is known and on. */
  private biasOnGrid(r: { lo: Float32Array; hi: Float32Array }): Tensor | null {
    const b = this.bias;
    const aq = this.inputQuantizer;
    if (!b || !aq || !aq.fakeQuantEnabled) return b;
    const [lo, hi] = aq.range();
    const sx = Math.fround(1 / gdfqGrid(lo, hi, aq.bits).s);
    const delta = new Float32Array(b.size);
    for (let c = 0; c < b.size; c++) {
      const sw = Math.fround(1 / gdfqGrid(r.lo[c]!, r.hi[c]!, this.weightBits).s);
      const sb = Math.fround(sx * sw);
      delta[c] = Math.fround(Math.round(b.data[c]! / sb) * sb) - b.data[c]!;
    }
    return add(b, noGrad(() => new Tensor(delta, [b.size])));
  }
}

/** y = conv2d(x, fakeQuant_perChannel(W), b) with the wrapped Conv2d's geometry. */
export class QuantConv2d extends WeightQuantizedLayer {
  constructor(readonly conv: Conv2d, weightBits: number, grid: WeightGrid = 'asymmetric') {
    super(conv, weightBits, 'QuantConv2d', grid);
  }
  override forward(x: Tensor): Tensor {
    const { w, b } = this.effectiveParams();
    return this.conv.convForward(x, w, b);
  }
}

/** y = x·fakeQuant_perRow(W)ᵀ + b. */
export class QuantLinear extends WeightQuantizedLayer {
  constructor(readonly linear: Linear, weightBits: number, grid: WeightGrid = 'asymmetric') {
    super(linear, weightBits, 'QuantLinear', grid);
  }
  override forward(x: Tensor): Tensor {
    const { w, b } = this.effectiveParams();
    return this.linear.linearForward(x, w, b);
  }
}

/** Throw when `model` already holds fake-quant modules (a student prepared twice would quantize twice). */
export function assertNotPrepared(model: Module, who: string): void {
  if ([...model.namedModules()].some(([, m]) => m instanceof QuantConv2d || m instanceof QuantLinear || m instanceof ActFakeQuant)) {
    throw new LrqError(`${who}: the model is already fake-quantized`);
  }
}
