// Tests of evaluate(): hand-computed top-1/top-5/confusion on known logits, and the staged models'
// exact accuracies through the ONNX importer (ResNet-20 81.03%, ResNet-32 82.56% on CIFAR-10 JPEG q75).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvalAccumulator, evaluate } from './evaluate.js';
import { Tensor } from '../engine/tensor.js';
import { Module } from '../nn/module.js';
import { ImageDataset, readCifarBinary, IDENTITY_NORMALIZATION } from '../io/datasets/index.js';
import { loadOnnx } from '../io/onnx/index.js';
import { ortEvaluate } from '../io/onnx/ort.js';
import { backend } from '../engine/backend.js';
import '../engine/ops/index.js';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;

test('EvalAccumulator: top-1, top-5 (ties toward the lower index), per-class and confusion', () => {
  const acc = new EvalAccumulator(6);
  // rows: true label 0 predicted 0; label 1 predicted 5 (label ranked 2nd); label 2 tied with 0 → loses top-1;
  // label 3 ranked 6th (last) → outside top-5
  const logits = [
    9, 1, 1, 1, 1, 1,
    0, 5, 1, 1, 1, 6,
    3, 0, 3, 0, 0, 0,
    5, 4, 3, 0, 2, 1,
  ];
  acc.add(logits, 4, 6, [0, 1, 2, 3]);
  const r = acc.result();
  assert.equal(r.n, 4);
  assert.equal(r.correct1, 1);
  assert.equal(r.correct5, 3);
  assert.equal(r.top1, 0.25);
  assert.deepEqual(r.confusion[1], [0, 0, 0, 0, 0, 1]);
  assert.deepEqual(r.confusion[2], [1, 0, 0, 0, 0, 0]);
  assert.deepEqual(r.perClass.slice(0, 4), [1, 0, 0, 0]);
  assert.ok(Number.isNaN(r.perClass[4]!));
  assert.throws(() => acc.add([1, 2], 1, 2, [0]), /outputs 2 classes but the dataset has 6/);
});

class Fixed extends Module {
  calls: boolean[] = [];
  forward(x: Tensor): Tensor {
    this.calls.push(this.training);
    // logits = the first pixel of each image one-hot-ish: class = pixel value
    const n = x.shape[0]!, per = x.size / n;
    const out = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) out[i * 3 + Math.round(x.data[i * per]! * 255)] = 1;
    return new Tensor(out, [n, 3]);
  }
}

test('evaluate: batches cover the dataset, eval mode inside, training mode restored', () => {
  const px = new Uint8Array(7 * 3 * 2 * 2);
  const labels = Int32Array.from([0, 1, 2, 0, 1, 2, 1]);
  const preds = [0, 1, 1, 0, 2, 2, 1];
  preds.forEach((p, i) => (px[i * 12] = p));
  const ds = new ImageDataset(px, labels, [3, 2, 2], 3, IDENTITY_NORMALIZATION);
  const m = new Fixed();
  m.train();
  const r = evaluate(m, ds, { batchSize: 3 });
  assert.equal(r.correct1, 5);
  assert.deepEqual(m.calls, [false, false, false]);
  assert.equal(m.training, true);
  assert.deepEqual(r.confusion, [[2, 0, 0], [0, 2, 1], [0, 1, 1]]);
});

for (const [name, correct] of [['resnet20', 8103], ['resnet32', 8256]] as const) {
  const path = `${DATA}models/akamaster_cifar10/${name}_cifar10_akamaster.onnx`;
  const testSet = () => readCifarBinary(`${DATA}cifar10/cifar10-test-yoongikim-jpeg-q75.bin`);
  // the full 10,000 images take ~30 s per model on oneDNN but ~25 min on the plain-TS reference kernels;
  // there (or with LRQ_QUICK_EVAL=1) a 500-image subset must agree image-for-image with onnxruntime instead
  const full = backend().name !== 'reference' && !process.env['LRQ_QUICK_EVAL'];
  test(`evaluate: imported ${name} scores exactly ${correct / 100}% on CIFAR-10 (JPEG q75)`, { skip: full ? false : 'reference backend: see the subset test' }, () => {
    const r = evaluate(loadOnnx(path), testSet(), { batchSize: 500 });
    assert.equal(r.n, 10000);
    assert.equal(r.correct1, correct);
  });
  test(`evaluate: imported ${name} agrees with onnxruntime on a 500-image subset (confusion matrices equal)`, { skip: full ? 'full test set evaluated above' : false }, async () => {
    const sub = testSet().subset(Array.from({ length: 500 }, (_, i) => i * 20));
    const ours = evaluate(loadOnnx(path), sub, { batchSize: 250 });
    const ref = await ortEvaluate(path, sub);
    assert.deepEqual(ours.confusion, ref.confusion);
    assert.equal(ours.correct5, ref.correct5);
  });
}
