// Image refinement (refine.ts) on the akamaster ResNet-20: the BNS + CE objective of a batch falls, the
// teacher's weights are untouched, labels are respected, and zero iterations return the images unchanged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { noGrad } from '../../engine/tensor.js';
import { Rng } from '../../engine/random.js';
import { loadOnnx } from '../../io/onnx/index.js';
import { bnsLoss } from '../losses/bns.js';
import { refineImages } from './refine.js';
import type { GraphModule } from '../../io/onnx/index.js';
import type { Tensor } from '../../engine/tensor.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx');

/** BNS(T; x) of one batch. */
function bnsOf(t: GraphModule, x: Tensor): number {
  const bns = t.bnLayers();
  for (const b of bns) b.captureStats = true;
  noGrad(() => t.forward(x));
  for (const b of bns) b.captureStats = false;
  return noGrad(() => bnsLoss(bns).item());
}

test('refinement lowers the BNS loss of noise images and moves their top class to the label; teacher untouched', async () => {
  const t = loadOnnx(MODEL);
  const rng = new Rng(3);
  const x = rng.normal([32, 3, 32, 32]);
  const y = rng.integers(0, 10, 32);
  const w0 = Float32Array.from(t.parameters()[0]!.data as Float32Array);
  const before = bnsOf(t, x);
  const r = await refineImages(t, x, y, { iters: 30, batchSize: 32, lr: 0.1, ceWeight: 1 });
  const after = bnsOf(t, r.images);
  assert.ok(after < before * 0.5, `BNS ${before} → ${after}`);
  const logits = noGrad(() => t.forward(r.images));
  let hits = 0;
  for (let i = 0; i < 32; i++) {
    const row = Array.from(logits.data.subarray(i * 10, i * 10 + 10));
    if (row.indexOf(Math.max(...row)) === y[i]) hits++;
  }
  assert.ok(hits >= 28, `${hits}/32 refined images classified as their label`);
  assert.deepEqual(t.parameters()[0]!.data, w0);
  assert.ok(t.parameters().every((p) => p.grad === null || p.grad === undefined || !p.requiresGrad));
});

test('zero refinement iterations return a copy of the images', async () => {
  const t = loadOnnx(MODEL);
  const x = new Rng(1).normal([4, 3, 32, 32]);
  const r = await refineImages(t, x, Int32Array.of(0, 1, 2, 3), { iters: 0, batchSize: 4, lr: 0.1, ceWeight: 1 });
  assert.deepEqual(r.images.data, x.data);
  assert.notEqual(r.images.data, x.data);
});
