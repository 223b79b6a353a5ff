// Barrel of the models: CIFAR ResNet, LKA, GDFQ generator and LRQ's long-range generator.

export * from './resnet_cifar.js';
export * from './lka.js';
export * from './generator.js';
