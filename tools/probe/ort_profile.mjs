// Probe: onnxruntime per-op-type time of a model at batch B (2 threads), from its built-in profiler.
import * as ort from 'onnxruntime-node';
import { readFileSync, unlinkSync } from 'node:fs';
const f = process.argv[2], B = Number(process.env.B ?? 64), shape = (process.env.SHAPE ?? '3,32,32').split(',').map(Number);
const s = await ort.InferenceSession.create(f, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: '/tmp/ortprof' });
const x = new ort.Tensor('float32', new Float32Array(B * shape.reduce((a, b) => a * b, 1)).map(() => Math.random()), [B, ...shape]);
for (let i = 0; i < 20; i++) await s.run({ [s.inputNames[0]]: x });
await s.release();
const { readdirSync } = await import('node:fs');
const file = '/tmp/' + readdirSync('/tmp').filter((n) => n.startsWith('ortprof') && n.endsWith('.json')).sort().pop();
const ev = JSON.parse(readFileSync(file, 'utf8'));
const by = new Map();
for (const e of ev) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) { const op = e.args.op_name; by.set(op, (by.get(op) ?? 0) + e.dur); }
const tot = [...by.values()].reduce((a, b) => a + b, 0);
for (const [op, d] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(op.padEnd(28), (d / 20 / 1000).toFixed(2), 'ms/run', ((100 * d) / tot).toFixed(1) + '%');
unlinkSync(file);
