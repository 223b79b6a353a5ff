// `node --import tsx bench/engine/profile.ts <workload> [iters]`: per-kernel time breakdown of one engine
// workload. Wraps every method of the active backend with a timer keyed by kernel name (plus the conv
// geometry for convolutions), runs the workload, and prints kernels by total time and the share of the
// step spent outside kernels (JS glue: autograd, allocation).

import { availableParallelism } from 'node:os';

process.env['LRQ_THREADS'] ??= String(availableParallelism());
const { backend } = await import('../../src/engine/backend.js');
await import('../../src/engine/ops/registerBackends.js');
const { workloads } = await import('./workloads.js');

const name = process.argv[2] ?? 'resnet20_fwdbwd';
const iters = Number(process.argv[3] ?? '5');
const w = workloads(Number(process.env['BENCH_BATCH'] ?? '32')).find((x) => x.name === name);
if (!w) throw new Error(`unknown workload ${name}`);

const be = backend() as unknown as Record<string, unknown>;
const stats = new Map<string, { ms: number; calls: number }>();
let timing = false;
for (const [k, v] of Object.entries(be)) {
  if (typeof v !== 'function' || k === 'threads') continue;
  const f = v as (...a: unknown[]) => unknown;
  be[k] = (...a: unknown[]): unknown => {
    if (!timing) return f(...a);
    const t0 = performance.now();
    const r = f(...a);
    const dt = performance.now() - t0;
    let key = k;
    const g = a.find((x) => x && typeof x === 'object' && 'kh' in (x as object)) as Record<string, number> | undefined;
    if (g) key += ` ${g['n']}x${g['c']}x${g['h']}x${g['w']}→${g['oc']} k${g['kh']} s${g['strideH']} d${g['dilH']} g${g['groups']}`;
    else if (typeof a[0] === 'string') key += ` ${a[0]}`;
    const s = stats.get(key) ?? { ms: 0, calls: 0 };
    s.ms += dt;
    s.calls++;
    stats.set(key, s);
    return r;
  };
}

for (let i = 0; i < 3; i++) w.step();
timing = true;
const t0 = performance.now();
for (let i = 0; i < iters; i++) w.step();
const total = (performance.now() - t0) / iters;
const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
let inKernels = 0;
for (const [, s] of rows) inKernels += s.ms / iters;
console.log(`${name}: ${total.toFixed(1)} ms/step, kernels ${inKernels.toFixed(1)} ms, outside kernels ${(total - inKernels).toFixed(1)} ms`);
for (const [k, s] of rows.slice(0, 30)) console.log(`${(s.ms / iters).toFixed(2).padStart(8)} ms  ${String(s.calls / iters).padStart(4)}×  ${k}`);
const { loadNative } = await import('../../src/engine/backends/onednn/native.js');
const nat = loadNative() as unknown as { poolStats?: () => object } | null;
if (nat?.poolStats) console.log('output-buffer pool:', nat.poolStats());
