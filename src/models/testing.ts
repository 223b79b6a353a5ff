// Test helpers for the model tests: fill parameters from the same formula as
// tools/fixtures/nn_generator.py, so PyTorch parity needs no weights in the fixture.

import type { Module } from '../nn/module.js';

/** v_i = a·sin(0.37·i + k), k = Σ charCode(name) mod 97 (see fill() in nn_generator.py). */
export function fillModule(m: Module): void {
  for (const [name, p] of m.namedParameters()) {
    let k = 0;
    for (const ch of name) k += ch.charCodeAt(0);
    k %= 97;
    const d = p.data;
    if (p.ndim >= 2) {
      const a = name.endsWith('label_emb.weight') ? 1 : 1 / Math.sqrt(p.size / p.shape[0]!);
      for (let i = 0; i < d.length; i++) d[i] = a * Math.sin(0.37 * i + k);
    } else if (name.endsWith('weight')) {
      for (let i = 0; i < d.length; i++) d[i] = 1 + 0.2 * Math.sin(0.37 * i + k);
    } else {
      for (let i = 0; i < d.length; i++) d[i] = 0.2 * Math.sin(0.37 * i + k);
    }
  }
}

/** cos(f·i + ph) for i < n, as wave() in the fixture script. */
export function wave(n: number, f: number, ph = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.cos(f * i + ph);
  return out;
}

/** Largest |a_i − b_i|. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
