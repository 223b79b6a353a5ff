// The engine barrel: Tensor and constructors, grad-mode switches, every op, the RNG, gradcheck and the
// backend registry. Importing it registers both backends (reference always; onednn when its addon loads).

import './backends/reference/index.js';
import './backends/onednn/index.js';
export { Tensor, tensor, zeros, ones, full, scalar, noGrad, enableGrad, isGradEnabled, result, type Node } from './tensor.js';
export { type DType, type Data, alloc, allocLike, numel, stridesOf, fmtShape, dtypeOf } from './dtype.js';
export { LrqError, ShapeError } from './errors.js';
export { backend, setBackend, availableBackends, registerBackend, type Backend, type Conv2dGeom, type Pool2dGeom } from './backend.js';
export { referenceBackend } from './backends/reference/index.js';
export * from './ops/index.js';
export { Rng, type RngState } from './random.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
