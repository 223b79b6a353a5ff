// The lossless-pixel accuracy claim's teacher (models/fmnist_vgg7bn.onnx, tools/fmnist/train_teacher.py):
// `lrq eval` through lrq's engine and through onnxruntime scores exactly the PyTorch t10k top-1 recorded in
// the file's metadata, on the IDX bytes /255 and the metadata's normalization. Rule: equality, no tolerance.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { runEval } from '../src/cli/commands/eval.js';
import { metadata, readModelProto } from '../src/io/onnx/index.js';

const MODEL = new URL('../models/fmnist_vgg7bn.onnx', import.meta.url).pathname;
const T10K = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
const skip = !existsSync(T10K) && '/usr/share/datasets/fashion-mnist not found (Debian package dataset-fashion-mnist)';

test('Fashion-MNIST teacher: lrq and onnxruntime t10k top-1 equal PyTorch\'s (from its metadata) exactly', { skip }, async () => {
  const meta = metadata(readModelProto(MODEL));
  assert.equal(meta['normalize_mean'], '0.286');
  assert.equal(meta['normalize_std'], '0.353');
  const torchTop1 = Number(meta['lrq.pytorch_t10k_top1']);
  assert.ok(torchTop1 > 89, `PyTorch top-1 ${torchTop1}%`);
  const ours = await runEval({ model: MODEL, data: T10K, runtime: 'lrq', print: false });
  const ort = await runEval({ model: MODEL, data: T10K, runtime: 'ort', print: false });
  assert.equal(ours.result.n, 10000);
  assert.equal(ours.result.top1, ort.result.top1, `lrq ${ours.result.top1} vs onnxruntime ${ort.result.top1}`);
  assert.equal((ours.result.top1 * 100).toFixed(2), torchTop1.toFixed(2));
  // The committed file is the one docs/EXPERIMENTS.md measured.
  const sha = createHash('sha256').update(readFileSync(MODEL)).digest('hex');
  assert.match(readFileSync(new URL('../models/README.md', import.meta.url), 'utf8'), new RegExp(sha));
});
