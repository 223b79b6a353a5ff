// Pooling and upsampling: forward values, float64 gradchecks (padding, strides, count_include_pad both
// ways) and float32 backend parity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64, assertClose, withBackend } from '../testing.js';
import { tensor } from '../tensor.js';
import { availableBackends } from '../backend.js';
import * as ops from './index.js';

const rng = new Rng(17);
const x16 = tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);

test('pool and upsample forward values', () => {
  assert.deepEqual(ops.maxPool2d(x16, 2).toArray(), [5, 7, 13, 15]);
  assert.deepEqual(ops.avgPool2d(x16, 2).toArray(), [2.5, 4.5, 10.5, 12.5]);
  // 3×3 windows, stride 2, pad 1: corner window sees 0,1,4,5 → 10/9 with padding counted, 10/4 without
  assertClose(ops.avgPool2d(x16, 3, 2, 1, true).data.slice(0, 1), [10 / 9]);
  assertClose(ops.avgPool2d(x16, 3, 2, 1, false).data.slice(0, 1), [10 / 4]);
  assert.deepEqual(ops.maxPool2d(x16, 3, 2, 1).toArray(), [5, 7, 13, 15]);
  assert.deepEqual(ops.globalAvgPool(x16).shape, [1, 1, 1, 1]);
  assert.deepEqual(ops.globalAvgPool(x16).toArray(), [7.5]);
  assert.deepEqual(ops.upsampleNearest(tensor([1, 2, 3, 4], [1, 1, 2, 2])).toArray(), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
});

test('gradcheck pools', () => {
  gradcheck((t) => ops.avgPool2d(t!, 2), [randn64(rng, [2, 2, 4, 4])]);
  gradcheck((t) => ops.avgPool2d(t!, 3, 2, 1, true), [randn64(rng, [1, 2, 5, 5])]);
  gradcheck((t) => ops.avgPool2d(t!, [3, 2], [1, 2], 1, false), [randn64(rng, [1, 2, 5, 4])]);
  gradcheck((t) => ops.maxPool2d(t!, 2), [randn64(rng, [2, 2, 4, 4])]);
  gradcheck((t) => ops.maxPool2d(t!, 3, 2, 1), [randn64(rng, [1, 2, 5, 5])]);
  gradcheck((t) => ops.globalAvgPool(t!), [randn64(rng, [2, 3, 3, 2])]);
});

test('gradcheck upsampleNearest', () => {
  gradcheck((t) => ops.upsampleNearest(t!), [randn64(rng, [2, 2, 3, 2])]);
  gradcheck((t) => ops.upsampleNearest(t!, [3, 2]), [randn64(rng, [1, 2, 2, 3])]);
});

for (const name of availableBackends()) {
  test(`pool/upsample float32 parity: ${name} vs reference`, () => {
    const x = rng.normal([2, 3, 9, 8]).requiresGrad_();
    const fns = [
      (t: typeof x) => ops.avgPool2d(t, 3, 2, 1, true), (t: typeof x) => ops.avgPool2d(t, 3, 2, 1, false),
      (t: typeof x) => ops.maxPool2d(t, 3, 2, 1), (t: typeof x) => ops.upsampleNearest(t, 2), (t: typeof x) => ops.globalAvgPool(t),
    ];
    for (const [k, f] of fns.entries()) {
      const g = rng.normal(f(x).shape);
      const run = () => { x.grad = null; const y = f(x); y.backward(g); return [y.data, x.grad!.data]; };
      const want = withBackend('reference', run);
      const got = withBackend(name, run);
      got.forEach((d, i) => assertClose(d, want[i]!, 1e-5, 1e-4, `${name} pool fn ${k} output ${i}`));
    }
  });
}
