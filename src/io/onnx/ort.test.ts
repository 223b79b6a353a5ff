// onnxruntime-node as oracle: the staged models' published accuracies on the JPEG-q75 CIFAR-10 test set
// (README: PyTorch and ORT agree exactly) and clear errors for files ORT cannot read.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LrqError } from '../../engine/errors.js';
import { readCifarBinary } from '../datasets/index.js';
import { ortEvaluate, ortRun } from './ort.js';
import { Tensor } from '../../engine/tensor.js';

const DATA = new URL('../../../../shared/data/', import.meta.url).pathname;
const TEST_BIN = `${DATA}cifar10/cifar10-test-yoongikim-jpeg-q75.bin`;
const model = (m: string) => `${DATA}models/akamaster_cifar10/${m}_cifar10_akamaster.onnx`;

test('ortEvaluate: ResNet-20 81.03% and ResNet-32 82.56% top-1 on CIFAR-10 (JPEG q75)', async () => {
  const ds = readCifarBinary(TEST_BIN);
  const r20 = await ortEvaluate(model('resnet20'), ds, { batchSize: 1000 });
  assert.equal(r20.n, 10000);
  assert.equal(r20.correct1, 8103);
  const r32 = await ortEvaluate(model('resnet32'), ds, { batchSize: 1000 });
  assert.equal(r32.correct1, 8256);
  // per-class accuracies average to top-1 on a balanced set; confusion rows hold 1,000 each
  assert.ok(Math.abs(r20.perClass.reduce((a, b) => a + b, 0) / 10 - r20.top1) < 1e-12);
  assert.ok(r20.confusion.every((row) => row.reduce((a, b) => a + b, 0) === 1000));
  assert.ok(r20.top5 > r20.top1 && r20.top5 <= 1);
});

test('ortRun / ortEvaluate: missing and corrupt files are one-line LrqErrors', async () => {
  const d = mkdtempSync(join(tmpdir(), 'lrq-ort-'));
  try {
    const x = new Tensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
    await assert.rejects(ortRun(join(d, 'none.onnx'), x), (e: Error) => e instanceof LrqError && /does not exist/.test(e.message));
    writeFileSync(join(d, 'junk.onnx'), Buffer.from('this is not a protobuf at all, just text\n'.repeat(4)));
    await assert.rejects(ortRun(join(d, 'junk.onnx'), x), (e: Error) => e instanceof LrqError && !e.message.includes('\n'));
  } finally {
    rmSync(d, { recursive: true });
  }
});
