// Data-free student selection: the KL agrees with the engine's klDiv (itself checked against PyTorch),
// pair mixing keeps λ in [0.2, 0.8] and partners the next image, and selectSnapshot picks and loads the
// snapshot closest to the teacher — a copy of the teacher's own weights against perturbed ones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ops from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { LrqError } from '../engine/errors.js';
import { loadOnnx } from '../io/onnx/index.js';
import { writeSafetensors } from '../io/safetensors.js';
import { Generator } from '../models/generator.js';
import { mixPairs } from './mix.js';
import { klSum, scoreModel, selectFrom, selectionSet, selectSnapshot, snapshotPath } from './select.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx');
const skip = !existsSync(MODEL) && 'shared data not found';

test('klSum = Σ KL(softmax(t/T) ‖ softmax(s/T)), as the engine\'s klDiv(logSoftmax(s/T), softmax(t/T), sum)', () => {
  const rng = new Rng(5);
  const t = rng.normal([7, 10], 0, 3), s = rng.normal([7, 10], 0, 3);
  for (const T of [1, 4]) {
    const want = ops.klDiv(ops.logSoftmax(ops.mul(s, 1 / T), 1), ops.softmax(ops.mul(t, 1 / T), 1), 'sum').item();
    const got = klSum(t.data, s.data, 7, 10, T);
    assert.ok(Math.abs(got - want) < 1e-5 * Math.max(1, want), `T=${T}: ${got} vs ${want}`);
    assert.ok(got > 0);
  }
  // the same distribution (logits shifted by a constant per row) has zero divergence
  const shifted = Float32Array.from(t.data, (v, i) => v + Math.floor(i / 10));
  assert.ok(Math.abs(klSum(t.data, shifted, 7, 10, 4)) < 1e-6);
});

test('mixPairs: x\'_i = λ_i·x_i + (1 − λ_i)·x_{i+1 mod B} with λ_i in [0.2, 0.8], reproducible from the seed', () => {
  const B = 6, D = 5;
  const x = new Tensor(Float32Array.from({ length: B * D }, (_, k) => Math.floor(k / D) * 10), [B, 1, 1, D]);
  const a = mixPairs(x, new Rng(1)), b = mixPairs(x, new Rng(1));
  assert.deepEqual(a.shape, x.shape);
  assert.deepEqual(a.data, b.data);
  for (let i = 0; i < B; i++) {
    const xi = i * 10, xj = ((i + 1) % B) * 10;
    const lam = (a.data[i * D]! - xj) / (xi - xj);
    assert.ok(lam >= 0.2 - 1e-6 && lam <= 0.8 + 1e-6, `image ${i}: λ = ${lam}`);
    for (let k = 1; k < D; k++) assert.equal(a.data[i * D + k], a.data[i * D], 'one λ per image');
  }
});

test('selectFrom: the last K epochs, never one before the student trains', () => {
  assert.equal(selectFrom({ epochs: 16, warmupEpochs: 2, selectEpochs: 4 }), 12);
  assert.equal(selectFrom({ epochs: 5, warmupEpochs: 2, selectEpochs: 4 }), 2);
});

test('selectSnapshot picks the snapshot closest to the teacher and leaves it loaded; no snapshot is an error', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-sel-'));
  try {
    const teacher = loadOnnx(MODEL);
    const student = loadOnnx(MODEL);
    const g = new Generator({ numClasses: 10, latentDim: 16, imgSize: 32, channels: 3, lkaPositions: [], rng: new Rng(2) });
    const set = selectionSet(teacher, { generator: g, numClasses: 10, latentDim: 16 }, 40, 3);
    assert.equal(set.n, 40);
    // epochs 0 and 2: weights perturbed by different amounts; epoch 1: the teacher's own weights (KL 0)
    const rng = new Rng(4);
    const perturbed = (scale: number) => {
      const sd = new Map<string, Tensor>();
      for (const [k, v] of teacher.stateDict()) {
        const n = rng.normal(v.shape).data;
        sd.set(k, new Tensor(Float32Array.from(v.data, (w, i) => (k.endsWith('weight') ? w + scale * n[i]! : w)), v.shape));
      }
      return sd;
    };
    writeSafetensors(snapshotPath(dir, 0), perturbed(0.05));
    writeSafetensors(snapshotPath(dir, 1), teacher.stateDict());
    writeSafetensors(snapshotPath(dir, 2), perturbed(0.02));
    const { scores, best } = selectSnapshot(student, dir, [0, 1, 2, 3], set, 4);
    assert.deepEqual(scores.map((s) => s.epoch), [0, 1, 2], 'epoch 3 has no snapshot and is skipped');
    assert.equal(best.epoch, 1);
    assert.ok(Math.abs(best.kl) < 1e-9 && best.disagree === 0, `the teacher's copy scores KL ${best.kl}`);
    assert.ok(scores[0]!.kl > 0 && scores[2]!.kl > 0);
    assert.ok(Math.abs(scoreModel(student, set, 4).kl) < 1e-9, 'the winner is what the student holds afterwards');
    assert.throws(() => selectSnapshot(student, dir, [5, 6], set, 4), (e: unknown) => e instanceof LrqError && /no student snapshots/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
