// Probe: onnxruntime per-node time of a model at batch B (2 threads, level `all`), from its profiler; prints the
// top nodes with op type, and totals for QLinearConv split by group (depthwise vs dense).
// Usage: B=64 node tools/probe/ort_profile_nodes.mjs model.onnx [top]
import * as ort from 'onnxruntime-node';
import { readFileSync, unlinkSync, readdirSync } from 'node:fs';
const f = process.argv[2], top = Number(process.argv[3] ?? 25), B = Number(process.env.B ?? 64), R = Number(process.env.R ?? 20);
const s = await ort.InferenceSession.create(f, { intraOpNumThreads: Number(process.env.THREADS ?? 2), interOpNumThreads: 1, graphOptimizationLevel: process.env.LEVEL ?? 'all', enableProfiling: true, profileFilePrefix: '/tmp/ortprofn' });
const x = new ort.Tensor('float32', new Float32Array(B * 3 * 32 * 32).map(() => Math.random()), [B, 3, 32, 32]);
for (let i = 0; i < R; i++) await s.run({ [s.inputNames[0]]: x });
await s.release();
const file = '/tmp/' + readdirSync('/tmp').filter((n) => n.startsWith('ortprofn') && n.endsWith('.json')).sort().pop();
const ev = JSON.parse(readFileSync(file, 'utf8'));
unlinkSync(file);
const by = new Map();
for (const e of ev) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
  const k = e.name.replace(/_kernel_time$/, '');
  const o = by.get(k) ?? { op: e.args.op_name, us: 0, out: JSON.stringify(e.args.output_type_shape ?? '') };
  o.us += e.dur; by.set(k, o);
}
const rows = [...by].map(([n, o]) => [n, o.op, o.us / R / 1000, o.out]).sort((a, b) => b[2] - a[2]);
const tot = rows.reduce((a, r) => a + r[2], 0);
console.log('total kernel ms/run', tot.toFixed(2));
for (const r of rows.slice(0, top)) console.log(r[2].toFixed(3).padStart(8), r[1].padEnd(16), r[0].slice(0, 60), r[3].slice(0, 60));
const ops = new Map(); for (const r of rows) ops.set(r[1], (ops.get(r[1]) ?? 0) + r[2]);
console.log([...ops].sort((a, b) => b[1] - a[1]).map(([o, t]) => `${o} ${t.toFixed(2)}`).join(' | '));
