// round (half to even), roundSTE and fakeQuantize: exact values at ties and grid endpoints, gradients
// (zero for round, identity for the straight-through ops) and float32 backend parity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../random.js';
import { assertClose, withBackend } from '../testing.js';
import { tensor } from '../tensor.js';
import { availableBackends } from '../backend.js';
import * as ops from './index.js';

test('round is half-to-even and keeps −0', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const y = ops.round(tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 2.6, -3.7], undefined, { dtype })).toArray();
    assert.deepEqual(y.slice(0, 3), [0, 2, 2]);
    assert.ok(Object.is(y[3], -0), `round(-0.5) should be -0, got ${y[3]}`);
    assert.deepEqual(y.slice(4), [-2, -2, 0, 3, -4]);
  }
});

test('round has zero gradient, roundSTE identity gradient', () => {
  const x = tensor([0.3, 1.7], [2], { requiresGrad: true });
  ops.sum(ops.mul(ops.round(x), 3)).backward();
  assert.equal(x.grad, null);
  ops.sum(ops.mul(ops.roundSTE(x), 3)).backward();
  assert.deepEqual(x.grad!.toArray(), [3, 3]);
});

test('fakeQuantize hits the grid endpoints exactly and clips outside', () => {
  // 2 bits on [−1, 2]: s = 1, zp = round(−1) + 2 = 1, grid {−1, 0, 1, 2}, y = round(x − 1) + 1.
  // Ties: 0.5 → round(−0.5) = −0 → 1; 1.5 → round(0.5) = 0 → 1; −0.5 → round(−1.5) = −2 → −1
  // (Math.round would give 2 and 0 for the last two).
  const y = ops.fakeQuantize(tensor([-1, 2, -5, 7, 0.4, 0.5, 1.5, -0.5], undefined, { dtype: 'float64' }), new Float32Array([-1]), new Float32Array([2]), 2, false);
  assert.deepEqual(y.toArray(), [-1, 2, -1, 2, 0, 1, 1, -1]);
  // 4 bits per channel. Row 0 [−0.7, 1.3]: s = 7.5, s·lo = −5.25 rounds to −5, so GDFQ's grid runs from
  // −5/7.5 to 10/7.5 (shifted by the integral zero point); row 1 [0, 6]: s = 2.5, grid 0 … 6.
  const lo = new Float32Array([-0.7, 0]), hi = new Float32Array([1.3, 6]);
  const x = tensor([-0.7, 1.3, 5, -5, 0, 6, 10, -1], [2, 4]);
  const q = ops.fakeQuantize(x, lo, hi, 4, true).toArray();
  assertClose([q[0]!, q[1]!, q[2]!, q[3]!], [-5 / 7.5, 10 / 7.5, 10 / 7.5, -5 / 7.5], 1e-6, 0);
  assertClose([q[4]!, q[5]!, q[6]!, q[7]!], [0, 6, 6, 0], 1e-6, 0);
  // 8 bits on [−1, 1]: s = 127.5, s·lo = −127.5 ties to −128 (Math.round: −127), grid (k − 128)/127.5;
  // grid points, both endpoints included, are fixed points.
  const grid = tensor([0, 1, 100, 255].map((k) => (k - 128) / 127.5), undefined, { dtype: 'float64' });
  assertClose(ops.fakeQuantize(grid, new Float32Array([-1]), new Float32Array([1]), 8, false).data, grid.data, 1e-12, 0);
});

test('fakeQuantize gradient is the identity (no masking of clipped values)', () => {
  const x = tensor([-5, 0.3, 9], [3], { requiresGrad: true });
  ops.sum(ops.mul(ops.fakeQuantize(x, new Float32Array([0]), new Float32Array([1]), 4, false), tensor([1, 2, 3]))).backward();
  assert.deepEqual(x.grad!.toArray(), [1, 2, 3]);
});

for (const name of availableBackends()) {
  test(`fakeQuantize float32 parity: ${name} vs reference (bit exact)`, () => {
    const rng = new Rng(29);
    const x = rng.normal([8, 50], 0.3, 1.7);
    // per-row ranges slightly inside the data so some values clip
    const lo = new Float32Array(8), hi = new Float32Array(8);
    for (let r = 0; r < 8; r++) {
      const row = x.data.subarray(r * 50, (r + 1) * 50);
      lo[r] = Math.min(...row) * 0.9;
      hi[r] = Math.max(...row) * 0.9;
    }
    for (const bits of [2, 4, 8]) {
      const want = withBackend('reference', () => ops.fakeQuantize(x, lo, hi, bits, true).toArray());
      const got = withBackend(name, () => ops.fakeQuantize(x, lo, hi, bits, true).toArray());
      assert.deepEqual(got, want);
    }
  });
}
