// Label helpers shared by the losses: checked integer class labels and constant one-hot masks.
// Rule: a bad label is a user error (LrqError naming the loss, the index and the class count).

import { Tensor } from '../../engine/tensor.js';
import type { DType } from '../../engine/dtype.js';
import { alloc } from '../../engine/dtype.js';
import { LrqError } from '../../engine/errors.js';

/** Throw unless logits are [B, C] (C ≥ minClasses) and y holds B labels in [0, C). */
export function checkLabels(where: string, logits: Tensor, y: Int32Array, minClasses = 1): void {
  if (logits.ndim !== 2) throw new LrqError(`${where}: logits must be [B, C], got [${logits.shape.join(', ')}]`);
  const [b, c] = logits.shape as [number, number];
  if (c < minClasses) throw new LrqError(`${where}: needs at least ${minClasses} classes, got ${c}`);
  if (y.length !== b) throw new LrqError(`${where}: ${y.length} labels for a batch of ${b}`);
  for (let i = 0; i < b; i++) {
    const v = y[i]!;
    if (v < 0 || v >= c) throw new LrqError(`${where}: label ${v} at index ${i} is outside [0, ${c})`);
  }
}

/** Constant one-hot matrix [B, C]: 1 at (i, y_i), else 0. */
export function oneHot(y: Int32Array, classes: number, dtype: DType = 'float32'): Tensor {
  const d = alloc(dtype, y.length * classes);
  for (let i = 0; i < y.length; i++) d[i * classes + y[i]!] = 1;
  return new Tensor(d, [y.length, classes]);
}
