// Gradient temporaries recycled during backward (tensor.ts PendingGrads, the addon's release): on
// graphs large enough for pooled buffers, with the aliasing patterns that could free a buffer early —
// a tensor used twice, gradients passed through unchanged (add) or re-viewed (reshape), user-held
// intermediates and a user gradOut — gradients equal the reference backend's, nothing the caller can
// still reach is touched, and buffers really are handed back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './random.js';
import { assertClose, withBackend } from './testing.js';
import { type Tensor } from './tensor.js';
import { availableBackends } from './backend.js';
import { loadNative } from './backends/onednn/native.js';
import * as ops from './ops/index.js';

const shape = [4, 16, 32, 32]; // 65,536 floats: above the addon's pooling threshold (64 KB)

function graph(x: Tensor, w: Tensor): { out: Tensor; a: Tensor; c: Tensor } {
  const a = ops.relu(x);
  const b = ops.mul(a, w);
  const c = ops.add(b, a); // a feeds two ops
  const d = ops.reshape(c, [4, 16 * 32 * 32]); // gradient re-viewed
  const e = ops.add(d, d); // the same tensor twice: add's backward passes one gradient to both
  const f = ops.mul(ops.reshape(e, shape), x);
  return { out: ops.conv2d(f, ops.reshape(w, [16, 1, 32, 32]).requiresGrad_(false), null, { groups: 16 }), a, c };
}

test('backward recycles gradient temporaries without touching reachable arrays', { skip: !availableBackends().includes('onednn') && 'oneDNN addon not built' }, () => {
  const nat = loadNative()!;
  const rng = new Rng(5);
  const x0 = rng.normal(shape);
  const w0 = rng.normal([16, 1, 32, 32]);
  const run = (be: 'reference' | 'onednn') =>
    withBackend(be, () => {
      const x = x0.detach().requiresGrad_();
      const w = ops.reshape(w0.detach(), [1, 16, 32, 32]).requiresGrad_();
      const { out, a, c } = graph(x, w);
      const aBefore = Float32Array.from(a.data);
      const cBefore = Float32Array.from(c.data);
      const g = ops.mul(ops.relu(out), 1); // a pooled user gradOut when large (here [4,16,1,1]: small)
      const big = ops.add(ops.reshape(x, shape), 0); // a large user-held array made before backward
      const gBefore = Float32Array.from(g.data);
      const before = be === 'onednn' ? nat.poolStats().released : 0;
      out.backward(g);
      const released = be === 'onednn' ? nat.poolStats().released - before : 0;
      // Everything the caller holds is intact.
      assert.deepEqual(Float32Array.from(a.data), aBefore, `${be}: intermediate a changed`);
      assert.deepEqual(Float32Array.from(c.data), cBefore, `${be}: intermediate c changed`);
      assert.deepEqual(Float32Array.from(g.data), gBefore, `${be}: gradOut changed`);
      assert.equal(big.size, x0.size, `${be}: a user array was released`);
      return { gx: x.grad!.data, gw: w.grad!.data, out: out.data, released };
    });
  const want = run('reference');
  const first = run('onednn');
  const second = run('onednn'); // reuses the recycled buffers
  assert.ok(first.released >= 4, `expected gradient temporaries released, got ${first.released}`);
  for (const got of [first, second]) {
    assertClose(got.out, want.out, 1e-4, 1e-4, 'output');
    assertClose(got.gx, want.gx, 1e-4, 1e-4, 'x.grad');
    assertClose(got.gw, want.gw, 1e-3, 1e-4, 'w.grad');
  }
});

test('a released array fails loudly in a kernel instead of reading reused memory', { skip: !availableBackends().includes('onednn') && 'oneDNN addon not built' }, () => {
  const nat = loadNative()!;
  const since = nat.allocSerial();
  const y = nat.alloc(1 << 16, 1);
  const user = new Float32Array(1 << 16);
  assert.equal(nat.release(user, 0), false, 'a JS-made array must never be released');
  assert.equal(nat.release(y, since + 1), false, 'an array older than the mark must not be released');
  assert.equal(nat.release(y, since), true);
  assert.equal(y.length, 0);
  assert.throws(() => nat.unary('relu', y, 0, -Infinity, Infinity), /unary: argument 1 was released/);
});
