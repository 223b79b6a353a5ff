// Options every parameterized layer accepts: the generator its initial values are drawn from and the
// storage dtype (float64 only for gradient checks).

import type { Rng } from '../../engine/random.js';
import type { DType } from '../../engine/dtype.js';

/** Construction options shared by layers with parameters. */
export interface InitOptions {
  /** Generator for the initial weights (defaults to the process-wide `defaultRng()`). */
  rng?: Rng;
  /** Storage dtype of parameters and buffers (default float32). */
  dtype?: DType;
}
