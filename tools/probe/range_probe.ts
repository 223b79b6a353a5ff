// Probe: how much of a W4A4 student's accuracy is set by its activation ranges, and by which images they
// come from. Calibrates ranges (plain EMA over 4 batches of 64) on several sources, optionally scales every
// range's hi by α (crude clipping), and evaluates on 2,000 spread test images. Not a test; a measurement.
// `node --import tsx tools/probe/range_probe.ts [runDir]` (runDir: a finished run with generator/student).
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { noGrad, Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { Generator } from '../../src/models/generator.js';
import { prepareQat, setCalibration, actQuantizers } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { openDataset } from '../../src/method/data.js';
import { evaluate } from '../../src/method/evaluate.js';
import { describeTeacher } from '../../src/method/quantize.js';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;
const model = join(DATA, 'models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx');
const run = process.argv[2] ?? 'runs/bench-fast-w4a4/lrq';
const bits = Number(process.env.BITS ?? 4);
const teacher = loadOnnx(model);
const info = describeTeacher(teacher, { model, mean: undefined as never, std: undefined as never });
const test = openDataset(join(DATA, 'cifar10/cifar10-test-yoongikim-jpeg-q75.bin'), { normalization: info.normalization, size: info.size, numClasses: 10 }).spread(2000);
const train = openDataset(join(DATA, 'cifar10/cifar10-train5k-yoongikim-jpeg-q75.bin'), { normalization: info.normalization, size: info.size, numClasses: 10 }).spread(256);

function gen(lka: boolean, weights?: string): Generator {
  const g = new Generator({ numClasses: 10, latentDim: 100, imgSize: 32, channels: 3, lkaPositions: lka ? ['after_block1', 'after_block2'] : [], rng: new Rng(7919) });
  if (weights) g.loadStateDict(readSafetensors(weights).tensors);
  g.train();
  return g;
}
const only = (process.env.SOURCES ?? '').split(',').filter(Boolean);
const sources: Record<string, () => Tensor[]> = {
  real: () => [0, 1, 2, 3].map((i) => train.batch(i * 64, i * 64 + 64).x),
  'gdfq-untrained': () => { const g = gen(false); const r = new Rng(0); return [0, 1, 2, 3].map(() => noGrad(() => g.forward(r.normal([64, 100]), r.integers(0, 10, 64)))); },
  'lrg-untrained': () => { const g = gen(true); const r = new Rng(0); return [0, 1, 2, 3].map(() => noGrad(() => g.forward(r.normal([64, 100]), r.integers(0, 10, 64)))); },
};
if (existsSync(join(run, 'generator.safetensors'))) {
  sources['lrg-trained'] = () => { const g = gen(true, join(run, 'generator.safetensors')); g.eval(); const r = new Rng(0); return [0, 1, 2, 3].map(() => noGrad(() => g.forward(r.normal([64, 100]), r.integers(0, 10, 64)))); };
}
const weightSets: Record<string, string | null> = process.env.TRAINED_ONLY ? {} : { teacher: null };
if (existsSync(join(run, 'student.safetensors'))) weightSets['trained'] = join(run, 'student.safetensors');

for (const [wname, wpath] of Object.entries(weightSets)) {
  for (const [sname, src] of Object.entries(sources)) {
    if (only.length && !only.includes(sname)) continue;
    const s = loadOnnx(model);
    prepareQat(s, makeQConfig({ weightBits: bits, actBits: bits, rangeMode: 'plain-ema' }));
    s.eval();
    if (wpath) {
      // take only the trained weights (ranges are calibrated below, on them)
      const sd = readSafetensors(wpath).tensors;
      const own = s.stateDict();
      for (const [k, v] of sd) if (!k.endsWith('.lo') && !k.endsWith('.hi') && !k.endsWith('.updates') && own.has(k)) own.get(k)!.data.set(v.data);
    }
    const xs = src();
    const seen = new Map<unknown, number[]>();
    for (const [, q] of actQuantizers(s)) {
      const f = q.forward.bind(q);
      q.forward = (x: Tensor) => { const a = seen.get(q) ?? []; for (let i = 0; i < x.size; i += 13) a.push(x.data[i]!); seen.set(q, a); return f(x); };
    }
    noGrad(() => { for (const x of xs) s.forward(x); });
    for (const [, q] of actQuantizers(s)) delete (q as { forward?: unknown }).forward;
    setCalibration(s, false);
    const qs = actQuantizers(s);
    const his = qs.map(([, q]) => q.hi.data[0]!);
    const line: string[] = [];
    // MSE-optimal clip per quantizer on the calibration activations: hi' = α·hi, α from a grid.
    const mseHi = qs.map(([, q], i) => {
      const v = seen.get(q)!, lo = q.lo.data[0]!, levels = 2 ** bits - 1;
      let best = his[i]!, bestErr = Infinity;
      for (let a = 1; a >= 0.3; a -= 0.025) {
        const hi = his[i]! * a, sc = (hi - lo) / levels;
        let e = 0;
        for (const x of v) { const c = Math.min(Math.max(x, lo), hi); const qv = Math.round((c - lo) / sc) * sc + lo; e += (qv - x) ** 2; }
        if (e < bestErr) { bestErr = e; best = hi; }
      }
      return best;
    });
    qs.forEach(([, q], i) => (q.hi.data[0] = mseHi[i]!));
    line.push(`mse: ${(evaluate(s, test).top1 * 100).toFixed(2)} (α ${mseHi.map((h, i) => (h / his[i]!).toFixed(2)).slice(0, 6).join(',')}…)`);
    for (const a of [1, 0.8, 0.65, 0.5]) {
      qs.forEach(([, q], i) => (q.hi.data[0] = his[i]! * a));
      line.push(`α=${a}: ${(evaluate(s, test).top1 * 100).toFixed(2)}`);
    }
    console.log(`weights=${wname} ranges=${sname} his[0..3]=${his.slice(0, 4).map((h) => h.toFixed(2)).join(',')}  ${line.join('  ')}`);
  }
}
