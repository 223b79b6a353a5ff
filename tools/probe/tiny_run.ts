// Shared set-up of the training-loop probes (train_memory.ts, train_profile.ts): the staged ResNet-20 as
// teacher, a W4A4 fake-quantized copy as student (plain-EMA ranges), the long-range generator, and a
// `fast`-preset config with the probe's overrides, writing into a fresh scratch directory.
import { rmSync, mkdirSync } from 'node:fs';
import { Rng } from '../../src/engine/random.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { Generator } from '../../src/models/generator.js';
import { prepareQat } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { resolveConfig, type QuantizeConfig } from '../../src/method/config.js';
import { train } from '../../src/method/train.js';
import type { Progress } from '../../src/method/progress.js';

const M = new URL('../../../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx', import.meta.url).pathname;

/** Run train() on generator data only (no eval set) with the fast preset overridden by `over`. */
export async function tinyRun(out: string, over: Partial<QuantizeConfig>, progress: Progress): Promise<QuantizeConfig> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  const cfg = resolveConfig({ model: M, out, preset: 'fast', rangeMode: 'plain-ema', progress: false, ...over });
  const teacher = loadOnnx(M);
  const student = loadOnnx(M);
  prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, rangeMode: 'plain-ema' }));
  const generator = new Generator({ numClasses: 10, latentDim: 100, imgSize: 32, channels: 3, lkaPositions: ['after_block1', 'after_block2'], rng: new Rng(1) });
  await train({ cfg, teacher, student, generator, calibSet: null, evalSet: null, runDir: out, numClasses: 10, progress });
  return cfg;
}
