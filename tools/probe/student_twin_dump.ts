// Probe for issue 19: dump one calibrated W4A4 student (paper scheme) and K of lrq's own student steps on
// real images, so tools/probe/student_twin.py can replay the same steps in PyTorch. Rule: everything the
// twin needs comes from this dump (graph as JSON with integer edges folded at the traced batch, state,
// ranges, batches, teacher logits); lrq's gradients, losses and top-1 after each step are the comparison.
// Usage: node --import tsx tools/probe/student_twin_dump.ts <model.onnx> <outDir> [steps] [lrS]
import { mkdirSync, writeFileSync } from 'node:fs';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { prepareQat, setCalibration, setFakeQuant } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { openDataset } from '../../src/method/data.js';
import { evaluate } from '../../src/method/evaluate.js';
import { resolveConfig } from '../../src/method/config.js';
import { stepParts, studentStep } from '../../src/method/step.js';
import { twinGraph } from './twin_graph.js';

const [model, out, stepsArg, lrArg] = process.argv.slice(2);
mkdirSync(out!, { recursive: true });
const norm = model!.includes('chenyaofo') ? { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] } : { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const test = openDataset('/work/shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin', { normalization: norm, size: [32, 32], numClasses: 10 }).spread(500);
const train = openDataset('/work/shared/data/cifar10/cifar10-train5k-yoongikim-jpeg-q75.bin', { normalization: norm, size: [32, 32], numClasses: 10 });
const cfg = resolveConfig({ model: model!, out: '/tmp/x', preset: 'fast', wbits: 4, abits: 4, lrS: Number(lrArg ?? 1e-4), rangeMode: 'plain-ema', scheme: 'paper', progress: false });
const teacher = loadOnnx(model!), student = loadOnnx(model!);
prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, rangeMode: cfg.rangeMode, scheme: cfg.scheme }));
const parts = stepParts(cfg, teacher, student, null, 10);
teacher.eval();
student.eval();
const B = 32, steps = Number(stepsArg ?? 3);
noGrad(() => { for (let i = 0; i < 8; i++) student.forward(train.batch(i * B, i * B + B).x); });
setCalibration(student, false);
if (process.env.TWIN_FQ === 'none') setFakeQuant(student, false); // FP student: compare the graph's gradients without rounding

// graph: float nodes to replay, integer edges folded to their traced values (batch B)
const { nodes, ints, floats, bits, acts, eps } = twinGraph(student, train.batch(0, B).x);
const params = [...student.namedParameters()].map(([k]) => k);
const st = new Map<string, Tensor>();
for (const [k, p] of student.namedParameters()) st.set(`state.${k}`, new Tensor(Float32Array.from(p.data), p.shape)); // a copy: SGD updates in place
for (const [k, b] of student.namedBuffers()) st.set(`state.${k}`, new Tensor(Float32Array.from(b.data), b.shape));
const tx = test.batch(0, 500);
st.set('test.x', tx.x);
st.set('test.y', new Tensor(Float32Array.from(tx.y), [500]));
const log: Record<string, unknown>[] = [{ top1: evaluate(student, test).top1 }];
for (let k = 0; k < steps; k++) {
  const b = train.batch((8 + k) * B, (9 + k) * B);
  const t = noGrad(() => teacher.forward(b.x));
  st.set(`step${k}.x`, b.x);
  st.set(`step${k}.y`, new Tensor(Float32Array.from(b.y), [B]));
  st.set(`step${k}.t`, t);
  const losses: Record<string, number> = {};
  studentStep(parts, b.x, b.y, t, 1, true, losses);
  for (const [n, p] of student.namedParameters()) {
    if (p.grad) st.set(`grad${k}.${n}`, new Tensor(Float32Array.from(p.grad.data), p.shape));
    st.set(`after${k}.${n}`, new Tensor(Float32Array.from(p.data), p.shape));
  }
  log.push({ ...losses, top1: evaluate(student, test).top1 });
  console.log(`step ${k + 1}`, log[log.length - 1]);
}
writeSafetensors(`${out}/twin.safetensors`, st);
writeFileSync(`${out}/twin.json`, JSON.stringify({ model, batch: B, lrS: cfg.lrS, momentum: cfg.momentum, weightDecay: cfg.weightDecay, ceWeight: cfg.ceWeight,
  dkd: { alpha: cfg.dkdAlpha, beta: cfg.dkdBeta, T: cfg.dkdTemperature }, input: student.inputName, output: student.outputName,
  nodes, ints, floats, bits, acts, eps, params, log }, null, 1));
console.log('calibrated top1', log[0]);
