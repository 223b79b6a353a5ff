// One process, one model: times the LRQ iteration of bench/engine/workloads.ts (lrqStep) on a full-size
// ImageNet classifier and prints one JSON line {workload, ours_ms, peak_rss_mb}. run.ts spawns it per
// model, so the peak RSS is this step's alone (not the other workloads'), as the PyTorch twin's is.
// Run: node --import tsx bench/engine/lrq_step_224.ts --model bench/fixtures/fullsize/resnet18.onnx --batch 16
// (--iters N, --warmup N; LRQ_MEMTRACE=1 prints memory after each half-step on stderr).

import { basename } from 'node:path';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}
const model = arg('model', '');
const batch = Number(arg('batch', '16'));
const iters = Number(arg('iters', '3'));
const warmup = Number(arg('warmup', '1'));
await import('../../src/engine/ops/registerBackends.js');
const { lrqStep } = await import('./workloads.js');

const { loadNative } = await import('../../src/engine/backends/onednn/native.js');
const nat = loadNative();
const mb = (b: number): string => (b / 1e6).toFixed(0);
const trace = process.env['LRQ_MEMTRACE'] ? (phase: string): void => {
  const m = process.memoryUsage();
  const p = nat?.poolStats();
  process.stderr.write(`${phase}: rss ${mb(m.rss)} MB, maxrss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, heap ${mb(m.heapUsed)}, arrayBuffers ${mb(m.arrayBuffers)}` +
    (p ? `, pool live ${p.liveMB.toFixed(0)} peak ${p.peakLiveMB.toFixed(0)} free ${p.heldMB.toFixed(0)} MiB` : '') + '\n');
  nat?.resetPeak();
} : undefined;
const step = lrqStep(batch, model, trace);
for (let k = 0; k < warmup; k++) step();
const times: number[] = [];
for (let k = 0; k < iters; k++) {
  const t0 = process.hrtime.bigint();
  step();
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const m = times.length >> 1;
const ms = times.length % 2 ? times[m]! : (times[m - 1]! + times[m]!) / 2;
process.stdout.write(JSON.stringify({ workload: `lrq_step_${basename(model, '.onnx')}_224`, ours_ms: ms, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), batch, iters }) + '\n');
