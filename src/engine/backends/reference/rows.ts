// Row kernels of the reference backend on a [rows, cols] matrix: softmax and log-softmax (max-shifted
// for stability, accumulated in float64), and the embedding gather / scatter-add pair.

import { type Data, allocLike } from '../../dtype.js';

/** y[r,:] = x[r,:] − max − log Σ exp(x[r,:] − max). */
export function logSoftmax(x: Data, rows: number, cols: number): Data {
  const y = allocLike(x, x.length);
  for (let r = 0; r < rows; r++) {
    const b = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (x[b + j]! > mx) mx = x[b + j]!;
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[b + j]! - mx);
    const lse = mx + Math.log(s);
    for (let j = 0; j < cols; j++) y[b + j] = x[b + j]! - lse;
  }
  return y;
}

/** y[r,:] = exp(x[r,:] − max) / Σ exp(x[r,:] − max). */
export function softmax(x: Data, rows: number, cols: number): Data {
  const y = allocLike(x, x.length);
  const e = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const b = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (x[b + j]! > mx) mx = x[b + j]!;
    let s = 0;
    for (let j = 0; j < cols; j++) { const v = Math.exp(x[b + j]! - mx); e[j] = v; s += v; }
    for (let j = 0; j < cols; j++) y[b + j] = e[j]! / s;
  }
  return y;
}

/** out[i,:] = table[ids[i],:]. */
export function gatherRows(table: Data, dim: number, ids: Int32Array): Data {
  const out = allocLike(table, ids.length * dim);
  for (let i = 0; i < ids.length; i++) out.set(table.subarray(ids[i]! * dim, (ids[i]! + 1) * dim), i * dim);
  return out;
}

/** g[v,:] = Σ_{i: ids[i]=v} gy[i,:]. */
export function scatterAddRows(gy: Data, vocab: number, dim: number, ids: Int32Array): Data {
  const g = allocLike(gy, vocab * dim);
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i]! * dim, s = i * dim;
    for (let j = 0; j < dim; j++) g[t + j]! += gy[s + j]!;
  }
  return g;
}
