// gradcheck must catch a wrong backward (otherwise every gradcheck test would be vacuous).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from './gradcheck.js';
import { Tensor, result, tensor } from './tensor.js';
import { square } from './ops/index.js';

test('gradcheck passes a correct gradient and rejects a wrong one', () => {
  const x = tensor([0.3, -1.2, 2], [3], { dtype: 'float64', requiresGrad: true });
  gradcheck(square, [x]);
  // y = x² with a backward that forgets the factor 2
  const bad = (t: Tensor): Tensor => {
    const y = t.data.map((v) => v * v);
    return result('badSquare', y, t.shape, [t], (g) => [new Tensor(g.data.map((gv, i) => gv * t.data[i]!), t.shape)]);
  };
  assert.throws(() => gradcheck(bad, [x]), /analytic .* vs numeric/);
});
