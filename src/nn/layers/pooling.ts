// Pooling and resampling modules over NCHW input (torch.nn names and defaults).

import { Module } from '../module.js';
import { Tensor } from '../../engine/tensor.js';
import { avgPool2d, globalAvgPool, maxPool2d, upsampleNearest } from '../../engine/ops/index.js';

/** Nearest-neighbour upsampling by an integer factor: y[n,c,i,j] = x[n,c,⌊i/s⌋,⌊j/s⌋]. */
export class Upsample extends Module {
  constructor(public scaleFactor = 2) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return upsampleNearest(x, this.scaleFactor);
  }
}

/** Mean over k×k windows (stride defaults to k; zero padding counted in the divisor by default). */
export class AvgPool2d extends Module {
  constructor(public kernelSize: number, public stride = kernelSize, public padding = 0, public countIncludePad = true) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.stride, this.padding, this.countIncludePad);
  }
}

/** Mean over all spatial positions: [N, C, H, W] → [N, C, 1, 1] (AdaptiveAvgPool2d(1)). */
export class GlobalAvgPool extends Module {
  override forward(x: Tensor): Tensor {
    return globalAvgPool(x);
  }
}

/** Max over k×k windows (stride defaults to k). */
export class MaxPool2d extends Module {
  constructor(public kernelSize: number, public stride = kernelSize, public padding = 0) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.stride, this.padding);
  }
}
