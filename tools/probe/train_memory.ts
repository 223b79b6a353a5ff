// Memory probe for the training loop: prints RSS, JS heap, external and ArrayBuffer memory (after a forced
// GC) every 20 iterations of a small LRQ run. Run: node --expose-gc --import tsx tools/probe/train_memory.ts
// (IT=iterations per epoch, default 60; LRQ_POOL_MB=0 disables the addon's buffer pool).
import { rmSync, mkdirSync } from 'node:fs';
import { Rng } from '../../src/engine/random.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { Generator } from '../../src/models/generator.js';
import { prepareQat } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { resolveConfig } from '../../src/method/config.js';
import { train } from '../../src/method/train.js';
import { Progress, type ProgressState } from '../../src/method/progress.js';
const M = new URL('../../../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx', import.meta.url).pathname;
const out = '/tmp/memprobe';
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
const cfg = resolveConfig({ model: M, out, preset: 'fast', epochs: 3, itersPerEpoch: Number(process.env.IT ?? 60), batchSize: 32, warmupEpochs: 1, calibEpochs: 1, rangeMode: 'plain-ema', progress: false });
class MemProgress extends Progress {
  n = 0;
  override update(s: ProgressState): void {
    if (this.n++ % 20 === 0) {
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      console.log(`it ${this.n} rss ${(m.rss / 1e6).toFixed(0)} heap ${(m.heapUsed / 1e6).toFixed(0)} ext ${(m.external / 1e6).toFixed(0)} ab ${(m.arrayBuffers / 1e6).toFixed(0)}`);
    }
  }
}
const teacher = loadOnnx(M);
const student = loadOnnx(M);
prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, rangeMode: 'plain-ema' }));
const generator = new Generator({ numClasses: 10, latentDim: 100, imgSize: 32, channels: 3, lkaPositions: ['after_block1', 'after_block2'], rng: new Rng(1) });
train({ cfg, teacher, student, generator, calibSet: null, evalSet: null, runDir: out, numClasses: 10, progress: new MemProgress(process.stderr, false) });
