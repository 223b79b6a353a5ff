// DKD: parity with mdistiller's dkd_loss (torch float64 golden values), the per-sample identity
// KL(q‖p) = TCKD + (1 − q_y)·NCKD (spec §3.4), finite values where mdistiller's log(p) overflows, ramp.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tensor } from '../../engine/tensor.js';
import { klDiv, logSoftmax, softmax, div, sum, exp } from '../../engine/ops/index.js';
import { Rng } from '../../engine/random.js';
import { dkdLoss, dkdParts, dkdTerms, dkdRamp } from './dkd.js';

const golden = JSON.parse(readFileSync(new URL('../../../test/fixtures/losses_golden.json', import.meta.url), 'utf8')).dkd;

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

test('dkdLoss matches mdistiller (float64): total, TCKD, NCKD and the student gradient', () => {
  const y = Int32Array.from(golden.y);
  for (const c of golden.cases as { alpha: number; beta: number; T: number; loss: number; tckd: number; nckd: number; gradS: number[] }[]) {
    const s = tensor(golden.s, [golden.B, golden.C], { dtype: 'float64', requiresGrad: true });
    const t = tensor(golden.t, [golden.B, golden.C], { dtype: 'float64' });
    const p = dkdParts(s, t, y, { alpha: c.alpha, beta: c.beta, temperature: c.T });
    close(p.loss.item(), c.loss, 1e-10, `loss T=${c.T}`);
    close(p.tckd.item(), c.tckd, 1e-10, 'tckd');
    close(p.nckd.item(), c.nckd, 1e-10, 'nckd');
    p.loss.backward();
    s.grad!.toArray().forEach((g, i) => close(g, c.gradS[i]!, 1e-9, `grad ${i}`));
  }
});

test('per-sample identity: T²·KL(q‖p) = TCKD + (1 − q_y)·NCKD, so KD(batchmean) = mean of the same', () => {
  const rng = new Rng(5);
  const B = 6, C = 9, T = 3;
  const s = rng.normal([B, C], 0, 2, 'float64');
  const t = rng.normal([B, C], 0, 2, 'float64');
  const y = rng.integers(0, C, B);
  const { tckd, nckd, logQy } = dkdTerms(s, t, y, T);
  const klRows = sum(klDiv(logSoftmax(div(s, T), -1), softmax(div(t, T), -1), 'none'), 1);
  const qy = exp(logQy);
  let kdMean = 0, idMean = 0;
  for (let i = 0; i < B; i++) {
    const rhs = tckd.data[i]! + (1 - qy.data[i]!) * nckd.data[i]!;
    close(klRows.data[i]!, rhs, 1e-12, `sample ${i}`);
    kdMean += (T * T * klRows.data[i]!) / B;
    idMean += (T * T * rhs) / B;
  }
  const kdBatchmean = T * T * klDiv(logSoftmax(div(s, T), -1), softmax(div(t, T), -1), 'batchmean').item();
  close(kdBatchmean, kdMean, 1e-12, 'batchmean');
  close(kdBatchmean, idMean, 1e-12, 'identity over the batch');
  // α = β = 1 DKD differs from KD exactly by the decoupled weight: Σ q_y·NCKD_i
  const dkd = dkdLoss(s, t, y, { alpha: 1, beta: 1, temperature: T }).item();
  let gap = 0;
  for (let i = 0; i < B; i++) gap += (T * T * qy.data[i]! * nckd.data[i]!) / B;
  close(dkd - kdBatchmean, gap, 1e-10, 'DKD − KD');
});

test('no −∞/NaN where probabilities underflow (float32, logits ±200 at T = 1)', () => {
  const s = tensor([200, -200, 0, -200, 200, 0], [2, 3], { requiresGrad: true });
  const t = tensor([-200, 200, 0, 200, -200, 0], [2, 3]);
  const y = Int32Array.of(0, 1);
  const l = dkdLoss(s, t, y, { alpha: 1, beta: 8, temperature: 1 });
  assert.ok(Number.isFinite(l.item()) && l.item() > 100, `loss ${l.item()}`);
  l.backward();
  assert.ok(s.grad!.toArray().every(Number.isFinite));
  assert.ok(Math.abs(dkdLoss(t, t, y, { alpha: 1, beta: 8, temperature: 4 }).item()) < 1e-5);
  assert.throws(() => dkdLoss(s, t, Int32Array.of(0, 3), { alpha: 1, beta: 8, temperature: 1 }), /label 3 at index 1/);
});

test('dkdRamp = clamp((epoch − warmup + 1)/dkdWarmup, 0, 1)', () => {
  assert.deepEqual([0, 3, 4, 5, 13, 23, 24, 100].map((e) => dkdRamp(e, 4, 20)), [0, 0, 0.05, 0.1, 0.5, 1, 1, 1]);
  assert.deepEqual([3, 4].map((e) => dkdRamp(e, 4, 0)), [0, 1]);
});
