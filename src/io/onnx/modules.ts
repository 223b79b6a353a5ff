// Small modules the ONNX importer needs that nn does not define under a PyTorch name: a clamp
// activation for Clip nodes with bounds other than (0, 6). Rule: swappable like any nn activation.

import { Module } from '../../nn/module.js';
import type { Tensor } from '../../engine/tensor.js';
import { clamp } from '../../engine/ops/index.js';

/** y = min(max(x, lo), hi) (ONNX Clip with constant bounds; torch.clamp / nn.Hardtanh). */
export class Clamp extends Module {
  constructor(readonly lo: number, readonly hi: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return clamp(x, this.lo, this.hi);
  }
}
