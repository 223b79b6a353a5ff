// Shape-only modules: Flatten and Identity.

import { Module } from '../module.js';
import { Tensor } from '../../engine/tensor.js';
import { flatten } from '../../engine/ops/index.js';

/** Collapse dims startDim… into one: [N, C, H, W] → [N, C·H·W] by default. */
export class Flatten extends Module {
  constructor(public startDim = 1) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return flatten(x, this.startDim);
  }
}

/** y = x. */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}
