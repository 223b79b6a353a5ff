// Checks of the training step's guards: a non-finite gradient is reported with the full path of the
// parameter that holds it, so a user can tell which layer overflowed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../engine/tensor.js';
import { NonFiniteError } from '../engine/errors.js';
import { Sequential } from '../nn/module.js';
import { Linear } from '../nn/layers/linear.js';
import { assertFiniteGrads } from './step.js';

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
