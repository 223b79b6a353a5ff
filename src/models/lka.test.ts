// LKA: parameter count (74·C + C² + 3·C), shape preservation, and PyTorch parity of outputs and
// gradients for the bare, residual and VAN-attention forms (test/fixtures/nn_generator.json).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { sum, mul } from '../engine/ops/index.js';
import { LKA, LKAAttention, makeLka } from './lka.js';
import { fillModule, maxDiff, wave } from './testing.js';

const fx = JSON.parse(readFileSync(new URL('../../test/fixtures/nn_generator.json', import.meta.url), 'utf8')) as {
  lka: { form: 'bare' | 'van-attention'; residual: boolean; C: number; H: number; x: number[]; y: number[]; gradX: number[]; grads: Record<string, [number, number]> }[];
};

const count = (m: { parameters(): { size: number }[] }) => m.parameters().reduce((a, p) => a + p.size, 0);

test('bare LKA has 74·C + C² + 3·C parameters (26,240 at C = 128, 9,024 at C = 64)', () => {
  assert.equal(count(new LKA(128, { rng: new Rng(0) })), 26240);
  assert.equal(count(new LKA(64, { rng: new Rng(0) })), 9024);
  // van-attention adds two 1×1 projections: 2·(C² + C).
  assert.equal(count(makeLka(64, { form: 'van-attention', rng: new Rng(0) })), 9024 + 2 * (64 * 64 + 64));
});

test('LKA preserves shape [B, C, H, W]', () => {
  const x = new Rng(1).normal([2, 8, 7, 5]);
  for (const form of ['bare', 'van-attention'] as const) assert.deepEqual(makeLka(8, { form, rng: new Rng(2) }).forward(x).shape, [2, 8, 7, 5]);
});

test('VAN init: weights N(0, 2/fan_out), biases zero', () => {
  const m = new LKAAttention(32, { rng: new Rng(3) });
  const w = m.proj_1.weight.data; // fan_out = 32 → std 0.25
  let s2 = 0;
  for (const v of w) s2 += v * v;
  const std = Math.sqrt(s2 / w.length);
  assert.ok(Math.abs(std - 0.25) < 0.02, `std ${std}`);
  assert.ok(m.spatial_gating_unit.conv_spatial.bias!.toArray().every((v) => v === 0));
  // bare form keeps PyTorch's default init: nonzero biases bounded by 1/√fan_in = 1/√25.
  const b = new LKA(32, { rng: new Rng(3) }).conv0.bias!.toArray();
  assert.ok(b.some((v) => v !== 0) && b.every((v) => Math.abs(v) <= 0.2));
});

for (const c of fx.lka) {
  test(`LKA ${c.form}${c.residual ? ' residual' : ''} matches PyTorch (output, dL/dx, dL/dθ)`, () => {
    const m = makeLka(c.C, { form: c.form, residual: c.residual, rng: new Rng(0) });
    fillModule(m);
    const x = new Tensor(Float32Array.from(c.x), [2, c.C, c.H, c.H], true);
    const y = m.forward(x);
    assert.ok(maxDiff(y.data, c.y) < 1e-4, `y diff ${maxDiff(y.data, c.y)}`);
    sum(mul(y, new Tensor(wave(y.size, 0.05), y.shape))).backward();
    assert.ok(maxDiff(x.grad!.data, c.gradX) < 1e-3, `gradX diff ${maxDiff(x.grad!.data, c.gradX)}`);
    const named = new Map(m.namedParameters());
    assert.deepEqual([...named.keys()].sort(), Object.keys(c.grads).sort());
    for (const [n, [s, a]] of Object.entries(c.grads)) {
      const g = named.get(n)!.grad!;
      let gs = 0, ga = 0;
      for (const v of g.data) { gs += v; ga += Math.abs(v); }
      assert.ok(Math.abs(gs - s) <= 1e-3 * (1 + Math.abs(a)) && Math.abs(ga - a) <= 1e-3 * (1 + a), `${n}: ${gs}/${ga} vs ${s}/${a}`);
    }
  });
}
