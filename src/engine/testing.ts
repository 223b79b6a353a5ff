// Test helpers for the engine's own tests: seeded float64 leaves for gradchecks and approximate
// comparison of arrays. Not part of the public API.

import assert from 'node:assert/strict';
import { Rng } from './random.js';
import { Tensor } from './tensor.js';
import { type Backend, backend, setBackend } from './backend.js';

/** A float64 leaf of N(0,1)·scale (+ shift) values that requires grad. */
export function randn64(rng: Rng, shape: readonly number[], scale = 1, shift = 0): Tensor {
  const t = rng.normal(shape, shift, scale, 'float64');
  return t.requiresGrad_(true);
}

/** A float64 leaf of uniform values in [lo, hi) that requires grad. */
export function rand64(rng: Rng, shape: readonly number[], lo = 0, hi = 1): Tensor {
  return rng.uniform(shape, lo, hi, 'float64').requiresGrad_(true);
}

/** Assert |a − b| ≤ atol + rtol·|b| elementwise (and equal lengths). */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, atol = 1e-6, rtol = 1e-5, what = 'values'): void {
  assert.equal(a.length, b.length, `${what}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= atol + rtol * Math.abs(b[i]!))) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]} (|diff| ${d})`);
  }
}

/** Run fn with backend `name` active, restoring the previously active backend afterwards. */
export function withBackend<T>(name: Backend['name'], fn: () => T): T {
  const prev = backend().name;
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}
