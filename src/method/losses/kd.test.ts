// KD against PyTorch (float64 golden values from tools/fixtures/losses_golden.py): loss and gradient for
// both reductions; 'mean' is exactly 'batchmean' / C (the GDFQ quirk).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tensor } from '../../engine/tensor.js';
import { kdLoss } from './kd.js';

const golden = JSON.parse(readFileSync(new URL('../../../test/fixtures/losses_golden.json', import.meta.url), 'utf8')).kd;

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

test('kdLoss matches torch (float64) in value and gradient', () => {
  for (const c of golden.cases as { T: number; alpha: number; reduction: 'mean' | 'batchmean'; loss: number; gradS: number[] }[]) {
    const s = tensor(golden.s, [golden.B, golden.C], { dtype: 'float64', requiresGrad: true });
    const t = tensor(golden.t, [golden.B, golden.C], { dtype: 'float64' });
    const l = kdLoss(s, t, { temperature: c.T, alpha: c.alpha, reduction: c.reduction });
    close(l.item(), c.loss, 1e-10, `T=${c.T} ${c.reduction}`);
    l.backward();
    s.grad!.toArray().forEach((g, i) => close(g, c.gradS[i]!, 1e-9, `grad ${i}`));
  }
});

test("kdLoss 'mean' = 'batchmean' / C, float32 close to float64, zero when student = teacher", () => {
  const s = tensor(golden.s, [golden.B, golden.C]);
  const t = tensor(golden.t, [golden.B, golden.C]);
  const m = kdLoss(s, t, { temperature: 4, alpha: 1, reduction: 'mean' }).item();
  const bm = kdLoss(s, t, { temperature: 4, alpha: 1, reduction: 'batchmean' }).item();
  close(m * golden.C, bm, 1e-6, 'mean·C vs batchmean');
  close(m, golden.cases[0].loss, 1e-5, 'float32');
  assert.ok(Math.abs(kdLoss(t, t, { temperature: 4, alpha: 1, reduction: 'batchmean' }).item()) < 1e-6);
  assert.throws(() => kdLoss(s, t, { temperature: 0, alpha: 1, reduction: 'mean' }), /temperature/);
});
