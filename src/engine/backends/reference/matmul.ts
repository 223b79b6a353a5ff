// Batched matrix multiply of the reference backend: C = op(A)·op(B) (+ bias per column), float64
// accumulation. Loop order keeps the innermost loop contiguous: i-p-j (axpy rows of B) when B is not
// transposed, i-j-p (dot products) when it is.

import { type Data, allocLike } from '../../dtype.js';

/** C[b,i,j] = Σ_p A[b,i,p]·B[b,p,j] + bias[j]; A is [m,k] ([k,m] if transA), B is [k,n] ([n,k] if transB). */
export function matmul(a: Data, b: Data, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
  bias: Data | null, aBatchStride: number, bBatchStride: number): Data {
  const out = allocLike(a, batch * m * n);
  const row = new Float64Array(n);
  // A(i,p) = a[ao + i·ai + p·ap]
  const ai = transA ? 1 : k, ap = transA ? m : 1;
  for (let bt = 0; bt < batch; bt++) {
    const ao = bt * aBatchStride, bo = bt * bBatchStride, co = bt * m * n;
    for (let i = 0; i < m; i++) {
      const aRow = ao + i * ai;
      if (!transB) {
        if (bias) for (let j = 0; j < n; j++) row[j] = bias[j]!;
        else row.fill(0);
        let p = 0;
        // four rows of B per pass: one load/store of `row` per four multiply-adds
        for (; p + 4 <= k; p += 4) {
          const a0 = a[aRow + p * ap]!, a1 = a[aRow + (p + 1) * ap]!, a2 = a[aRow + (p + 2) * ap]!, a3 = a[aRow + (p + 3) * ap]!;
          const b0 = bo + p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
          for (let j = 0; j < n; j++) row[j]! += a0 * b[b0 + j]! + a1 * b[b1 + j]! + a2 * b[b2 + j]! + a3 * b[b3 + j]!;
        }
        for (; p < k; p++) {
          const av = a[aRow + p * ap]!;
          const bRow = bo + p * n;
          for (let j = 0; j < n; j++) row[j]! += av * b[bRow + j]!;
        }
        out.set(row, co + i * n);
      } else {
        for (let j = 0; j < n; j++) {
          const bRow = bo + j * k;
          let s = bias ? bias[j]! : 0;
          if (ap === 1) for (let p = 0; p < k; p++) s += a[aRow + p]! * b[bRow + p]!;
          else for (let p = 0; p < k; p++) s += a[aRow + p * ap]! * b[bRow + p]!;
          out[co + i * n + j] = s;
        }
      }
    }
  }
  return out;
}
