// linear and matmul: forward values, float64 gradchecks (2-D, batched, broadcast batch dims) and
// float32 parity of every available backend against the reference kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64, assertClose, withBackend } from '../testing.js';
import { tensor } from '../tensor.js';
import { availableBackends } from '../backend.js';
import * as ops from './index.js';

const rng = new Rng(8);

test('linear and matmul forward values', () => {
  const x = tensor([1, 2, 3, 4], [2, 2]);
  const w = tensor([1, 0, 1, 1, 0, 2], [3, 2]);
  assert.deepEqual(ops.linear(x, w, tensor([0, 1, 2])).toArray(), [1, 4, 6, 3, 8, 10]);
  assert.deepEqual(ops.matmul(x, tensor([1, 1, 0, 1], [2, 2])).toArray(), [1, 3, 3, 7]);
  assert.throws(() => ops.matmul(x, w), /matmul.*\[2, 2\].*\[3, 2\]/);
});

test('gradcheck linear', () => {
  gradcheck((x, w, b) => ops.linear(x!, w!, b!), [randn64(rng, [4, 3]), randn64(rng, [5, 3]), randn64(rng, [5])]);
  gradcheck((x, w) => ops.linear(x!, w!), [randn64(rng, [2, 3, 3]), randn64(rng, [2, 3])]);
});

test('gradcheck matmul 2-D, batched and broadcast', () => {
  gradcheck(ops.matmul, [randn64(rng, [3, 4]), randn64(rng, [4, 2])]);
  gradcheck(ops.matmul, [randn64(rng, [2, 3, 4]), randn64(rng, [2, 4, 2])]);
  gradcheck(ops.matmul, [randn64(rng, [2, 3, 4]), randn64(rng, [4, 2])]);
  gradcheck(ops.matmul, [randn64(rng, [2, 1, 3, 4]), randn64(rng, [1, 3, 4, 2])]);
});

for (const name of availableBackends()) {
  test(`linear/matmul float32 parity: ${name} vs reference`, () => {
    const x = rng.normal([7, 13]).requiresGrad_(), w = rng.normal([5, 13]).requiresGrad_(), b = rng.normal([5]).requiresGrad_();
    const a = rng.normal([3, 4, 6]).requiresGrad_(), c = rng.normal([6, 5]).requiresGrad_();
    const g1 = rng.normal([7, 5]), g2 = rng.normal([3, 4, 5]);
    const run = () => {
      for (const t of [x, w, b, a, c]) t.grad = null;
      const y1 = ops.linear(x, w, b);
      y1.backward(g1);
      const y2 = ops.matmul(a, c);
      y2.backward(g2);
      return [y1.data, y2.data, x.grad!.data, w.grad!.data, b.grad!.data, a.grad!.data, c.grad!.data];
    };
    const want = withBackend('reference', run);
    const got = withBackend(name, run);
    got.forEach((d, i) => assertClose(d, want[i]!, 1e-4, 1e-4, `${name} output ${i}`));
  });
}
