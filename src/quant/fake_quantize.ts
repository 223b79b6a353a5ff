// Fake quantization modules: the GDFQ/ZeroQ quantizer (spec §1.2) applied to activations (per tensor,
// range from an observer, or fixed when known without data) and to weights (per output channel, range =
// row min/max of the detached current weights, recomputed every forward). Rule: forward is
// quantize→dequantize on the 2^k-level asymmetric grid; backward is pure straight-through
// (ops.fakeQuantize), no gradient to the range.

import { Tensor, noGrad } from '../engine/tensor.js';
import { backend } from '../engine/backend.js';
import { fakeQuantize } from '../engine/ops/index.js';
import { LrqError, NonFiniteError } from '../engine/errors.js';
import { Module } from '../nn/module.js';
import { type RangeMode, RANGE_MODES, dataMinMax, mseRange, observeRange } from './observer.js';

/** Throw unless `bits` is an integer bit width in [2, 8] (the quantizer's supported range). */
export function checkBits(bits: number, where: string): void {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new LrqError(`${where}: bit width ${bits} is not an integer in [2, 8]`);
}

/** Per-row [min, max] of a tensor viewed as [shape[0], rest] (detached: plain arrays, no tape). */
export function rowRanges(w: Tensor): { lo: Float32Array; hi: Float32Array } {
  const rows = w.shape[0] ?? 1;
  const cols = rows === 0 ? 0 : w.size / rows;
  const { min, max } = backend().rowMinMax(w.data, rows, cols);
  return { lo: Float32Array.from(min), hi: Float32Array.from(max) };
}

/** Weight grids: GDFQ's asymmetric per-channel [min, max] (paper scheme) or symmetric around 0 (deploy). */
export type WeightGrid = 'asymmetric' | 'symmetric';

/**
 * The symmetric k-bit grid of a [lo, hi] range as a GDFQ range: step Δ = max(−lo/2^(k−1), hi/(2^(k−1)−1)),
 * levels −2^(k−1)…2^(k−1)−1 (all 2^k of them, zero point 0 in an int8 container), i.e. [lo', hi'] =
 * [−2^(k−1)Δ, (2^(k−1)−1)Δ] fed to the asymmetric quantizer.
 */
export function symmetricRange(lo: Float32Array, hi: Float32Array, bits: number): { lo: Float32Array; hi: Float32Array } {
  const n = 2 ** (bits - 1);
  const outLo = new Float32Array(lo.length), outHi = new Float32Array(lo.length);
  for (let c = 0; c < lo.length; c++) {
    const d = Math.max(-lo[c]! / n, hi[c]! / (n - 1), 1e-12);
    outLo[c] = -n * d;
    outHi[c] = (n - 1) * d;
  }
  return { lo: outLo, hi: outHi };
}

/** The per-channel [lo, hi] a weight is quantized with: row min/max, made symmetric for the deploy grid. */
export function weightRanges(w: Tensor, bits: number, grid: WeightGrid = 'asymmetric'): { lo: Float32Array; hi: Float32Array } {
  const r = rowRanges(w);
  return grid === 'symmetric' ? symmetricRange(r.lo, r.hi, bits) : r;
}

/** ŵ = fakeQuant(w) per output channel with lo/hi = row min/max of the detached w (STE gradient to w). */
export function fakeQuantizeWeight(w: Tensor, bits: number, grid: WeightGrid = 'asymmetric'): Tensor {
  const { lo, hi } = weightRanges(w, bits, grid);
  return fakeQuantize(w, lo, hi, bits, true);
}

/** mean((ŵ − w)²): the weight quantization error of a per-channel fake-quantized weight. */
export function weightQuantMse(w: Tensor, bits: number, grid: WeightGrid = 'asymmetric'): number {
  const q = noGrad(() => fakeQuantizeWeight(w, bits, grid));
  let s = 0;
  for (let i = 0; i < w.size; i++) {
    const d = q.data[i]! - w.data[i]!;
    s += d * d;
  }
  return w.size ? s / w.size : 0;
}

/**
 * Activation fake-quantizer (GDFQ's QuantAct): y = fakeQuant(x; lo, hi, bits), per tensor. While
 * `observerEnabled` (calibration) each forward first updates [lo, hi] from the batch's whole-tensor
 * min/max with the chosen range mode — in train and eval mode alike, as GDFQ's `running_stat`.
 * A range set by fixRange (torch.ao's FixedQParamsFakeQuantize) is never observed.
 * Buffers `lo`, `hi`, `updates` (state dict) hold the range and the number of observed batches.
 */
export class ActFakeQuant extends Module {
  /** Calibration switch: observe batch ranges (true) or keep them frozen (false). */
  observerEnabled = true;
  /** The range was fixed by fixRange: no observer moves it, whatever `observerEnabled` says, and LSQ leaves it alone. */
  rangeFixed = false;
  /** Quantize the output (false = identity, for FP comparisons). */
  fakeQuantEnabled = true;
  readonly lo: Tensor;
  readonly hi: Tensor;
  readonly updates: Tensor;

  constructor(readonly bits: number, readonly rangeMode: RangeMode = 'gdfq-ema', readonly beta = 0.9) {
    super();
    checkBits(bits, 'ActFakeQuant');
    if (!RANGE_MODES.includes(rangeMode)) throw new LrqError(`ActFakeQuant: unknown range mode '${rangeMode}' (use ${RANGE_MODES.join(', ')})`);
    this.lo = this.registerBuffer('lo', new Tensor(new Float32Array(1), [1]));
    this.hi = this.registerBuffer('hi', new Tensor(new Float32Array(1), [1]));
    this.updates = this.registerBuffer('updates', new Tensor(new Float32Array(1), [1]));
  }

  /** The current range [lo, hi]. */
  range(): [number, number] {
    return [this.lo.data[0]!, this.hi.data[0]!];
  }

  /** One observer step from a batch's (min, max); β_t = β^updates is derived from the update count. */
  observe(min: number, max: number): void {
    const n = this.updates.data[0]!;
    const s = observeRange(this.rangeMode, { lo: this.lo.data[0]!, hi: this.hi.data[0]!, betaT: Math.pow(this.beta, n), updates: n }, min, max, this.beta);
    this.lo.data[0] = s.lo;
    this.hi.data[0] = s.hi;
    this.updates.data[0] = s.updates;
  }

  /** Fix the range to [lo, hi], known without data (e.g. the network input's normalized pixel range); no updates counted. */
  fixRange(lo: number, hi: number): void {
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new LrqError(`ActFakeQuant: fixed range [${lo}, ${hi}] must be finite with lo < hi`);
    this.lo.data[0] = lo;
    this.hi.data[0] = hi;
    this.updates.data[0] = 0;
    this.rangeFixed = true;
  }

  /** Forget the observed range (lo = hi = 0, no updates); a fixed range stays. */
  resetRange(): void {
    if (this.rangeFixed) return;
    this.lo.data[0] = 0;
    this.hi.data[0] = 0;
    this.updates.data[0] = 0;
  }

  override forward(x: Tensor): Tensor {
    if (this.observerEnabled && !this.rangeFixed) {
      const [mn, mx] = dataMinMax(x.data);
      if (x.size === 0) throw new LrqError('ActFakeQuant: empty activation tensor');
      if (mn !== mn) throw new NonFiniteError(`ActFakeQuant: activation of shape [${x.shape.join(', ')}] became NaN`);
      if (this.rangeMode === 'mse') {
        const [lo, hi] = mseRange(x.data, this.bits, [mn, mx]);
        this.observe(lo, hi);
      } else this.observe(mn, mx);
    }
    if (!this.fakeQuantEnabled) return x;
    return fakeQuantize(x, Float32Array.from(this.lo.data), Float32Array.from(this.hi.data), this.bits, false);
  }
}
