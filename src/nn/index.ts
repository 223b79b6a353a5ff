// Barrel of the nn package: Module core, layers, init, optimizers and LR schedules.

export * from './module.js';
export * from './layers/index.js';
export * from './init.js';
export * from './optim/index.js';
