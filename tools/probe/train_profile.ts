// Per-kernel profile of the LRQ training step (generator step + student step, W4A4, batch 64, LKA
// generator): one generator-only warm-up epoch untimed, then IT timed iterations with the student training.
// Run: node --import tsx tools/probe/train_profile.ts (IT=iterations, default 8; BATCH, default 64).
import { rmSync, mkdirSync } from 'node:fs';
import { instrumentBackend } from '../../bench/engine/kernel_timer.js';
import { Rng } from '../../src/engine/random.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { Generator } from '../../src/models/generator.js';
import { prepareQat } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { resolveConfig } from '../../src/method/config.js';
import { train } from '../../src/method/train.js';
import { Progress, type ProgressState } from '../../src/method/progress.js';

const M = new URL('../../../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx', import.meta.url).pathname;
const out = '/tmp/trainprofile';
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
const it = Number(process.env.IT ?? 8);
const cfg = resolveConfig({ model: M, out, preset: 'fast', epochs: 2, itersPerEpoch: it, batchSize: Number(process.env.BATCH ?? 64), warmupEpochs: 1, calibEpochs: 1, rangeMode: 'plain-ema', progress: false });
const timer = instrumentBackend();
let t0 = 0;
class TimingProgress extends Progress {
  override update(s: ProgressState): void {
    if (s.epoch === 0 && s.iter === s.iters - 1) { timer.timing = true; t0 = performance.now(); }
  }
}
const teacher = loadOnnx(M);
const student = loadOnnx(M);
prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, rangeMode: 'plain-ema' }));
const generator = new Generator({ numClasses: 10, latentDim: 100, imgSize: 32, channels: 3, lkaPositions: ['after_block1', 'after_block2'], rng: new Rng(1) });
train({ cfg, teacher, student, generator, calibSet: null, evalSet: null, runDir: out, numClasses: 10, progress: new TimingProgress(process.stderr, false) });
// the epoch-end checkpoint is inside the timed window; it is one write, reported among "outside kernels"
timer.report(`LRQ train step (batch ${cfg.batchSize})`, (performance.now() - t0) / it, it, 40);
