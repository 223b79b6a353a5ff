// conv2d: a hand-computed forward value, float64 gradchecks over stride / padding / groups / dilation
// (including depthwise 5×5 pad 2 and depthwise 7×7 dilation 3 pad 9 of the LKA block), and float32
// parity of every available backend against the reference kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64, assertClose, withBackend } from '../testing.js';
import { tensor } from '../tensor.js';
import { availableBackends } from '../backend.js';
import { ShapeError } from '../errors.js';
import * as ops from './index.js';
import type { Conv2dOptions } from './conv.js';

const rng = new Rng(21);

test('conv2d forward on a hand-checkable case', () => {
  // x = 1..9 as [1,1,3,3], w = ones [1,1,2,2], b = 1 → sums of 2×2 windows + 1
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
  const y = ops.conv2d(x, tensor([1, 1, 1, 1], [1, 1, 2, 2]), tensor([1]));
  assert.deepEqual(y.shape, [1, 1, 2, 2]);
  assert.deepEqual(y.toArray(), [13, 17, 25, 29]);
  // padding 1, stride 2: windows centred at (0,0),(0,2),(2,0),(2,2) of the 3×3 kernel ones
  const z = ops.conv2d(x, tensor(new Array(9).fill(1), [1, 1, 3, 3]), null, { padding: 1, stride: 2 });
  assert.deepEqual(z.toArray(), [12, 16, 24, 28]);
});

const cases: [string, number[], number[], Conv2dOptions, boolean][] = [
  ['plain 3×3', [2, 3, 5, 5], [4, 3, 3, 3], {}, true],
  ['strided, padded', [2, 2, 7, 6], [3, 2, 3, 3], { stride: 2, padding: 1 }, true],
  ['asymmetric stride/pad', [1, 2, 6, 7], [2, 2, 3, 2], { stride: [2, 1], padding: [1, 0, 2, 1] }, false],
  ['grouped', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, padding: 1 }, true],
  ['dilated grouped', [1, 4, 7, 7], [4, 2, 3, 3], { groups: 2, dilation: 2, padding: 2 }, true],
  ['depthwise 5×5 pad 2', [1, 3, 6, 6], [3, 1, 5, 5], { groups: 3, padding: 2 }, true],
  ['depthwise 7×7 dilation 3 pad 9', [1, 2, 8, 8], [2, 1, 7, 7], { groups: 2, dilation: 3, padding: 9 }, true],
  ['1×1 stride 2', [2, 3, 5, 5], [4, 3, 1, 1], { stride: 2 }, false],
];

for (const [name, xs, ws, opts, bias] of cases) {
  test(`gradcheck conv2d ${name}`, () => {
    const inputs = [randn64(rng, xs), randn64(rng, ws, 0.5)];
    if (bias) inputs.push(randn64(rng, [ws[0]!]));
    const y = ops.conv2d(inputs[0]!, inputs[1]!, inputs[2] ?? null, opts);
    assert.deepEqual(y.shape.slice(0, 2), [xs[0], ws[0]]);
    gradcheck((x, w, b) => ops.conv2d(x!, w!, b ?? null, opts), inputs);
  });
}

test('conv2d output size follows torch (depthwise 7×7 d3 p9 keeps size)', () => {
  const y = ops.conv2d(randn64(rng, [1, 2, 8, 8]), randn64(rng, [2, 1, 7, 7]), null, { groups: 2, dilation: 3, padding: 9 });
  assert.deepEqual(y.shape, [1, 2, 8, 8]);
});

test('conv2d shape errors name the op and both shapes', () => {
  assert.throws(() => ops.conv2d(randn64(rng, [1, 3, 4, 4]), randn64(rng, [2, 2, 3, 3])), (e: Error) =>
    e instanceof ShapeError && /conv2d/.test(e.message) && /\[1, 3, 4, 4\]/.test(e.message) && /\[2, 2, 3, 3\]/.test(e.message));
});

for (const name of availableBackends()) {
  test(`conv2d float32 parity: ${name} vs reference`, () => {
    for (const [, xs, ws, opts] of cases) {
      const x = rng.normal(xs).requiresGrad_(), w = rng.normal(ws).requiresGrad_(), b = rng.normal([ws[0]!]).requiresGrad_();
      const g = rng.normal(ops.conv2d(x, w, b, opts).shape);
      const run = () => {
        x.grad = w.grad = b.grad = null;
        const y = ops.conv2d(x, w, b, opts);
        y.backward(g);
        return [y.data, x.grad!.data, w.grad!.data, b.grad!.data];
      };
      const want = withBackend('reference', run);
      const got = withBackend(name, run);
      got.forEach((d, i) => assertClose(d, want[i]!, 1e-4, 1e-4, `${name} conv2d output ${i}`));
    }
  });
}
