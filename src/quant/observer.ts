// Activation range observers (torch.ao.quantization vocabulary): each keeps a whole-tensor [lo, hi]
// range updated from a batch's min and max. Rule: `gdfq-ema` reproduces GDFQ's QuantAct exactly,
// including its bias correction applied to the stored state every step (spec §1.2), overshoot and all.

import { LrqError, NonFiniteError } from '../engine/errors.js';
import type { Data } from '../engine/dtype.js';

/** How an activation quantizer tracks its range (spec §1.2). */
export type RangeMode = 'gdfq-ema' | 'plain-ema' | 'minmax' | 'mse';

export const RANGE_MODES: readonly RangeMode[] = ['gdfq-ema', 'plain-ema', 'minmax', 'mse'];

/** Observer state; `betaT` = β^updates (gdfq-ema's bias-correction factor), `updates` counts batches. */
export interface RangeState {
  lo: number;
  hi: number;
  betaT: number;
  updates: number;
}

/** The initial state of every mode: lo = hi = 0, β_t = 1 (GDFQ's buffers). */
export function initialRange(): RangeState {
  return { lo: 0, hi: 0, betaT: 1, updates: 0 };
}

/**
 * One observer step from a batch's (min, max), returning the new state:
 * gdfq-ema: β_t ← β_t·β; lo ← (lo·β + min·(1−β))/(1−β_t) (hi likewise);
 * plain-ema: first batch lo = min, then lo ← β·lo + (1−β)·min; minmax: lo ← min(lo, min) (first batch = min);
 * mse: as plain-ema, on the batch's MSE-optimal clipped range (see mseRange) passed as (min, max).
 */
export function observeRange(mode: RangeMode, s: RangeState, min: number, max: number, beta = 0.9): RangeState {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new NonFiniteError(`observer (${mode}): batch range [${min}, ${max}] became non-finite`);
  }
  const updates = s.updates + 1;
  switch (mode) {
    case 'gdfq-ema': {
      const betaT = s.betaT * beta;
      return {
        lo: (s.lo * beta + min * (1 - beta)) / (1 - betaT),
        hi: (s.hi * beta + max * (1 - beta)) / (1 - betaT),
        betaT,
        updates,
      };
    }
    case 'plain-ema':
    case 'mse':
      if (s.updates === 0) return { lo: min, hi: max, betaT: s.betaT, updates };
      return { lo: s.lo * beta + min * (1 - beta), hi: s.hi * beta + max * (1 - beta), betaT: s.betaT, updates };
    case 'minmax':
      if (s.updates === 0) return { lo: min, hi: max, betaT: s.betaT, updates };
      return { lo: Math.min(s.lo, min), hi: Math.max(s.hi, max), betaT: s.betaT, updates };
    default:
      throw new LrqError(`observer: unknown range mode '${String(mode)}' (use ${RANGE_MODES.join(', ')})`);
  }
}

/** Whole-tensor (min, max) of an array; NaN entries make the result NaN so observers can reject them. */
export function dataMinMax(d: Data): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v !== v) return [NaN, NaN];
  }
  return [lo, hi];
}

/** Grid of clip factors α (hi' = α·max, lo' = α·min) mseRange searches: 1, 0.975, …, 0.2. */
const CLIP_GRID = Array.from({ length: 33 }, (_, i) => 1 - 0.025 * i);
/** Histogram resolution of mseRange: the error of each candidate is summed over bin centres. */
const MSE_BINS = 2048;

/**
 * The MSE-optimal clipped range of a batch: argmin over α ∈ CLIP_GRID of Σ (fakeQuant(x; α·min, α·max, bits) − x)²,
 * evaluated on a 2,048-bin histogram of x (one pass over the data; each value stands at its bin centre).
 * `minMax` is the batch's (min, max) when the caller already has it.
 * Low-bit grids lose less to clipping rare outliers than to coarse steps over the full min–max span, so
 * the optimum on post-ReLU activations is usually α ≈ 0.4–0.7.
 */
export function mseRange(d: Data, bits: number, minMax: [number, number] = dataMinMax(d)): [number, number] {
  const [mn, mx] = minMax;
  if (mn !== mn || mn === mx) return [mn, mx];
  const width = (mx - mn) / MSE_BINS;
  const hist = new Float64Array(MSE_BINS);
  for (let i = 0; i < d.length; i++) hist[Math.min(MSE_BINS - 1, Math.floor((d[i]! - mn) / width))]++;
  const levels = 2 ** bits - 1;
  let best: [number, number] = [mn, mx], bestErr = Infinity;
  for (const a of CLIP_GRID) {
    const lo = a * mn, hi = a * mx, step = (hi - lo) / levels;
    let err = 0;
    for (let b = 0; b < MSE_BINS; b++) {
      const cnt = hist[b]!;
      if (cnt === 0) continue;
      const x = mn + (b + 0.5) * width;
      const c = x < lo ? lo : x > hi ? hi : x;
      const e = Math.round((c - lo) / step) * step + lo - x;
      err += cnt * e * e;
    }
    if (err < bestErr) { bestErr = err; best = [lo, hi]; }
  }
  return best;
}
