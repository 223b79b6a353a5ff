// BatchNorm over [N, C] or [N, C, …] input with PyTorch's names and semantics: parameters weight/bias
// (affine), buffers running_mean/running_var/num_batches_tracked; train mode normalizes with batch
// statistics and updates the running ones (running_var gets the unbiased variance), eval mode uses the
// running ones. `captureStats` records the differentiable batch statistics of the INPUT (BNS loss hook).

import { Module, Parameter } from '../module.js';
import { Tensor, full, zeros, ones } from '../../engine/tensor.js';
import { batchNorm, batchStats } from '../../engine/ops/index.js';
import { LrqError } from '../../engine/errors.js';
import { fmtShape } from '../../engine/dtype.js';
import type { DType } from '../../engine/dtype.js';

export interface BatchNormOpts {
  eps?: number;
  /** Running-stat update factor; null = cumulative moving average (1/num_batches_tracked), as torch. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
  dtype?: DType;
}

/** y = γ·(x − μ)/√(σ² + ε) + β per channel (dim 1), μ/σ² from the batch (train) or running stats (eval). */
export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** When true, every forward stores the batch mean and biased variance of its input in `lastStats`. */
  captureStats = false;
  /** Differentiable batch statistics of the last input (set only while `captureStats` is on). */
  lastStats: { mean: Tensor; var: Tensor } | null = null;

  constructor(numFeatures: number, opts: BatchNormOpts = {}) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    this.registerParameter('weight', this.affine ? new Parameter(ones([numFeatures], dtype)) : null);
    this.registerParameter('bias', this.affine ? new Parameter(zeros([numFeatures], dtype)) : null);
    this.registerBuffer('running_mean', this.trackRunningStats ? zeros([numFeatures], dtype) : null);
    this.registerBuffer('running_var', this.trackRunningStats ? ones([numFeatures], dtype) : null);
    // torch stores an int64 scalar; we keep a float scalar (exact up to 2^24 batches).
    this.registerBuffer('num_batches_tracked', this.trackRunningStats ? full([], 0, dtype) : null);
  }

  /** γ (null when affine = false). */
  get weight(): Parameter | null {
    return this.param('weight');
  }
  set weight(p: Parameter | null) {
    this.registerParameter('weight', p);
  }
  /** β (null when affine = false). */
  get bias(): Parameter | null {
    return this.param('bias');
  }
  set bias(p: Parameter | null) {
    this.registerParameter('bias', p);
  }
  /** Running mean buffer (null when trackRunningStats = false). */
  get runningMean(): Tensor | null {
    return this.buffer('running_mean');
  }
  /** Running (unbiased) variance buffer. */
  get runningVar(): Tensor | null {
    return this.buffer('running_var');
  }
  /** Number of train-mode forwards seen (float scalar). */
  get numBatchesTracked(): Tensor | null {
    return this.buffer('num_batches_tracked');
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numFeatures) {
      throw new LrqError(`BatchNorm: expected input [N, ${this.numFeatures}, …], got ${fmtShape(x.shape)}`);
    }
    if (this.captureStats) this.lastStats = batchStats(x);
    let factor = this.momentum ?? 0;
    const nbt = this.numBatchesTracked;
    if (this.training && this.trackRunningStats && nbt) {
      nbt.data[0] = nbt.data[0]! + 1;
      if (this.momentum === null) factor = 1 / nbt.data[0]!;
    }
    // torch: batch statistics when training or when no running stats exist; running stats are passed
    // (and updated in train mode) only when they are tracked.
    const useBatch = this.training || !this.trackRunningStats;
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, useBatch, factor, this.eps);
  }
}

/** The same layer for [N, C] or [N, C, L] input (torch.nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNorm2d {}
