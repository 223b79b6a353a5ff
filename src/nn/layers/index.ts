// Barrel of the nn layers.

export * from './common.js';
export * from './weighted.js';
export * from './conv.js';
export * from './linear.js';
export * from './batchnorm.js';
export * from './embedding.js';
export * from './activation.js';
export * from './pooling.js';
export * from './shape.js';
