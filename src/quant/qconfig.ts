// Quantization configuration (torch.ao.quantization's QConfig, reduced to the GDFQ scheme): weight and
// activation bit widths chosen independently, the activation range mode, the first/last layer rule, and
// the model's input normalization (what the deploy scheme's input quantizer can know without data).
// Rule: defaults reproduce GDFQ (every conv and linear quantized at the same width, gdfq-ema ranges).

import { LrqError } from '../engine/errors.js';
import { type RangeMode, RANGE_MODES } from './observer.js';
import { checkBits } from './fake_quantize.js';
import type { Normalization } from '../io/datasets/normalize.js';

/** Quantization schemes: the quantized graph (see src/quant/deploy.ts for 'deploy'). */
export type QuantScheme = 'paper' | 'deploy';
export const QUANT_SCHEMES: readonly QuantScheme[] = ['paper', 'deploy'];

export interface QConfig {
  /** 'paper': GDFQ's graph (BN in FP, activation quantizers after ReLU only); 'deploy': what an integer runtime runs. */
  scheme: QuantScheme;
  /** Weight bit width (2–8), per output channel asymmetric. */
  weightBits: number;
  /** Activation bit width (2–8), per tensor after every ReLU/ReLU6. */
  actBits: number;
  /** Activation range observer (spec §1.2). */
  rangeMode: RangeMode;
  /** Weight bits of the first conv and last linear: 'same' as the rest (GDFQ) or 8. */
  firstLastBits: 'same' | 8;
  /** Quantize the first conv and last linear at all (false = keep them full precision). */
  quantizeFirstLast: boolean;
  /** EMA momentum β of the ema range modes. */
  emaBeta: number;
  /**
   * The model's input normalization when known (null: unknown). The deploy scheme then fixes its network-input
   * quantizer to the normalized pixel range (normalizedPixelRange; torch.ao's FixedQParamsFakeQuantize) instead
   * of observing it; the paper scheme ignores it (its tables use observed ranges).
   */
  normalization: Normalization | null;
}

/** A complete QConfig from partial options: GDFQ defaults (gdfq-ema, first/last same width, β = 0.9, normalization unknown). */
export function makeQConfig(opts: Partial<QConfig> & { weightBits: number; actBits: number }): QConfig {
  const q: QConfig = {
    scheme: 'paper',
    rangeMode: 'gdfq-ema',
    firstLastBits: 'same',
    quantizeFirstLast: true,
    emaBeta: 0.9,
    normalization: null,
    ...opts,
  };
  if (!QUANT_SCHEMES.includes(q.scheme)) throw new LrqError(`qconfig: unknown scheme '${String(q.scheme)}' (use ${QUANT_SCHEMES.join(', ')})`);
  checkBits(q.weightBits, 'qconfig weightBits');
  checkBits(q.actBits, 'qconfig actBits');
  if (!RANGE_MODES.includes(q.rangeMode)) throw new LrqError(`qconfig: unknown rangeMode '${q.rangeMode}' (use ${RANGE_MODES.join(', ')})`);
  if (q.firstLastBits !== 'same' && q.firstLastBits !== 8) throw new LrqError(`qconfig: firstLastBits must be 'same' or 8, got ${String(q.firstLastBits)}`);
  if (!(q.emaBeta > 0 && q.emaBeta < 1)) throw new LrqError(`qconfig: emaBeta ${q.emaBeta} is not in (0, 1)`);
  return q;
}

/** Weight bits of a layer under the first/last rule: weightBits, 8 for the first/last when firstLastBits = 8, null (FP) when they are not quantized. */
export function layerWeightBits(q: QConfig, path: string, first: string | null, last: string | null): number | null {
  if (path !== first && path !== last) return q.weightBits;
  if (!q.quantizeFirstLast) return null;
  return q.firstLastBits === 8 ? 8 : q.weightBits;
}
