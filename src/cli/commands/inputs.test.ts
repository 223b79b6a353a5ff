// End-to-end tests of 1-channel inputs: `lrq eval` of a grey 28×28 classifier (test/grey_model.ts) on the
// Fashion-MNIST IDX files and on a grey image folder, --mean/--std with one value, the error naming the
// model's channel count, and a tiny `lrq quantize` run that ends with a grey synthetic-image grid.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { LrqError } from '../../engine/errors.js';
import { loadOnnx } from '../../io/onnx/index.js';
import { describeTeacher, quantize } from '../../method/quantize.js';
import { runEval } from './eval.js';
import { greyModel } from '../../../test/grey_model.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const T10K = join(FMNIST, 't10k-images-idx3-ubyte.gz');
const skip = !existsSync(T10K) && `${FMNIST} not found (Debian package dataset-fashion-mnist)`;

/** Raw t10k pixels and labels, straight from the files (not through the reader under test). */
function rawT10k(): { px: Buffer; labels: Buffer } {
  return { px: gunzipSync(readFileSync(T10K)).subarray(16), labels: gunzipSync(readFileSync(join(FMNIST, 't10k-labels-idx1-ubyte.gz'))).subarray(8) };
}

/** Nearest class mean on p/255 as a linear layer: w_c = μ_c, b_c = −|μ_c|²/2; and its float64 top-1 on the same images. */
function centroids(px: Buffer, labels: Buffer): { weights: Float32Array[]; bias: Float32Array; top1: number; right: boolean[] } {
  const n = labels.length, mu = Array.from({ length: 10 }, () => new Float64Array(784)), cnt = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    cnt[labels[i]!]!++;
    for (let k = 0; k < 784; k++) mu[labels[i]!]![k]! += px[i * 784 + k]! / 255;
  }
  mu.forEach((m, c) => m.forEach((_, k) => (m[k]! /= cnt[c]!)));
  const weights = mu.map((m) => Float32Array.from(m));
  const bias = Float32Array.from(weights, (w) => -w.reduce((a, v) => a + v * v, 0) / 2);
  let correct = 0;
  const right: boolean[] = [];
  for (let i = 0; i < n; i++) {
    let best = -Infinity, arg = -1;
    for (let c = 0; c < 10; c++) {
      let s = bias[c]!;
      for (let k = 0; k < 784; k++) s += (px[i * 784 + k]! / 255) * weights[c]![k]!;
      if (s > best) ((best = s), (arg = c));
    }
    right.push(arg === labels[i]);
    if (arg === labels[i]) correct++;
  }
  return { weights, bias, top1: correct / n, right };
}

test('lrq eval: a grey 28×28 classifier on Fashion-MNIST IDX (lrq and onnxruntime), one-value --mean/--std, grey image folder', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-grey-'));
  try {
    const { px, labels } = rawT10k();
    const { weights, bias, top1, right } = centroids(px, labels);
    assert.ok(top1 > 0.6 && top1 < 0.75, `nearest-centroid top-1 ${top1}`); // sanity of the reference itself
    // the model's 1×1 conv undoes (p/255 − 0.286)/0.353, so every route must reproduce the float64 reference
    const model = join(dir, 'fmnist.onnx');
    writeFileSync(model, greyModel({ weights, bias, scale: 0.353, shift: 0.286, metadata: { normalize_mean: '0.286', normalize_std: '0.353' } }));
    const bare = join(dir, 'bare.onnx');
    writeFileSync(bare, greyModel({ weights, bias, scale: 0.353, shift: 0.286 }));
    const near = (r: { result: { top1: number; n: number } }) => {
      assert.equal(r.result.n, 10000);
      assert.ok(Math.abs(r.result.top1 - top1) <= 3e-4, `top-1 ${r.result.top1} vs reference ${top1}`); // ≤ 3 near-ties may flip in float32
    };
    const lrq = await runEval({ model, data: T10K, print: false });
    assert.equal(lrq.runtime, 'lrq');
    near(lrq);
    const ort = await runEval({ model, data: T10K, print: false, runtime: 'ort' });
    near(ort);
    assert.equal(ort.result.top1, lrq.result.top1);
    near(await runEval({ model: bare, data: T10K, mean: '0.286', std: '0.353', print: false }));
    // no metadata and no flags: pixel/255 — the conv's shift then moves every input, and accuracy changes
    const plain = await runEval({ model: bare, data: T10K, print: false });
    assert.notEqual(plain.result.top1, lrq.result.top1);
    await assert.rejects(runEval({ model: bare, data: T10K, mean: '0.485,0.456,0.406', std: '0.229,0.224,0.225', print: false }),
      (e: unknown) => e instanceof LrqError && e.message === '--mean/--std: the model has 1 input channel; give one mean and one std, got mean [0.485, 0.456, 0.406] std [0.229, 0.224, 0.225]');
    await assert.rejects(runEval({ model: bare, data: T10K, mean: '0.286', print: false }), /--mean and --std go together/);
    // the same first 20 images as a grey PNG folder (one class folder per label) give the same predictions
    const folder = join(dir, 'folder');
    for (let i = 0; i < 20; i++) {
      const cls = join(folder, `c${labels[i]}`);
      mkdirSync(cls, { recursive: true });
      const png = new PNG({ width: 28, height: 28 });
      for (let k = 0; k < 784; k++) png.data.set([px[i * 784 + k]!, px[i * 784 + k]!, px[i * 784 + k]!, 255], 4 * k);
      writeFileSync(join(cls, `${String(i).padStart(2, '0')}.png`), PNG.sync.write(png, { colorType: 0 }));
    }
    const f = await runEval({ model, data: folder, print: false });
    assert.equal(f.result.n, 20);
    assert.equal(f.result.top1, right.slice(0, 20).filter(Boolean).length / 20);
    process.stdout.write(`# nearest-centroid Fashion-MNIST t10k top-1: float64 ${(top1 * 100).toFixed(2)}%, lrq ${(lrq.result.top1 * 100).toFixed(2)}%, ort ${(ort.result.top1 * 100).toFixed(2)}%; folder of 20: ${(f.result.top1 * 100).toFixed(0)}%\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lrq quantize on a grey 28×28 model: one mean/std from the model, grey synthetic grid and report', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-grey-q-'));
  try {
    const model = join(dir, 'grey.onnx');
    writeFileSync(model, greyModel());
    const teacher = loadOnnx(model);
    assert.deepEqual(describeTeacher(teacher, { model }), { channels: 1, size: [28, 28], numClasses: 10, normalization: { mean: [0], std: [1] } });
    assert.deepEqual(describeTeacher(teacher, { model, mean: [0.5], std: [0.5] }).normalization, { mean: [0.5], std: [0.5] });
    assert.throws(() => describeTeacher(teacher, { model, mean: [0.5, 0.5], std: [0.5, 0.5] }), /the model has 1 input channel/);
    const out = join(dir, 'run');
    const s = await quantize({ model, out, epochs: 1, itersPerEpoch: 2, batchSize: 8, warmupEpochs: 0, calibEpochs: 1, evalData: T10K, evalLimit: 100, mean: [0.286], std: [0.353], progress: false, export: false });
    assert.equal(s.quantTop1 === null, false);
    const synth = JSON.parse(readFileSync(join(out, 'synth.json'), 'utf8')) as { shape: number[]; mean: number[]; std: number[] };
    assert.deepEqual([synth.shape.slice(1), synth.mean, synth.std], [[1, 28, 28], [0.286], [0.353]]);
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /data:image\/png;base64,/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lrq eval --resize/--interpolation: defaults follow the model input, bad values are one-line errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-resize-'));
  try {
    // a grey 96×96 model and a folder of 150×120 RGB images: Resize(109) + CenterCrop(96) by default
    const model = join(dir, 'm96.onnx');
    writeFileSync(model, greyModel({ height: 96, width: 96 }));
    for (const c of ['a', 'b']) {
      mkdirSync(join(dir, 'f', c), { recursive: true });
      const png = new PNG({ width: 150, height: 120 });
      for (let k = 0; k < 150 * 120; k++) png.data.set([(k * 7) % 256, (k * 3) % 256, c === 'a' ? 0 : 255, 255], 4 * k);
      writeFileSync(join(dir, 'f', c, 'x.png'), PNG.sync.write(png));
    }
    const data = join(dir, 'f');
    assert.equal((await runEval({ model, data, print: false })).result.n, 2);
    assert.equal((await runEval({ model, data, resize: '96', interpolation: 'nearest', print: false })).result.n, 2);
    await assert.rejects(runEval({ model, data, resize: 'none', print: false }), /is 150×120, the model needs 96×96/);
    await assert.rejects(runEval({ model, data, resize: '50', print: false }), /resize shorter side 50 must be an integer of at least/);
    await assert.rejects(runEval({ model, data, resize: 'big', print: false }), /--resize big: give the shorter side in pixels/);
    await assert.rejects(runEval({ model, data, interpolation: 'cubic', print: false }), /--interpolation cubic: use antialias, bilinear or nearest/);
    const small = join(dir, 'm28.onnx');
    writeFileSync(small, greyModel());
    await assert.rejects(runEval({ model: small, data, interpolation: 'bilinear', print: false }), /a 28×28 input is not resized by default; give --resize/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
