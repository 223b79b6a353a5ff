// Probe: latency of models relative to the first one (onnxruntime, 2 threads, level `all`), runs interleaved
// round by round so a shared machine's load hits all of them alike; prints median ms and the median and range
// of per-round ratios first/other, the ratio of the minima (the least-disturbed run of each), and the ratio of
// median process CPU time per run (with THREADS=1 the work itself, nearly blind to other processes' load). Usage: B=64 ROUNDS=15 node tools/probe/lat_pair.mjs fp32.onnx a.onnx [b.onnx …]
import * as ort from 'onnxruntime-node';
const files = process.argv.slice(2), B = Number(process.env.B ?? 64), ROUNDS = Number(process.env.ROUNDS ?? 15), PER = Number(process.env.PER ?? 3);
const x = new ort.Tensor('float32', new Float32Array(B * 3 * 32 * 32).map(() => Math.random()), [B, 3, 32, 32]);
const ss = [];
for (const f of files) ss.push(await ort.InferenceSession.create(f, { intraOpNumThreads: Number(process.env.THREADS ?? 2), interOpNumThreads: 1, graphOptimizationLevel: process.env.LEVEL ?? 'all' }));
for (const s of ss) for (let i = 0; i < 3; i++) await s.run({ [s.inputNames[0]]: x });
const t = files.map(() => []), cpu = files.map(() => []);
for (let r = 0; r < ROUNDS; r++) for (let k = 0; k < ss.length; k++) {
  const s = ss[k]; let best = Infinity;
  let bestCpu = Infinity;
  for (let i = 0; i < PER; i++) {
    const c0 = process.cpuUsage(), a = performance.now();
    await s.run({ [s.inputNames[0]]: x });
    best = Math.min(best, performance.now() - a);
    const c = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
  }
  t[k].push(best);
  cpu[k].push(bestCpu); // min of PER back-to-back runs: the least-disturbed run of this round
}
const med = (a) => { const b = [...a].sort((p, q) => p - q); return b[b.length >> 1]; };
for (let k = 0; k < files.length; k++) {
  const ratios = t[0].map((v, r) => v / t[k][r]).sort((p, q) => p - q);
  const min = Math.min(...t[k]);
  const cpuRatio = med(cpu[0]) / med(cpu[k]);
  console.log(files[k].split('/').pop().padEnd(40), 'median ms', med(t[k]).toFixed(2), ' ratio median', med(ratios).toFixed(2), `range ${ratios[0].toFixed(2)}–${ratios[ratios.length - 1].toFixed(2)}`, ' min ms', min.toFixed(2), ' ratio of mins', (Math.min(...t[0]) / min).toFixed(2), ' CPU ms', med(cpu[k]).toFixed(2), ' CPU ratio', cpuRatio.toFixed(2));
}
