// Block reconstruction on the akamaster ResNet-20: blocks cover the graph between single-edge cuts,
// forwardRange composes to forward, the loss of a residual block falls below nearest rounding in both
// schemes (with every write-back code kept), and a tiny-budget W4A4 reconstruction beats naive
// quantization on 1,000 test images.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Tensor, noGrad } from '../../engine/tensor.js';
import { loadOnnx } from '../../io/onnx/index.js';
import { prepareQat, setCalibration } from '../../quant/prepare.js';
import { makeQConfig } from '../../quant/qconfig.js';
import { openDataset } from '../data.js';
import { describeTeacher } from '../quantize.js';
import { evaluate } from '../evaluate.js';
import { naiveCalibrate } from '../naive.js';
import { reconBlocks } from './blocks.js';
import { reconstruct } from './reconstruct.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx');
const TEST = join(ROOT, '../shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin');
const TRAIN5K = join(ROOT, '../shared/data/cifar10/cifar10-train5k-yoongikim-jpeg-q75.bin');

const teacher = loadOnnx(MODEL);
const info = describeTeacher(teacher, { model: MODEL });
const open = (p: string) => openDataset(p, { normalization: info.normalization, size: info.size, channels: info.channels, numClasses: info.numClasses });
const calib = (n: number) => open(TRAIN5K).spread(n).batch(0, n).x;

/** A W4A4 student with ranges observed on `x` (plain min/max EMA), frozen. */
function student(scheme: 'paper' | 'deploy', x: Tensor) {
  const s = loadOnnx(MODEL);
  prepareQat(s, makeQConfig({ weightBits: 4, actBits: 4, rangeMode: 'plain-ema', scheme }));
  s.eval();
  noGrad(() => s.forward(x));
  setCalibration(s, false);
  return s;
}

test('blocks: residual spans between single-edge cuts, and forwardRange over them composes to forward', () => {
  const g = loadOnnx(MODEL);
  const blocks = reconBlocks(g);
  assert.equal(blocks.length, 11); // stem, 9 residual blocks (the last with pool + flatten), classifier
  assert.equal(blocks[0]!.from, g.inputName);
  assert.equal(blocks[blocks.length - 1]!.to, g.outputName);
  for (let i = 1; i < blocks.length; i++) assert.equal(blocks[i]!.from, blocks[i - 1]!.to);
  const x = calib(8);
  const full = noGrad(() => g.forward(x));
  const chained = noGrad(() => blocks.reduce((v, b) => g.forwardRange(b.from, v, b.to), x));
  assert.deepEqual([...chained.data], [...full.data]);
});

for (const scheme of ['paper', 'deploy'] as const) {
  test(`reconstruction loss of a residual block falls below nearest rounding (${scheme} scheme)`, async () => {
    const x = calib(64);
    const s = student(scheme, x);
    const reports = await reconstruct(teacher, s, x, { iters: 60, batchSize: 16, drop: 0, seed: 0, blocks: 2 });
    const r = reports[1]!;
    assert.ok(r.after < r.before * 0.95, `block 2 loss ${r.before} → ${r.after}`);
    for (const q of reports) assert.equal(q.mismatches, 0, 'write-back moved weight codes');
  });
}

test('tiny-budget W4A4 reconstruction beats naive quantization on 1,000 test images', async () => {
  const testSet = open(TEST).spread(1000);
  const naive = naiveCalibrate(loadOnnx(MODEL), { wbits: 4, abits: 4, numClasses: info.numClasses, imgSize: info.size[0], channels: info.channels });
  const naiveTop1 = evaluate(naive, testSet).top1;
  const x = calib(128);
  const s = student('paper', x);
  await reconstruct(teacher, s, x, { iters: 12, batchSize: 32, drop: 0.5, seed: 0 });
  const top1 = evaluate(s, testSet).top1;
  assert.ok(top1 > naiveTop1 + 0.1, `reconstructed ${top1} vs naive ${naiveTop1}`);
  assert.ok(top1 > 0.6, `reconstructed top-1 ${top1}`);
});
