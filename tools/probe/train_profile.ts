// Per-kernel profile of the LRQ training step (generator step + student step, W4A4, batch 64, LKA
// generator): one generator-only warm-up epoch untimed, then IT timed iterations with the student training.
// Run: node --import tsx tools/probe/train_profile.ts (IT=iterations, default 8; BATCH, default 64).
import { instrumentBackend } from '../../bench/engine/kernel_timer.js';
import { Progress, type ProgressState } from '../../src/method/progress.js';
import { tinyRun } from './tiny_run.js';

const it = Number(process.env.IT ?? 8);
const timer = instrumentBackend();
let t0 = 0;
class TimingProgress extends Progress {
  override update(s: ProgressState): void {
    if (s.epoch === 0 && s.iter === s.iters - 1) { timer.timing = true; t0 = performance.now(); }
  }
}
const cfg = await tinyRun('/tmp/trainprofile', { epochs: 2, itersPerEpoch: it, batchSize: Number(process.env.BATCH ?? 64), warmupEpochs: 1, calibEpochs: 1 }, new TimingProgress(process.stderr, false));
// the epoch-end checkpoint is inside the timed window; it is one write, reported among "outside kernels"
timer.report(`LRQ train step (batch ${cfg.batchSize})`, (performance.now() - t0) / it, it, 40);
const { loadNative } = await import('../../src/engine/backends/onednn/native.js');
const nat = loadNative();
if (nat) console.log('output-buffer pool:', nat.poolStats());
