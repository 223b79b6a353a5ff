// Barrel of the method's losses: BNS (generator), AMA (generator CE), KD and DKD (student).

export * from './bns.js';
export * from './ama.js';
export * from './kd.js';
export * from './dkd.js';
export { checkLabels, oneHot } from './labels.js';
