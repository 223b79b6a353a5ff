// Checks of the training step: a non-finite gradient is reported with the full path of the parameter that
// holds it, so a user can tell which layer overflowed; --mix-student's batch is what it says.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, noGrad } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { loadOnnx } from '../io/onnx/index.js';
import { resolveConfig } from './config.js';
import { mixPairs } from './mix.js';
import { NonFiniteError } from '../engine/errors.js';
import { Sequential } from '../nn/module.js';
import { Linear } from '../nn/layers/linear.js';
import { assertFiniteGrads, mixStudentBatch, stepParts } from './step.js';

const MODEL = join(new URL('../../', import.meta.url).pathname, '../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx');

test('assertFiniteGrads names the parameter path and the bad value; finite or missing gradients pass', () => {
  const m = new Sequential(new Linear(3, 2), new Linear(2, 2));
  assertFiniteGrads('student', m.namedParameters()); // no gradients yet
  for (const p of m.parameters()) p.grad = new Tensor(new Float32Array(p.size).fill(0.5), p.shape);
  assertFiniteGrads('student', m.namedParameters());
  const p = [...m.namedParameters()].find(([n]) => n === '1.weight')![1];
  p.grad!.data[3] = Number.NEGATIVE_INFINITY;
  assert.throws(() => assertFiniteGrads('student', m.namedParameters()),
    (e: unknown) => e instanceof NonFiniteError && e.message === 'student gradient of 1.weight became -Infinity');
  p.grad!.data[3] = Number.NaN;
  assert.throws(() => assertFiniteGrads('generator', m.namedParameters()), /generator gradient of 1\.weight became NaN$/);
});

test('mixStudentBatch: the first round(p·B) rows are pair mixes labelled by the teacher\'s top class; the rest keep x and y', { skip: !existsSync(MODEL) && 'shared data not found' }, () => {
  const teacher = loadOnnx(MODEL);
  const cfg = resolveConfig({ model: MODEL, out: '/tmp/unused', preset: 'fast', mixStudent: 0.5 });
  const parts = stepParts(cfg, teacher, loadOnnx(MODEL), null, 10);
  const rng = new Rng(3);
  const x = rng.normal([6, 3, 32, 32]);
  const y = Int32Array.from([9, 9, 9, 9, 9, 9]);
  const m = mixStudentBatch(parts, x, y, new Rng(8));
  const again = mixPairs(x, new Rng(8), 3);
  assert.deepEqual(m.x.data, again.data, 'rows 0–2 mixed as mixPairs with the same stream');
  const d = 3 * 32 * 32;
  assert.deepEqual(m.x.data.subarray(3 * d), x.data.subarray(3 * d), 'rows 3–5 unchanged');
  assert.notDeepEqual(m.x.data.subarray(0, d), x.data.subarray(0, d));
  const t = noGrad(() => teacher.forward(m.x));
  assert.deepEqual(m.t.data, t.data, 'teacher logits on the mixed batch');
  for (let i = 0; i < 6; i++) {
    const row = Array.from(t.data.subarray(i * 10, i * 10 + 10));
    assert.equal(m.y[i], i < 3 ? row.indexOf(Math.max(...row)) : 9, `label of row ${i}`);
  }
  assert.deepEqual(y, Int32Array.from([9, 9, 9, 9, 9, 9]), 'the caller\'s labels are not modified');
});
