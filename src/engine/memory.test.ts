// Memory held by a training step (docs/ARCHITECTURE.md, Memory): backward drops each node's tape as soon
// as it has passed its gradient on (so saved activations are collectable mid-pass, not only after it),
// and the oneDNN addon keeps no activation-sized layout scratch per conv geometry (it is taken from the
// pool for one call), so RSS does not grow with the number of distinct conv shapes a process has run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Tensor, result } from './tensor.js';
import { availableBackends } from './backend.js';
import * as ops from './ops/index.js';

test('backward releases each node as soon as its backward has run', () => {
  const x = new Tensor(new Float32Array([1, 2, 3]), [3], true);
  const seen: (string | null)[] = [];
  let z: Tensor | null = null;
  // y = x·2 whose backward looks at z = y·3: z's node must be gone by then (its backward ran first).
  const y = result('double', Float32Array.from(x.data, (v) => v * 2), [3], [x], (g) => {
    seen.push(z!.node === null ? null : z!.node.op);
    return [ops.mul(g, 2)];
  });
  z = result('triple', Float32Array.from(y.data, (v) => v * 3), [3], [y], (g) => [ops.mul(g, 3)]);
  ops.sum(z).backward();
  assert.deepEqual(seen, [null], 'the consumed node of z was still on the tape');
  assert.deepEqual(Array.from(x.grad!.data), [6, 6, 6]);
  assert.equal(y.node, null);
});

// The child runs forward + backward of 3×3 convs at 24 distinct spatial sizes (each input 1.5–4 MB) with
// the free-buffer pool off (LRQ_POOL_MB=0: freed buffers go back to the OS), then prints its RSS growth.
// Cached per geometry, the blocked-layout copies of src/dst/gy/gx grew RSS by ~6 activations per shape.
const CHILD = `
import { Rng } from './random.ts';
import * as ops from './ops/index.ts';
import { backend } from './backend.ts';
import './ops/registerBackends.ts';
if (backend().name !== 'onednn') { console.log('{"skip":true}'); process.exit(0); }
const rng = new Rng(1);
const w = rng.normal([32, 32, 3, 3]).requiresGrad_();
const step = (hw) => { const x = rng.normal([2, 32, hw, hw]).requiresGrad_(); ops.sum(ops.conv2d(x, w, null, { padding: 1 })).backward(); w.grad = null; };
step(40);
globalThis.gc(); const rss0 = process.memoryUsage().rss;
for (let hw = 40; hw < 64; hw++) step(hw);
globalThis.gc(); const rss1 = process.memoryUsage().rss;
console.log(JSON.stringify({ growthMB: (rss1 - rss0) / 1e6, perShapeMB: 6 * 2 * 32 * 52 * 52 * 4 / 1e6 }));
`;

test('conv layout scratch is not kept per geometry (RSS flat over many conv shapes)', { skip: !availableBackends().includes('onednn') && 'oneDNN addon not built' }, () => {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: fileURLToPath(new URL('.', import.meta.url)), encoding: 'utf8', env: { ...process.env, LRQ_POOL_MB: '0', LRQ_THREADS: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { skip?: boolean; growthMB: number; perShapeMB: number };
  if (o.skip) return;
  // 24 shapes × ~6 cached activation copies would be ≈ 24 × perShapeMB (≈ 500 MB). Without them RSS still
  // grows 10–18 MB (measured 2026-12-08: oneDNN's per-geometry primitives and JIT code, malloc arenas), so
  // the bound is 10 shapes' worth (≈ 42 MB): 12× under the regression it guards against.
  assert.ok(o.growthMB < 10 * o.perShapeMB, `RSS grew ${o.growthMB.toFixed(0)} MB over 24 conv shapes (one shape's cached copies ≈ ${o.perShapeMB.toFixed(0)} MB)`);
});
