// Per-image top-1 parity of the Fashion-MNIST teacher on t10k: lrq's engine, onnxruntime and PyTorch's
// predictions (the --preds file of train_teacher.py). Rule: the same lossless IDX pixels and the model's own
// metadata normalization for both runtimes; prints the three top-1s and every image where they disagree.
// Run: node --import tsx tools/fmnist/parity.ts models/fmnist_vgg7bn.onnx /tmp/fmnist_torch_preds.json

import { readFileSync } from 'node:fs';
import { noGrad, type Tensor } from '../../src/engine/tensor.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { ortRun } from '../../src/io/onnx/ort.js';
import { openDataset } from '../../src/method/data.js';
import { describeTeacher } from '../../src/method/quantize.js';

const [model, predsPath] = process.argv.slice(2);
if (!model || !predsPath) throw new Error('usage: parity.ts model.onnx torch_preds.json');
const data = process.env['FMNIST_T10K'] ?? '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
const torchPred = (JSON.parse(readFileSync(predsPath, 'utf8')) as { pred: number[] }).pred;
const m = loadOnnx(model);
m.eval();
const info = describeTeacher(m, { model, mean: undefined, std: undefined });
const ds = openDataset(data, { normalization: info.normalization, size: info.size, channels: info.channels, numClasses: info.numClasses });
const argmax = (t: Tensor, r: number) => {
  const C = t.shape[1]!;
  let k = 0;
  for (let j = 1; j < C; j++) if (t.data[r * C + j]! > t.data[r * C + k]!) k = j;
  return k;
};
let lrqOk = 0, ortOk = 0, torchOk = 0;
const diffs: string[] = [];
for (let s = 0; s < ds.size; s += 500) {
  const { x, y } = ds.batch(s, Math.min(ds.size, s + 500));
  const a = noGrad(() => m.forward(x)) as Tensor;
  const b = await ortRun(model, x);
  for (let i = 0; i < x.shape[0]!; i++) {
    const [pa, pb, pt, label] = [argmax(a, i), argmax(b, i), torchPred[s + i]!, y[i]!];
    lrqOk += +(pa === label); ortOk += +(pb === label); torchOk += +(pt === label);
    if (pa !== pb || pa !== pt) diffs.push(`image ${s + i}: lrq ${pa}, onnxruntime ${pb}, PyTorch ${pt}, label ${label}`);
  }
}
console.log(`normalization mean ${info.normalization.mean} std ${info.normalization.std}; ${ds.size} images`);
console.log(`top-1: lrq ${lrqOk}/${ds.size}, onnxruntime ${ortOk}/${ds.size}, PyTorch ${torchOk}/${ds.size}; per-image disagreements: ${diffs.length}`);
for (const d of diffs.slice(0, 20)) console.log('  ' + d);
