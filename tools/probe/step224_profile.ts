// Per-kernel time breakdown of the 224² LRQ step (bench/engine/lrq_step_224.ts's workload): where a
// full-size step's time goes. Measurement only. Run: LRQ_THREADS=2 node --import tsx
// tools/probe/step224_profile.ts bench/fixtures/fullsize/resnet18.onnx [batch=4] [iters=1]
import { basename } from 'node:path';

const model = process.argv[2] ?? 'bench/fixtures/fullsize/resnet18.onnx';
const batch = Number(process.argv[3] ?? '4');
const iters = Number(process.argv[4] ?? '1');
const { instrumentBackend } = await import('../../bench/engine/kernel_timer.js');
await import('../../src/engine/ops/registerBackends.js');
const { lrqStep } = await import('../../bench/engine/workloads.js');
const timer = instrumentBackend();
const step = lrqStep(batch, model);
step();
timer.timing = true;
const t0 = performance.now();
for (let i = 0; i < iters; i++) step();
timer.report(`${basename(model)} batch ${batch}`, (performance.now() - t0) / iters, iters, 25);
