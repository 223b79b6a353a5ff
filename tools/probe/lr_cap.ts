// Probe for issue 19: the curvature cap's λ̂ (finite-difference power iteration, FP student) on the same
// calibrated W4A4 student and real batch as tools/probe/student_twin_dump.ts, to set beside PyTorch's
// double-backward λ (tools/probe/student_twin_hess.py with TWIN_FQ=none), and its time.
// Usage: node --import tsx tools/probe/lr_cap.ts <model.onnx> [iters]
import { noGrad } from '../../src/engine/tensor.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { prepareQat, setCalibration } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { openDataset } from '../../src/method/data.js';
import { resolveConfig } from '../../src/method/config.js';
import { stepParts } from '../../src/method/step.js';
import { nesterovStableLr, topCurvature } from '../../src/method/lr_probe.js';
import { studentLoss } from '../../src/method/step.js';
import { setFakeQuant } from '../../src/quant/prepare.js';
import { Rng } from '../../src/engine/random.js';

const [model, itersArg] = process.argv.slice(2);
const norm = model!.includes('chenyaofo') ? { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] } : { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const train = openDataset('/work/shared/data/cifar10/cifar10-train5k-yoongikim-jpeg-q75.bin', { normalization: norm, size: [32, 32], numClasses: 10 });
const cfg = resolveConfig({ model: model!, out: '/tmp/x', preset: 'fast', wbits: 4, abits: 4, rangeMode: 'plain-ema', progress: false });
const teacher = loadOnnx(model!), student = loadOnnx(model!);
prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, rangeMode: cfg.rangeMode, scheme: cfg.scheme }));
const parts = stepParts(cfg, teacher, student, null, 10);
teacher.eval();
student.eval();
const B = 32;
noGrad(() => { for (let i = 0; i < 8; i++) student.forward(train.batch(i * B, i * B + B).x); });
setCalibration(student, false);
const b = train.batch(8 * B, 9 * B);
const t = noGrad(() => teacher.forward(b.x));
setFakeQuant(student, false);
for (const iters of [Number(itersArg ?? 8), 20]) {
  const t0 = Date.now();
  const lambda = topCurvature(student.parameters(), () => studentLoss(parts, b.x, b.y, t, 1).loss.backward(), new Rng(1), iters);
  console.log(`${iters} iterations: λ̂ ${lambda.toExponential(3)}, cap ${nesterovStableLr(lambda, cfg.momentum).toExponential(3)}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
