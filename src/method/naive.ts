// The "naive" zero-shot baseline of the accuracy bench and the end-to-end test: the same bits, activation
// ranges (plain EMA) observed on a few batches of an UNTRAINED generator, no training at all ("quantize and
// hope"). Rule: one definition, so the bench row and the test's lower bound measure the same thing.

import { noGrad } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import type { GraphModule } from '../io/onnx/index.js';
import type { Normalization } from '../io/datasets/index.js';
import { Generator } from '../models/generator.js';
import { prepareQat, setCalibration } from '../quant/prepare.js';
import { makeQConfig } from '../quant/qconfig.js';
import type { RangeMode } from '../quant/observer.js';

export interface NaiveOptions {
  wbits: number;
  abits: number;
  /** Quantization scheme (default paper). */
  scheme?: 'paper' | 'deploy';
  /** Untrained long-range generator (LKA after both upsampled blocks) instead of the GDFQ generator. */
  longRange?: boolean;
  /** Activation range observer (default plain-ema; 'mse' picks each batch's MSE-optimal clipped range). */
  rangeMode?: RangeMode;
  /**
   * The model's input normalization (QConfig.normalization): in the deploy scheme the network-input quantizer
   * is fixed to its pixel range, narrower than an untrained generator's images (ResNet-20: [−2.12, 2.64]
   * against [−5.41, 5.14]). Default: unknown, the input range is observed like the rest.
   */
  normalization?: Normalization;
  /** Calibration batches and their size (default 4 × 64). */
  batches?: number;
  batchSize?: number;
  /** Seeds the generator's initial weights (seed + 7919) and its latents (seed). */
  seed?: number;
  numClasses: number;
  imgSize: number;
  channels: number;
}

/** Fake-quantize `student` in place (eval mode) with ranges from `batches` untrained-generator batches, then freeze. */
export function naiveCalibrate(student: GraphModule, o: NaiveOptions): GraphModule {
  const seed = o.seed ?? 0, n = o.batches ?? 4, bs = o.batchSize ?? 64;
  prepareQat(student, makeQConfig({ weightBits: o.wbits, actBits: o.abits, rangeMode: o.rangeMode ?? 'plain-ema', scheme: o.scheme ?? 'paper', normalization: o.normalization ?? null }));
  student.eval();
  const g = new Generator({
    numClasses: o.numClasses, latentDim: 100, imgSize: o.imgSize, channels: o.channels,
    lkaPositions: o.longRange ? ['after_block1', 'after_block2'] : [], rng: new Rng(seed + 7919),
  });
  g.train(); // batch statistics in the generator's BNs, as in the first iterations of a run
  const rng = new Rng(seed);
  noGrad(() => {
    for (let i = 0; i < n; i++) student.forward(g.forward(rng.normal([bs, 100]), rng.integers(0, o.numClasses, bs)));
  });
  setCalibration(student, false);
  return student;
}
