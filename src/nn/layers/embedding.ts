// Embedding table [num, dim] (PyTorch name `weight`, init N(0, 1)) looked up by integer ids.

import { Module, Parameter } from '../module.js';
import { Tensor } from '../../engine/tensor.js';
import { embedding } from '../../engine/ops/index.js';
import { LrqError } from '../../engine/errors.js';
import { defaultRng, normal } from '../init.js';
import type { InitOptions } from './common.js';

/** y[i] = W[ids[i]]; W ~ N(0, 1). */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(numEmbeddings: number, embeddingDim: number, opts: InitOptions = {}) {
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const rng = opts.rng ?? defaultRng();
    this.registerParameter('weight', new Parameter(normal(rng, [numEmbeddings, embeddingDim], 0, 1, opts.dtype)));
  }

  /** The table W [num, dim]. */
  get weight(): Parameter {
    return this.param('weight')!;
  }
  set weight(p: Parameter) {
    this.registerParameter('weight', p);
  }

  override forward(ids: Int32Array): Tensor {
    for (const id of ids) {
      if (id < 0 || id >= this.numEmbeddings) throw new LrqError(`Embedding: id ${id} out of range [0, ${this.numEmbeddings})`);
    }
    return embedding(ids, this.weight);
  }
}
