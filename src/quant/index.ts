// Barrel of the quantization package (torch.ao.quantization vocabulary): observers, fake-quant modules,
// qconfig, prepareQat and its helpers.

export * from './observer.js';
export * from './fake_quantize.js';
export * from './quant_modules.js';
export * from './qconfig.js';
export * from './prepare.js';
