// GDFQ's conditional generator (spec §1.4, `Generator` in xushoukai/GDFQ) with its PyTorch module
// names (label_emb, l1.0, conv_blocks0.0, conv_blocks1.{0,1}, conv_blocks2.{0,1,3,5}) so GDFQ
// checkpoints map one to one, generalized over image size, channels, classes and latent size; and
// LRQ's long-range generator (LRG, spec §3.2): the same net with LKA blocks at chosen positions.

import { Module, Sequential } from '../nn/module.js';
import { BatchNorm2d, Conv2d, Embedding, LeakyReLU, Linear, Tanh } from '../nn/layers/index.js';
import { defaultRng } from '../nn/init.js';
import { mul, reshape, upsampleNearest } from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import { fmtShape } from '../engine/dtype.js';
import type { Rng } from '../engine/random.js';
import type { DType } from '../engine/dtype.js';
import { makeLka, type LkaForm } from './lka.js';

/**
 * Where LKA blocks go in the LRG: 'after_l1' = after the reshaped Linear output and its BN (128 ch at
 * size/4, spec's "before_l1reshape(8×8)" variant); 'after_block1' = after conv_blocks1's LeakyReLU
 * (128 ch at size/2); 'after_block2' = after conv_blocks2's LeakyReLU (64 ch at full size).
 */
export type LkaPosition = 'after_l1' | 'after_block1' | 'after_block2';

export interface GeneratorOptions {
  /** Number of classes (label embedding rows), default 10. */
  numClasses?: number;
  /** Latent size d, default 100. */
  latentDim?: number;
  /** Square image side; must be divisible by 4 (init_size = size/4), default 32. */
  imgSize?: number;
  /** Output channels, default 3. */
  channels?: number;
  rng?: Rng;
  dtype?: DType;
}

export interface LrgOptions extends GeneratorOptions {
  /** LKA positions, default ['after_block1', 'after_block2']. */
  lkaPositions?: LkaPosition[];
  /** LKA form, default 'bare'. */
  lkaForm?: LkaForm;
  /** Gate as u + u ⊙ a instead of u ⊙ a. */
  lkaResidual?: boolean;
}

const LKA_CHANNELS: Record<LkaPosition, number> = { after_l1: 128, after_block1: 128, after_block2: 64 };
const LKA_NAMES: Record<LkaPosition, string> = { after_l1: 'lka_l1', after_block1: 'lka1', after_block2: 'lka2' };

type Fwd = { forward(x: Tensor): Tensor };

/**
 * x = BN₃(tanh(conv(LReLU(BN(conv(up(LReLU(BN(conv(up(BN₀(reshape(Linear(E[y] ⊙ z)))))))))))))) with BN eps
 * 1e-5, 0.8, 0.8 and an affine-free final BN; generator BNs use batch statistics in train mode.
 */
export class Generator extends Module {
  readonly numClasses: number;
  readonly latentDim: number;
  readonly imgSize: number;
  readonly initSize: number;
  readonly channels: number;
  /** LKA positions present (empty for plain GDFQ). */
  readonly lkaPositions: readonly LkaPosition[];

  constructor(opts: LrgOptions = {}) {
    super();
    const rng = opts.rng ?? defaultRng();
    const dtype = opts.dtype;
    this.numClasses = opts.numClasses ?? 10;
    this.latentDim = opts.latentDim ?? 100;
    this.imgSize = opts.imgSize ?? 32;
    this.channels = opts.channels ?? 3;
    if (this.imgSize % 4 !== 0 || this.imgSize <= 0) throw new LrqError(`Generator: image size ${this.imgSize} is not a positive multiple of 4`);
    this.initSize = this.imgSize / 4;
    this.lkaPositions = [...new Set(opts.lkaPositions ?? [])];
    const s2 = this.initSize * this.initSize;
    this.registerModule('label_emb', new Embedding(this.numClasses, this.latentDim, { rng, dtype }));
    this.registerModule('l1', new Sequential(new Linear(this.latentDim, 128 * s2, { rng, dtype })));
    this.registerModule('conv_blocks0', new Sequential(new BatchNorm2d(128, { dtype })));
    this.registerModule('conv_blocks1', new Sequential(
      new Conv2d(128, 128, 3, { padding: 1, rng, dtype }),
      // GDFQ passes 0.8 positionally, which lands in eps (spec §1.4): kept for parity.
      new BatchNorm2d(128, { eps: 0.8, dtype }),
      new LeakyReLU(0.2),
    ));
    this.registerModule('conv_blocks2', new Sequential(
      new Conv2d(128, 64, 3, { padding: 1, rng, dtype }),
      new BatchNorm2d(64, { eps: 0.8, dtype }),
      new LeakyReLU(0.2),
      new Conv2d(64, this.channels, 3, { padding: 1, rng, dtype }),
      new Tanh(),
      new BatchNorm2d(this.channels, { affine: false, dtype }),
    ));
    for (const pos of this.lkaPositions) {
      if (!(pos in LKA_CHANNELS)) throw new LrqError(`Generator: unknown LKA position '${pos}' (use after_l1, after_block1, after_block2)`);
      this.registerModule(LKA_NAMES[pos], makeLka(LKA_CHANNELS[pos], { form: opts.lkaForm, residual: opts.lkaResidual, rng, dtype }));
    }
  }

  private sub(path: string): Fwd {
    return this.getSubmodule(path) as unknown as Fwd;
  }

  private lka(pos: LkaPosition, x: Tensor): Tensor {
    return this.lkaPositions.includes(pos) ? this.sub(LKA_NAMES[pos]).forward(x) : x;
  }

  /** Images [B, channels, size, size] from latents z [B, latentDim] and labels y (B ints in [0, classes)). */
  override forward(z: Tensor, y: Int32Array): Tensor {
    if (z.ndim !== 2 || z.shape[1] !== this.latentDim || z.shape[0] !== y.length) {
      throw new LrqError(`Generator: expected z [${y.length}, ${this.latentDim}] for ${y.length} labels, got ${fmtShape(z.shape)}`);
    }
    const emb = (this.getSubmodule('label_emb') as Embedding).forward(y);
    let h = this.sub('l1').forward(mul(emb, z));
    h = reshape(h, [z.shape[0]!, 128, this.initSize, this.initSize]);
    h = this.sub('conv_blocks0').forward(h);
    h = this.lka('after_l1', h);
    h = upsampleNearest(h, 2);
    h = this.sub('conv_blocks1').forward(h);
    h = this.lka('after_block1', h);
    h = upsampleNearest(h, 2);
    for (const i of ['0', '1', '2']) h = this.sub(`conv_blocks2.${i}`).forward(h);
    h = this.lka('after_block2', h);
    for (const i of ['3', '4', '5']) h = this.sub(`conv_blocks2.${i}`).forward(h);
    return h;
  }
}

/** GDFQ's generator (no LKA). */
export function gdfqGenerator(opts: GeneratorOptions = {}): Generator {
  return new Generator({ ...opts, lkaPositions: [] });
}

/** LRQ's long-range generator: GDFQ's generator plus LKA blocks (default after_block1 and after_block2). */
export function longRangeGenerator(opts: LrgOptions = {}): Generator {
  return new Generator({ ...opts, lkaPositions: opts.lkaPositions ?? ['after_block1', 'after_block2'] });
}
