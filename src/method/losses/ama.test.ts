// AMA: m = 0 (norm-preserving) is plain CE on the teacher logits bit for bit, values and gradients match
// the spec §3.3 formula in torch (float64, both variants, both signs, monotonicity-fix branches hit),
// and a float64 finite-difference check of the gradient w.r.t. the feature.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor, tensor } from '../../engine/tensor.js';
import { crossEntropy, linear } from '../../engine/ops/index.js';
import { Rng } from '../../engine/random.js';
import { amaLogits, amaLoss, amaFixFraction, marginCos, type AmaOptions } from './ama.js';

const golden = JSON.parse(readFileSync(new URL('../../../test/fixtures/losses_golden.json', import.meta.url), 'utf8')).ama;

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

test('norm-preserving AMA with m = 0 equals plain CE on the teacher logits exactly (value and gradient)', () => {
  const rng = new Rng(9);
  const f = rng.normal([8, 16]);
  const W = rng.normal([10, 16]);
  const b = rng.normal([10], 0, 0.1);
  const y = rng.integers(0, 10, 8);
  const t1 = linear(f, W, b).requiresGrad_();
  const t2 = new Tensor(t1.data.slice(), t1.shape, true);
  const l1 = amaLoss(t1, f, W, b, y, { margin: 0 });
  const l2 = crossEntropy(t2, y);
  assert.equal(l1.item(), l2.item());
  assert.deepEqual(amaLogits(t1, f, W, b, y, { margin: 0 }).toArray(), t1.toArray());
  l1.backward();
  l2.backward();
  assert.deepEqual(t1.grad!.toArray(), t2.grad!.toArray());
  // a positive margin makes the loss larger (the target logit shrinks)
  assert.ok(amaLoss(t1, f, W, b, y, { margin: 0.3 }).item() > l2.item());
});

test('AMA matches the spec formula in torch (float64): logits, loss and d loss/d f with t = f·Wᵀ + b', () => {
  const y = Int32Array.from(golden.y);
  const W = tensor(golden.W, [golden.C, golden.D], { dtype: 'float64' });
  const b = tensor(golden.b, [golden.C], { dtype: 'float64' });
  for (const c of golden.cases as { variant: AmaOptions['variant']; margin: number; scale: number; sign: 1 | -1; logits: number[]; loss: number; gradF: number[] }[]) {
    const f = tensor(golden.f, [golden.B, golden.D], { dtype: 'float64', requiresGrad: true });
    const t = linear(f, W, b);
    const opts = { variant: c.variant, margin: c.margin, scale: c.scale, sign: c.sign };
    const lg = amaLogits(t, f, W, b, y, opts);
    const what = `${c.variant} m=${c.margin} sign=${c.sign}`;
    lg.toArray().forEach((v, i) => close(v, c.logits[i]!, 1e-7, `${what} logit ${i}`));
    const loss = crossEntropy(lg, y);
    close(loss.item(), c.loss, 1e-7, `${what} loss`);
    loss.backward();
    f.grad!.toArray().forEach((g, i) => close(g, c.gradF[i]!, 1e-6, `${what} grad ${i}`));
  }
  // the fixture exercises the monotonicity fix in both directions
  const f = tensor(golden.f, [golden.B, golden.D], { dtype: 'float64' });
  assert.ok(amaFixFraction(f, W, y, { margin: 0.5, sign: 1 }) > 0);
  assert.ok(amaFixFraction(f, W, y, { margin: 0.3, sign: -1 }) > 0);
});

test('AMA gradient w.r.t. the feature matches central finite differences (float64)', () => {
  const rng = new Rng(21);
  const B = 4, C = 6, D = 5;
  const W = rng.normal([C, D], 0, 1, 'float64');
  const b = rng.normal([C], 0, 0.1, 'float64');
  const y = rng.integers(0, C, B);
  const f0 = rng.normal([B, D], 0, 1, 'float64');
  for (const opts of [{ variant: 'norm-preserving', margin: 0.5, sign: 1 }, { variant: 'norm-preserving', margin: 0.4, sign: -1 }, { variant: 'arcface', margin: 0.5, scale: 8, sign: 1 }] as Partial<AmaOptions>[]) {
    const lossAt = (fd: Float64Array, grad: boolean): { v: number; g?: number[] } => {
      const f = new Tensor(fd, [B, D], grad);
      const l = amaLoss(linear(f, W, b), f, W, b, y, opts);
      if (!grad) return { v: l.item() };
      l.backward();
      return { v: l.item(), g: f.grad!.toArray() };
    };
    const g = lossAt(f0.data.slice() as Float64Array, true).g!;
    const h = 1e-6;
    for (let i = 0; i < B * D; i++) {
      const p = f0.data.slice() as Float64Array, m = f0.data.slice() as Float64Array;
      p[i]! += h;
      m[i]! -= h;
      const num = (lossAt(p, false).v - lossAt(m, false).v) / (2 * h);
      assert.ok(Math.abs(num - g[i]!) < 1e-6 * Math.max(1, Math.abs(num)), `${opts.variant} sign ${opts.sign} [${i}]: fd ${num} vs ${g[i]}`);
    }
  }
});

test('marginCos is cos(θ + m) on the main branch and monotone across the fix; zero feature rows keep finite gradients', () => {
  const thetas = Array.from({ length: 181 }, (_, i) => (i * Math.PI) / 180);
  for (const sign of [1, -1] as const) {
    const c = tensor(thetas.map(Math.cos), undefined, { dtype: 'float64' });
    const phi = marginCos(c, 0.5, sign).toArray();
    for (let i = 1; i < phi.length; i++) assert.ok(phi[i]! <= phi[i - 1]! + 1e-12, `sign ${sign}: φ rises at θ=${thetas[i]}`);
    const mid = 90; // θ = π/2 lies on the main branch for both signs
    close(phi[mid]!, Math.cos(Math.PI / 2 + sign * 0.5), 1e-12, `sign ${sign} main branch`);
  }
  // an all-zero feature row (every ReLU dead) keeps finite gradients
  const f = tensor([0, 0, 0, 1, 2, 3], [2, 3], { requiresGrad: true });
  const W = tensor([1, 0, 0, 0, 1, 0], [2, 3]);
  for (const variant of ['norm-preserving', 'arcface'] as const) {
    f.grad = null;
    const l = amaLoss(linear(f, W, null), f, W, null, Int32Array.of(0, 1), { variant, margin: 0.5 });
    l.backward();
    assert.ok(Number.isFinite(l.item()) && f.grad!.toArray().every(Number.isFinite), `${variant}: ${f.grad!.toArray()}`);
  }
  assert.throws(() => amaLoss(tensor([1, 2], [1, 2]), tensor([1, 2, 3], [1, 3]), tensor([1, 2], [2, 1]), null, Int32Array.of(0)), /FC weight must be \[2, 3\]/);
});
