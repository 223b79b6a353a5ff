// Regression test for a heap corruption: oneDNN 2.6.3's AVX-512 dnnl_sgemm, which matmul used to call,
// corrupted the malloc heap for the GDFQ generator's Linear (m 32, n 8192, k 100, B transposed, bias);
// `node --cpu-prof` made it abort at exit every time at one thread. matmul now runs oneDNN's matmul
// primitive. The child process repeats that product under the profiler and must exit cleanly with the
// same values as the reference backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative, nativeAddonPath } from './native.js';

const child = `
const nat = require(process.env.ADDON);
let s = 1;
const r = (n) => Float32Array.from({ length: n }, () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5);
const z = r(3200), w = r(819200), b = r(8192);
let y;
for (let i = 0; i < 200; i++) y = nat.matmul(z, w, 1, 32, 8192, 100, false, true, b, 0, 0);
let maxErr = 0;
for (const row of [0, 17, 31]) for (const col of [0, 1234, 8191]) {
  let acc = b[col];
  for (let t = 0; t < 100; t++) acc += z[row * 100 + t] * w[col * 100 + t];
  maxErr = Math.max(maxErr, Math.abs(acc - y[row * 8192 + col]));
}
console.log(JSON.stringify({ maxErr }));
`;

test('matmul does not corrupt the heap (generator Linear shape, under node --cpu-prof)', { skip: !loadNative() && 'oneDNN addon not built' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-cpuprof-'));
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '-e', child], {
      env: { ...process.env, LRQ_THREADS: '1', ADDON: nativeAddonPath()! },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `child exited with ${r.status} (signal ${r.signal}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
    const { maxErr } = JSON.parse(r.stdout.trim()) as { maxErr: number };
    assert.ok(maxErr < 1e-4, `matmul values off by ${maxErr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
