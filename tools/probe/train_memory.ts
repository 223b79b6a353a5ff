// Memory probe for the training loop: prints RSS, JS heap, external and ArrayBuffer memory (after a forced
// GC) every 20 iterations of a small LRQ run. Run: node --expose-gc --import tsx tools/probe/train_memory.ts
// (IT=iterations per epoch, default 60; LRQ_POOL_MB=0 disables the addon's buffer pool).
import { Progress, type ProgressState } from '../../src/method/progress.js';
import { tinyRun } from './tiny_run.js';

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
await tinyRun('/tmp/memprobe', { epochs: 3, itersPerEpoch: Number(process.env.IT ?? 60), batchSize: 32, warmupEpochs: 1, calibEpochs: 1 }, new MemProgress(process.stderr, false));
