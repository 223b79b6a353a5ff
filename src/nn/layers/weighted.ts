// Base of the layers that hold a `weight` and an optional `bias` parameter (Conv2d, Linear). Rule: the
// accessors always go through the module's parameter registry, so re-registering (as quantization and
// state loading do) can never leave a stale field behind.

import { Module, Parameter } from '../module.js';

/** A module with parameters `weight` and `bias` (bias may be null). */
export abstract class WeightedModule extends Module {
  /** weight (registered parameter; the getter always reads the registry, so re-registering is safe). */
  get weight(): Parameter {
    return this.param('weight')!;
  }
  set weight(p: Parameter) {
    this.registerParameter('weight', p);
  }
  /** bias, or null when built with bias=false. */
  get bias(): Parameter | null {
    return this.param('bias');
  }
  set bias(p: Parameter | null) {
    this.registerParameter('bias', p);
  }
}
