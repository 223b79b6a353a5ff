// The akamaster ResNet-20 against PyTorch on real CIFAR-10 test images (test/fixtures/nn_resnet20.json,
// tools/fixtures/nn_resnet20.py): logits and penultimate features within 1e-4, plus BN train-mode parity.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../engine/tensor.js';
import { noGrad } from '../engine/tensor.js';
import { sum, mean as meanOp } from '../engine/ops/index.js';
import { BatchNorm2d } from '../nn/layers/index.js';
import { Rng } from '../engine/random.js';
import { loadResnetCifar, resnet20, resnet32 } from './resnet_cifar.js';

const fx = JSON.parse(readFileSync(new URL('../../test/fixtures/nn_resnet20.json', import.meta.url), 'utf8')) as {
  indices: number[]; labels: number[]; logits: number[]; features: number[]; argmax: number[]; params: number;
  stemBnTrain: { y_first32: number[]; y_sum: number; y_abs_sum: number; running_mean: number[]; running_var: number[]; num_batches_tracked: number };
};
const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const ST = `${DATA}models/akamaster_cifar10/resnet20_cifar10_akamaster.safetensors`;
const BIN = `${DATA}cifar10/cifar10-test-yoongikim-jpeg-q75.bin`;
const have = existsSync(ST) && existsSync(BIN);

/** Test images at the fixture's indices, normalized (pixel/255 − mean)/std as float32. */
function images(): Tensor {
  const raw = readFileSync(BIN);
  const m = [0.485, 0.456, 0.406], s = [0.229, 0.224, 0.225];
  const out = new Float32Array(fx.indices.length * 3072);
  fx.indices.forEach((idx, n) => {
    for (let j = 0; j < 3072; j++) {
      const c = Math.floor(j / 1024);
      out[n * 3072 + j] = (Math.fround(raw[idx * 3073 + 1 + j]! / 255) - m[c]!) / s[c]!;
    }
  });
  return new Tensor(out, [fx.indices.length, 3, 32, 32]);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

test('parameter counts: ResNet-20 269,722 and ResNet-32 464,154', () => {
  const count = (m: { parameters(): { size: number }[] }) => m.parameters().reduce((a, p) => a + p.size, 0);
  assert.equal(count(resnet20({ rng: new Rng(1) })), 269722);
  assert.equal(count(resnet32({ rng: new Rng(1) })), 464154);
  assert.equal(fx.params, 269722);
});

test('fresh ResNet-20 forward shapes and feature/logit consistency', () => {
  const net = resnet20({ rng: new Rng(3) }).eval();
  const x = new Rng(4).normal([2, 3, 32, 32]);
  const { logits, features } = noGrad(() => net.forwardWithFeatures(x));
  assert.deepEqual(logits.shape, [2, 10]);
  assert.deepEqual(features.shape, [2, 64]);
  assert.ok(logits.toArray().every(Number.isFinite));
});

test('pretrained ResNet-20 logits and features match PyTorch within 1e-4', { skip: !have && 'shared data not present' }, () => {
  const { model, metadata } = loadResnetCifar(ST);
  assert.equal(metadata['normalize_mean'], '0.485,0.456,0.406');
  model.eval();
  const { logits, features } = noGrad(() => model.forwardWithFeatures(images()));
  const dl = maxDiff(logits.data, fx.logits), df = maxDiff(features.data, fx.features);
  assert.ok(dl < 1e-4, `logits max diff ${dl}`);
  assert.ok(df < 1e-4, `features max diff ${df}`);
  for (let n = 0; n < fx.indices.length; n++) {
    const row = Array.from(logits.data.subarray(n * 10, n * 10 + 10));
    assert.equal(row.indexOf(Math.max(...row)), fx.argmax[n]);
  }
});

test('BatchNorm2d train mode matches PyTorch (batch stats, unbiased running_var update)', { skip: !have && 'shared data not present' }, () => {
  const { model } = loadResnetCifar(ST);
  const bn = new BatchNorm2d(16);
  bn.loadStateDict(model.getSubmodule('stem_bn').stateDict());
  const s = noGrad(() => (model.getSubmodule('stem') as unknown as { forward(x: Tensor): Tensor }).forward(images()));
  bn.captureStats = true;
  const y = noGrad(() => bn.forward(s));
  const r = fx.stemBnTrain;
  assert.ok(maxDiff(y.data.subarray(0, 32), r.y_first32) < 1e-4);
  assert.ok(Math.abs(sum(y).item() - r.y_sum) < 1e-2);
  assert.ok(maxDiff(bn.runningMean!.data, r.running_mean) < 1e-5);
  assert.ok(maxDiff(bn.runningVar!.data, r.running_var) < 1e-4);
  assert.equal(bn.numBatchesTracked!.item(), r.num_batches_tracked);
  // captureStats: the batch mean of the input, per channel.
  const m = meanOp(s, [0, 2, 3]);
  assert.ok(maxDiff(bn.lastStats!.mean.data, m.data) < 1e-5);
});
