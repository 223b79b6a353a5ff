// Softmax family: forward identities (rows sum to 1, logsumexp stable for large inputs), gradchecks
// along every axis, and float32 backend parity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../gradcheck.js';
import { Rng } from '../random.js';
import { randn64, assertClose, withBackend } from '../testing.js';
import { tensor } from '../tensor.js';
import { availableBackends } from '../backend.js';
import * as ops from './index.js';

const rng = new Rng(19);

test('softmax / logSoftmax / logsumexp values', () => {
  const x = tensor([1, 2, 3, 1000, 1001, 1002], [2, 3], { dtype: 'float64' });
  const p = ops.softmax(x);
  const e = [Math.exp(-2), Math.exp(-1), 1];
  const z = e[0]! + e[1]! + e[2]!;
  assertClose(p.data, [...e, ...e].map((v) => v / z), 1e-15, 1e-12);
  assertClose(ops.logSoftmax(x).data, [...e, ...e].map((v) => Math.log(v / z)), 1e-12, 1e-12);
  assertClose(ops.logsumexp(x).data, [3 + Math.log(z), 1002 + Math.log(z)], 1e-12, 1e-12);
  assert.deepEqual(ops.logsumexp(x, 0, true).shape, [1, 3]);
  assertClose(ops.softmax(x, 0).data.slice(0, 1), [0], 1e-12);
});

for (const axis of [-1, 0, 1]) {
  test(`gradcheck softmax family along axis ${axis}`, () => {
    gradcheck((t) => ops.softmax(t!, axis), [randn64(rng, [3, 4, 2])]);
    gradcheck((t) => ops.logSoftmax(t!, axis), [randn64(rng, [3, 4, 2])]);
    gradcheck((t) => ops.logsumexp(t!, axis), [randn64(rng, [3, 4, 2])]);
    gradcheck((t) => ops.logsumexp(t!, axis, true), [randn64(rng, [3, 4, 2])]);
  });
}

for (const name of availableBackends()) {
  test(`softmax float32 parity: ${name} vs reference`, () => {
    const x = rng.normal([6, 10], 0, 3).requiresGrad_();
    const g = rng.normal([6, 10]);
    for (const f of [ops.softmax, ops.logSoftmax]) {
      const run = () => { x.grad = null; const y = f(x, 1); y.backward(g); return [y.data, x.grad!.data]; };
      const want = withBackend('reference', run);
      const got = withBackend(name, run);
      got.forEach((d, i) => assertClose(d, want[i]!, 1e-5, 1e-4, `${name} output ${i}`));
    }
  });
}
