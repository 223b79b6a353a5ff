import * as ort from 'onnxruntime-node';
const files = process.argv.slice(2);
const B = Number(process.env.B ?? 64);
for (const f of files) {
  const s = await ort.InferenceSession.create(f, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: process.env.LEVEL ?? 'all' });
  const x = new ort.Tensor('float32', new Float32Array(B * 3 * 32 * 32).map(() => Math.random()), [B, 3, 32, 32]);
  const feeds = { [s.inputNames[0]]: x };
  for (let i = 0; i < 5; i++) await s.run(feeds);
  const t = [];
  for (let i = 0; i < 30; i++) { const a = performance.now(); await s.run(feeds); t.push(performance.now() - a); }
  t.sort((a, b) => a - b);
  console.log(f.split('/').pop(), 'median ms', t[15].toFixed(2));
}
