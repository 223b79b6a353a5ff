// AdaRound (Nagel et al. 2020) on the prepared student's own weight quantizer: per output channel the
// grid {s, zp} of the layer's frozen range (GDFQ numerics, asymmetric or symmetric), and per weight a
// learned choice between floor and ceil. Rule: the grid never moves while learning, the row extremes keep
// their nearest code (so the latent row range — and with it the grid the exporter re-derives — is unchanged
// after writeBack), and hard rounding is h = 1[V ≥ 0]: every weight ends at floor or ceil of s·w − zp.

import { Tensor, result } from '../../engine/tensor.js';
import { LrqError } from '../../engine/errors.js';
import { Parameter } from '../../nn/module.js';
import { gdfqCode, gdfqGrid } from '../../io/onnx_export/spec.js';
import { weightRanges } from '../../quant/fake_quantize.js';
import type { QuantConv2d, QuantLinear } from '../../quant/quant_modules.js';

/** Rectified-sigmoid stretch of AdaRound: h(V) = clip(σ(V)(ζ − γ) + γ, 0, 1). */
export const ZETA = 1.1, GAMMA = -0.1;
const f32 = Math.fround;
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** h(V) = clip(σ(V)(ζ − γ) + γ, 0, 1). */
export function rectSigmoid(v: number): number {
  return Math.min(1, Math.max(0, sigmoid(v) * (ZETA - GAMMA) + GAMMA));
}

/** The learned rounding of one weight-quantized layer (QuantConv2d / QuantLinear). */
export class AdaRound {
  /** Rounding logits V (same shape as the weight); h(V) is the fraction added to the floor code. */
  readonly v: Parameter;
  /** Soft rounding h(V) while learning; hard 1[V ≥ 0] afterwards. */
  soft = true;
  readonly bits: number;
  private readonly rows: number;
  private readonly cols: number;
  private readonly s: Float32Array;
  private readonly zp: Float32Array;
  /** floor(s·w − zp) per weight (float32 arithmetic, as the runtime's code). */
  private readonly base: Float32Array;
  /** Row extremes: code fixed at the nearest (1), learned (0). */
  private readonly fixed: Uint8Array;
  private readonly fixedCode: Float32Array;
  private readonly rowLo: Float32Array;
  private readonly rowHi: Float32Array;

  constructor(readonly layer: QuantConv2d | QuantLinear) {
    const w = layer.weight;
    this.bits = layer.weightBits;
    this.rows = w.shape[0]!;
    this.cols = w.size / this.rows;
    const r = weightRanges(w, this.bits, layer.grid);
    this.s = new Float32Array(this.rows);
    this.zp = new Float32Array(this.rows);
    this.rowLo = new Float32Array(this.rows).fill(Infinity);
    this.rowHi = new Float32Array(this.rows).fill(-Infinity);
    this.base = new Float32Array(w.size);
    this.fixed = new Uint8Array(w.size);
    this.fixedCode = new Float32Array(w.size);
    const v = new Float32Array(w.size);
    for (let c = 0; c < this.rows; c++) {
      const g = gdfqGrid(r.lo[c]!, r.hi[c]!, this.bits);
      this.s[c] = g.s;
      this.zp[c] = g.zp;
      for (let j = 0; j < this.cols; j++) {
        const x = w.data[c * this.cols + j]!;
        if (x < this.rowLo[c]!) this.rowLo[c] = x;
        if (x > this.rowHi[c]!) this.rowHi[c] = x;
      }
      for (let j = 0; j < this.cols; j++) {
        const i = c * this.cols + j;
        const x = w.data[i]!;
        const t = f32(f32(g.s * x) - g.zp);
        const fl = Math.floor(t);
        this.base[i] = fl;
        if (x === this.rowLo[c] || x === this.rowHi[c]) {
          this.fixed[i] = 1;
          this.fixedCode[i] = gdfqCode(x, g);
        }
        // V such that h(V) = t − floor(t): the soft start is the FP weight itself (inside the grid)
        const rest = Math.min(0.999, Math.max(0.001, t - fl));
        v[i] = -Math.log((ZETA - GAMMA) / (rest - GAMMA) - 1);
      }
    }
    this.v = new Parameter(new Tensor(v, w.shape));
  }

  /** Integer code of weight i: clamp(floor(s·w − zp) + h, −2^(k−1), 2^(k−1) − 1) (h soft or hard). */
  private code(i: number, h: number): number {
    if (this.fixed[i]) return this.fixedCode[i]!;
    const n = 2 ** (this.bits - 1);
    const q = this.base[i]! + h;
    return q < -n ? -n : q > n - 1 ? n - 1 : q;
  }

  /** ŵ = (clamp(floor(s·w − zp) + h(V)) + zp)/s per channel; gradient to V through h (0 where clamped or fixed). */
  weight(): Tensor {
    const n = 2 ** (this.bits - 1);
    const vd = this.v.data;
    const out = new Float32Array(vd.length);
    const dh = new Float32Array(vd.length); // dŵ/dV
    for (let c = 0; c < this.rows; c++) {
      const s = this.s[c]!, zp = this.zp[c]!;
      for (let j = 0; j < this.cols; j++) {
        const i = c * this.cols + j;
        const sg = sigmoid(vd[i]!);
        const raw = sg * (ZETA - GAMMA) + GAMMA;
        const h = this.soft ? Math.min(1, Math.max(0, raw)) : vd[i]! >= 0 ? 1 : 0;
        const q = this.code(i, h);
        out[i] = f32((q + zp) / s);
        const inside = !this.fixed[i] && this.base[i]! + h >= -n && this.base[i]! + h <= n - 1;
        dh[i] = this.soft && inside && raw > 0 && raw < 1 ? (sg * (1 - sg) * (ZETA - GAMMA)) / s : 0;
      }
    }
    return result('adaRound', out, this.v.shape, [this.v], (g) => {
      const gv = new Float32Array(dh.length);
      for (let i = 0; i < gv.length; i++) gv[i] = g.data[i]! * dh[i]!;
      return [new Tensor(gv, this.v.shape)];
    });
  }

  /** Rounding regularizer Σ_i (1 − |2h(V_i) − 1|^β) over the learned weights, with its gradient to V. */
  roundLoss(beta: number): Tensor {
    const vd = this.v.data;
    let sum = 0;
    const gr = new Float32Array(vd.length);
    for (let i = 0; i < vd.length; i++) {
      if (this.fixed[i]) continue;
      const sg = sigmoid(vd[i]!);
      const raw = sg * (ZETA - GAMMA) + GAMMA;
      const h = Math.min(1, Math.max(0, raw));
      const a = 2 * h - 1, m = Math.abs(a);
      sum += 1 - Math.pow(m, beta);
      if (raw > 0 && raw < 1 && m > 0) gr[i] = -beta * Math.pow(m, beta - 1) * Math.sign(a) * 2 * sg * (1 - sg) * (ZETA - GAMMA);
    }
    return result('adaRoundReg', Float32Array.of(sum), [], [this.v], (g) => {
      const k = g.data[0]!;
      const gv = new Float32Array(gr.length);
      for (let i = 0; i < gv.length; i++) gv[i] = k * gr[i]!;
      return [new Tensor(gv, this.v.shape)];
    });
  }

  /** Hard integer codes: clamp(floor(s·w − zp) + 1[V ≥ 0]) (row extremes: nearest). */
  codes(): Int32Array {
    const out = new Int32Array(this.v.size);
    for (let i = 0; i < out.length; i++) out[i] = this.code(i, this.v.data[i]! >= 0 ? 1 : 0);
    return out;
  }

  /** Floor codes floor(s·w − zp) of the original weight (the test's reference: every code is floor or floor + 1). */
  floorCodes(): Int32Array {
    return Int32Array.from(this.base);
  }

  /**
   * Write ŵ_hard into the latent weight: (code + zp)/s, clamped into the row's original [min, max] on the
   * asymmetric grid (whose ends may lie outside it), row extremes untouched — so re-quantizing the latent
   * weight with the range the layer re-derives gives the same codes. Returns the number of weights whose
   * re-quantized code (on the re-derived grid) differs (0 expected).
   */
  writeBack(): number {
    const w = this.layer.weight;
    const codes = this.codes();
    const clampRow = this.layer.grid === 'asymmetric';
    for (let c = 0; c < this.rows; c++) {
      const s = this.s[c]!, zp = this.zp[c]!;
      for (let j = 0; j < this.cols; j++) {
        const i = c * this.cols + j;
        if (this.fixed[i]) continue;
        let x = f32((codes[i]! + zp) / s);
        if (clampRow) x = Math.min(this.rowHi[c]!, Math.max(this.rowLo[c]!, x));
        // symmetric grid: a level beyond the row's non-dominant extreme may not widen the re-derived step,
        // even by the ulp that f32((n − 1)/s) can add — pull it in by 1e-6 of itself (far below half a step)
        else if (x > this.rowHi[c]! || x < this.rowLo[c]!) x = f32(x * (1 - 1e-6));
        w.data[i] = x;
      }
    }
    // verify against the layer's own quantizer (ranges re-derived from the new latent weight)
    const r = weightRanges(w, this.bits, this.layer.grid);
    let bad = 0;
    for (let c = 0; c < this.rows; c++) {
      const g = gdfqGrid(r.lo[c]!, r.hi[c]!, this.bits);
      for (let j = 0; j < this.cols; j++) if (gdfqCode(w.data[c * this.cols + j]!, g) !== codes[c * this.cols + j]) bad++;
    }
    return bad;
  }
}

/** β of the rounding regularizer at iteration t of T: 0-weight warm-up for the first `warmup` fraction, then β linear from βstart to βend. */
export function roundBeta(t: number, total: number, warmup: number, start = 20, end = 2): { on: boolean; beta: number } {
  if (!(total > 0)) throw new LrqError(`AdaRound: iterations ${total} must be positive`);
  const w0 = Math.floor(warmup * total);
  if (t < w0) return { on: false, beta: start };
  const p = total - w0 <= 1 ? 1 : (t - w0) / (total - w0 - 1);
  return { on: true, beta: end + (start - end) * Math.max(0, 1 - p) };
}

