// Stateless activation modules (torch.nn names). Separate modules, not functions, so quantization can
// find and swap them (e.g. ReLU → ReLU followed by an activation fake-quantizer).

import { Module } from '../module.js';
import { Tensor } from '../../engine/tensor.js';
import { gelu, leakyRelu, relu, relu6, tanh, sigmoid } from '../../engine/ops/index.js';

/** y = max(x, 0). */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** y = min(max(x, 0), 6). */
export class ReLU6 extends Module {
  override forward(x: Tensor): Tensor {
    return relu6(x);
  }
}

/** y = x for x ≥ 0, slope·x otherwise. */
export class LeakyReLU extends Module {
  constructor(public negativeSlope = 0.01) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
}

/** y = tanh(x). */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** y = 1/(1 + e^−x). */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** y = x·Φ(x) = x·(1 + erf(x/√2))/2 (exact erf form, torch's default). */
export class GELU extends Module {
  override forward(x: Tensor): Tensor {
    return gelu(x);
  }
}
