// The functional ops API of the engine (one file per family, each op's backward beside its forward).
// Importing this module registers the backends.

import './registerBackends.js';
export { add, sub, mul, div, maximum, minimum, pow } from './binary.js';
export { broadcastShapes, sumToShape } from './broadcast.js';
export { relu, relu6, clamp, leakyRelu, elu, tanh, sigmoid, gelu, exp, log, sqrt, abs, cos, sin, neg, square } from './unary.js';
export { sum, mean, variance, amax } from './reduce.js';
export { reshape, flatten, unsqueeze, squeeze, permute, transpose, slice, pad, concat } from './shape.js';
export { conv2d, conv2dGeom, type Conv2dOptions } from './conv.js';
export { linear, matmul } from './linear.js';
export { batchNorm, batchStats } from './norm.js';
export { avgPool2d, maxPool2d, globalAvgPool, upsampleNearest } from './pool.js';
export { softmax, logSoftmax, logsumexp } from './softmax.js';
export { crossEntropy, klDiv, type Reduction } from './loss.js';
export { round, roundSTE, fakeQuantize } from './quant.js';
export { embedding } from './embedding.js';
