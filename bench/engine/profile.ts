// `node --import tsx bench/engine/profile.ts <workload> [iters]`: per-kernel time breakdown of one engine
// workload. Wraps every method of the active backend with a timer keyed by kernel name (plus the conv
// geometry for convolutions), runs the workload, and prints kernels by total time and the share of the
// step spent outside kernels (JS glue: autograd, allocation).

import { availableParallelism } from 'node:os';

process.env['LRQ_THREADS'] ??= String(availableParallelism());
const { instrumentBackend } = await import('./kernel_timer.js');
await import('../../src/engine/ops/registerBackends.js');
const { workloads } = await import('./workloads.js');

const name = process.argv[2] ?? 'resnet20_fwdbwd';
const iters = Number(process.argv[3] ?? '5');
const w = workloads(Number(process.env['BENCH_BATCH'] ?? '32')).find((x) => x.name === name);
if (!w) throw new Error(`unknown workload ${name}`);

const timer = instrumentBackend();

for (let i = 0; i < 3; i++) w.step();
timer.timing = true;
const t0 = performance.now();
for (let i = 0; i < iters; i++) w.step();
timer.report(name, (performance.now() - t0) / iters, iters);
const { loadNative } = await import('../../src/engine/backends/onednn/native.js');
const nat = loadNative();
if (nat) console.log('output-buffer pool:', nat.poolStats());
