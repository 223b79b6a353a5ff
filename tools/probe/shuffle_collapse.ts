// Probe for issue 19: where does a ShuffleNetV2 W4A4 student collapse? Real images (train5k), the loop's
// own studentStep (CE + DKD, Nesterov SGD) — evaluates on 500 test images before and after each of K steps,
// and prints the student's logit scale and the largest gradient per layer kind.
// Usage: node --import tsx tools/probe/shuffle_collapse.ts <model.onnx> <scheme> [steps] [lrS]
import { noGrad } from '../../src/engine/tensor.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { prepareQat, setCalibration } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { openDataset } from '../../src/method/data.js';
import { evaluate } from '../../src/method/evaluate.js';
import { resolveConfig } from '../../src/method/config.js';
import { stepParts, studentStep } from '../../src/method/step.js';

const [model, scheme, stepsArg, lrArg] = process.argv.slice(2);
const norm = model!.includes('chenyaofo') ? { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] } : { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const test = openDataset('/work/shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin', { normalization: norm, size: [32, 32], numClasses: 10 }).spread(500);
const train = openDataset('/work/shared/data/cifar10/cifar10-train5k-yoongikim-jpeg-q75.bin', { normalization: norm, size: [32, 32], numClasses: 10 });
const cfg = resolveConfig({ model: model!, out: '/tmp/x', preset: 'fast', wbits: 4, abits: 4, lrS: Number(lrArg ?? 1e-4), rangeMode: (process.env.RANGE ?? 'plain-ema') as 'plain-ema', scheme: scheme as 'paper' | 'deploy', progress: false });
const teacher = loadOnnx(model!), student = loadOnnx(model!);
if (process.env.DEAD) {
  // channels the teacher's data never moved (running var ≈ 0) output β: make the student's exactly constant
  let n = 0;
  for (const [, m] of student.namedModules()) {
    const bn = m as unknown as { buffer(n: string): { data: Float32Array } | null; param(n: string): { data: Float32Array } | null; eps: number };
    const v = bn.buffer?.('running_var');
    if (!v) continue;
    const g = bn.param('weight')!.data;
    for (let c = 0; c < v.data.length; c++) if (v.data[c]! < Number(process.env.DEAD) * bn.eps) { g[c] = 0; n++; }
  }
  console.log(`zeroed γ of ${n} dead BN channels; FP student top1 ${(evaluate(student, test).top1 * 100).toFixed(1)}%`);
}
prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, rangeMode: cfg.rangeMode, scheme: cfg.scheme }));
if (process.env.FREEZE_BN) for (const [n, p] of student.namedParameters()) if (/BatchNormalization/.test(n)) p.requiresGrad = false;
const parts = stepParts(cfg, teacher, student, null, 10);
teacher.eval();
student.eval();
const B = 32;
// calibrate on 8 batches, as the calibration window would
noGrad(() => { for (let i = 0; i < 8; i++) student.forward(train.batch(i * B, i * B + B).x); });
setCalibration(student, false);
const scale = (x: import('../../src/engine/tensor.js').Tensor) => { let m = 0; for (const v of x.data) m = Math.max(m, Math.abs(v)); return m; };
const b0 = train.batch(0, B);
console.log(`calibrated: top1 ${(evaluate(student, test).top1 * 100).toFixed(1)}%, max|logit| student ${scale(noGrad(() => student.forward(b0.x))).toFixed(1)} teacher ${scale(noGrad(() => teacher.forward(b0.x))).toFixed(1)}`);
for (let k = 0; k < Number(stepsArg ?? 5); k++) {
  const b = train.batch((8 + k) * B, (9 + k) * B);
  const t = noGrad(() => teacher.forward(b.x));
  const losses: Record<string, number> = {};
  studentStep(parts, b.x, b.y, t, 1, true, losses);
  let gn = 0, wn = 0;
  for (const [, p] of student.namedParameters()) { if (p.grad) for (const v of p.grad.data) gn += v * v; for (const v of p.data) wn += v * v; }
  console.log(`  ‖g‖ ${Math.sqrt(gn).toExponential(2)}  ‖w‖ ${Math.sqrt(wn).toExponential(2)}  lr·‖g‖/‖w‖ ${(cfg.lrS * Math.sqrt(gn / wn)).toExponential(2)}`);
  let worst = ['', 0, ''] as [string, number, string];
  for (const [n, p] of student.namedParameters()) {
    const g = p.grad?.data; if (!g) continue;
    let m = 0, at = 0; g.forEach((v, i) => { if (Math.abs(v) > m) { m = Math.abs(v); at = i; } });
    let w = 0; for (const v of p.data) w = Math.max(w, Math.abs(v));
    const rel = (cfg.lrS * m) / (w || 1);
    if (rel > worst[1]) {
      let extra = `max|g| ${m.toExponential(2)} at [${at}], max|w| ${w.toExponential(2)}`;
      const mod = student.getSubmodule(n.slice(0, n.lastIndexOf('.'))) as unknown as { buffer?(k: string): { data: Float32Array } | null; param(k: string): { data: Float32Array } | null };
      const rv = mod.buffer?.('running_var');
      if (rv) extra += `; that channel: var ${rv.data[at]!.toExponential(2)} γ ${mod.param('weight')!.data[at]!.toExponential(2)} β ${mod.param('bias')!.data[at]!.toExponential(2)}`;
      worst = [n, rel, extra];
    }
  }
  console.log(`step ${k + 1}: lossS ${losses['lossS']!.toFixed(2)} kd ${losses['kd']!.toFixed(2)} → top1 ${(evaluate(student, test).top1 * 100).toFixed(1)}%, max|logit| ${scale(noGrad(() => student.forward(b0.x))).toFixed(1)}; largest lr·|g|/|w| ${worst[1].toExponential(2)} at ${worst[0]} (${worst[2]})`);
}
