// Embedding lookup: rows of a [V, D] table gathered by integer ids; backward scatter-adds into the table.

import './registerBackends.js';
import { backend } from '../backend.js';
import { fmtShape } from '../dtype.js';
import { LrqError, ShapeError } from '../errors.js';
import { Tensor, result } from '../tensor.js';

/** out[i, :] = table[ids[i], :] → [ids.length, D]. */
export function embedding(ids: Int32Array, table: Tensor): Tensor {
  if (table.ndim !== 2) throw new ShapeError('embedding', `table must be [V, D], got ${fmtShape(table.shape)}`);
  const [v, d] = table.shape as [number, number];
  for (const id of ids) if (!(id >= 0 && id < v)) throw new LrqError(`embedding: id ${id} out of range [0, ${v}) for table ${fmtShape(table.shape)}`);
  return result('embedding', backend().gatherRows(table.data, d, ids), [ids.length, d], [table], (g) => [
    new Tensor(backend().scatterAddRows(g.data, v, d, ids), table.shape),
  ]);
}
