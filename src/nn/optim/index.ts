// Barrel of the optimizers and LR schedules.

export * from './optimizer.js';
export * from './sgd.js';
export * from './adam.js';
export * from './lr_scheduler.js';
export * from './ema.js';
