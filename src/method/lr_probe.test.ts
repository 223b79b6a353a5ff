// Checks of the curvature cap on the student LR (issue 19): the power iteration finds a known top
// eigenvalue and leaves the weights bit for bit; lrq's own Nesterov SGD converges just under the limit
// nesterovStableLr gives and diverges just over it; the student probe leaves the student as it found it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import * as ops from '../engine/ops/index.js';
import { Parameter } from '../nn/module.js';
import { SGD } from '../nn/optim/sgd.js';
import { loadOnnx } from '../io/onnx/index.js';
import { prepareQat, actQuantizers } from '../quant/prepare.js';
import { makeQConfig } from '../quant/qconfig.js';
import { resolveConfig } from './config.js';
import { stepParts } from './step.js';
import { CAP_SAFETY, cappedLr, nesterovStableLr, probeStudentLrCap, topCurvature } from './lr_probe.js';

const SHUFFLE = new URL('../../test/fixtures/import_matrix/shufflenet_v2_x1_0.onnx', import.meta.url).pathname;

/** L = ½ Σ_i a_i (u_i·w)² for orthonormal u_i: Hessian eigenvalues a_i (top 50 here), a dense rotation. */
function quadratic(w: Parameter): () => void {
  const a = [50, 20, 5, 1];
  const n = w.size;
  // u_i: normalized rows of a fixed pattern, Gram-Schmidt'ed
  const us: Float32Array[] = [];
  for (let i = 0; i < a.length; i++) {
    const u = Float32Array.from({ length: n }, (_, k) => Math.sin(1 + i * 7.3 + k * (i + 1.7)));
    for (const v of us) { let d = 0; for (let k = 0; k < n; k++) d += u[k]! * v[k]!; for (let k = 0; k < n; k++) u[k]! -= d * v[k]!; }
    let s = 0; for (const x of u) s += x * x;
    for (let k = 0; k < n; k++) u[k]! /= Math.sqrt(s);
    us.push(u);
  }
  return () => {
    let loss: Tensor | null = null;
    us.forEach((u, i) => {
      const p = ops.sum(ops.mul(w, new Tensor(u, w.shape)));
      const term = ops.mul(ops.mul(p, p), a[i]! / 2);
      loss = loss ? ops.add(loss, term) : term;
    });
    loss!.backward();
  };
}

test('topCurvature finds the top Hessian eigenvalue of a rotated quadratic and restores the weights exactly', () => {
  const w = new Parameter(new Rng(1).normal([6, 5]));
  const before = Float32Array.from(w.data);
  const lambda = topCurvature([w], quadratic(w), new Rng(2), 30);
  assert.ok(Math.abs(lambda - 50) < 50 * 2e-3, `λ̂ ${lambda}`);
  assert.deepEqual([...w.data], [...before]);
  assert.equal(w.grad, null);
});

test('nesterovStableLr is the limit of lrq\'s Nesterov SGD: converges at 0.9× it, diverges at 1.1× it (λ = 8e4, μ = 0.9)', () => {
  const lambda = 8e4, mu = 0.9;
  const limit = nesterovStableLr(lambda, mu);
  assert.ok(Math.abs(limit - 1.7e-5) < 1e-7, `limit ${limit}`); // 3.8/(2.8·8e4): the chenyaofo models' curvature
  const run = (lr: number): number => {
    const w = new Parameter(new Tensor(Float32Array.from([1]), [1]));
    const opt = new SGD([w], { lr, momentum: mu, nesterov: true, weightDecay: 0 });
    for (let i = 0; i < 400; i++) { w.grad = new Tensor(Float32Array.from([lambda * w.data[0]!]), [1]); opt.step(); }
    return Math.abs(w.data[0]!);
  };
  assert.ok(run(0.9 * limit) < 1e-3, `0.9×: ${run(0.9 * limit)}`);
  assert.ok(!(run(1.1 * limit) < 1e3), `1.1×: ${run(1.1 * limit)}`); // grows without bound (Inf/NaN in float32)
  assert.equal(cappedLr(1e-4, limit), limit);
  assert.equal(cappedLr(1e-4, 2e-4), 1e-4);
  assert.equal(cappedLr(1e-4, null), 1e-4);
});

test('probeStudentLrCap on a W4A4 ShuffleNetV2 student: cap = CAP_SAFETY·nesterovStableLr(λ̂); weights, gradients, observer and fake-quant switches unchanged',
  { skip: !existsSync(SHUFFLE) && 'fixture missing' }, () => {
    const teacher = loadOnnx(SHUFFLE), student = loadOnnx(SHUFFLE);
    prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4 }));
    const cfg = resolveConfig({ model: SHUFFLE, out: '/tmp/unused', preset: 'fast', batchSize: 4 });
    const parts = stepParts(cfg, teacher, student, null, 10);
    teacher.eval(); student.eval();
    const x = new Rng(5).normal([4, 3, 32, 32]);
    student.forward(x); // one calibration batch; observers stay on to check they are paused and restored
    const y = Int32Array.from([1, 2, 3, 4]);
    const t = teacher.forward(x).detach();
    const state = new Map([...student.stateDict()].map(([k, v]) => [k, Float32Array.from(v.data)]));
    const { lambda, cap } = probeStudentLrCap(parts, x, y, t, 1, 0, 2);
    assert.ok(lambda > 0 && Number.isFinite(lambda));
    assert.equal(cap, CAP_SAFETY * nesterovStableLr(lambda, cfg.momentum));
    for (const [k, v] of student.stateDict()) assert.deepEqual([...v.data], [...state.get(k)!], k);
    for (const p of student.parameters()) assert.equal(p.grad, null);
    for (const [, a] of actQuantizers(student)) { assert.equal(a.observerEnabled, true); assert.equal(a.fakeQuantEnabled, true); }
    // same seed and epoch → same λ̂ (its own stream, not the run's)
    assert.equal(probeStudentLrCap(parts, x, y, t, 1, 0, 2).lambda, lambda);
  });
