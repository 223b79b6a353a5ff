// LSQ (Esser et al. 2020) on the prepared student's own activation quantizers: a learned step Δ with a
// fixed integer zero point, forward through the runtime's GDFQ fake-quantizer at [lo, hi] derived from Δ
// (so after writeBack the runtime computes exactly what was learned), LSQ's gradients and grad scale, and
// QDrop's element-wise random dropping of the quantization as an option. Rule: while attached, the
// quantizer's lo/hi buffers always hold the range its forward used (the deploy bias rounding reads them).

import { Tensor, result } from '../../engine/tensor.js';
import { backend } from '../../engine/backend.js';
import { LrqError } from '../../engine/errors.js';
import type { Rng } from '../../engine/random.js';
import { Parameter } from '../../nn/module.js';
import { mseRange } from '../../quant/observer.js';
import type { ActFakeQuant } from '../../quant/fake_quantize.js';

const f32 = Math.fround;

/** The GDFQ range of a step and zero point: lo = (zp − 2^(k−1))·Δ, hi = lo + (2^k − 1)·Δ. */
export function lsqRange(step: number, zp: number, bits: number): [number, number] {
  const lo = f32((zp - 2 ** (bits - 1)) * step);
  return [lo, f32(lo + (2 ** bits - 1) * step)];
}

/**
 * y = fakeQuant_GDFQ(x; lsqRange(Δ, zp)), i.e. Δ·(clamp(round(x/Δ − zp), −2^(k−1), 2^(k−1)−1) + zp).
 * Gradients (LSQ): ∂y/∂x = 1 inside the grid, 0 outside; ∂y/∂Δ = round(v) − v inside (v = x/Δ − zp),
 * the clipped level (b + zp) outside; the Δ gradient is multiplied by `gradScale`. Elements with
 * keep[i] = 1 (QDrop) pass x unquantized (∂y/∂x = 1, no Δ gradient).
 */
export function lsqFakeQuant(x: Tensor, step: Tensor, zp: number, bits: number, gradScale: number, keep: Uint8Array | null = null): Tensor {
  if (step.size !== 1) throw new LrqError(`lsqFakeQuant: the step must hold one value, got ${step.size}`);
  const d = step.data[0]!;
  if (!(d > 0) || !Number.isFinite(d)) throw new LrqError(`lsqFakeQuant: step ${d} must be a positive finite number`);
  const [lo, hi] = lsqRange(d, zp, bits);
  const q = backend().fakeQuant(x.data, 1, x.size, Float32Array.of(lo), Float32Array.of(hi), bits, keep);
  const out = x.data instanceof Float64Array ? Float64Array.from(q) : q instanceof Float32Array ? q : Float32Array.from(q);
  return result('lsqFakeQuant', out, x.shape, [x, step], (g) => {
    const { gx, gs } = backend().lsqBackward(x.data, g.data, d, zp, bits, keep);
    const gt = new Tensor(step.data instanceof Float64Array ? Float64Array.of(gs * gradScale) : Float32Array.of(gs * gradScale), step.shape);
    return [new Tensor(gx, x.shape), gt];
  });
}

/** An ActFakeQuant made learnable for the time of one block's reconstruction (attach … detach). */
export class LsqAct {
  readonly step: Parameter;
  zp = 0;
  /** QDrop probability of keeping an element unquantized (0 = off); only while `dropping`. */
  dropping = false;
  /** Next forward: initialize Δ, zp from the MSE-optimal range of its input (then quantize with it). */
  initPending = true;
  private original: unknown;

  constructor(readonly quant: ActFakeQuant, readonly drop: number, private readonly rng: Rng) {
    const [lo, hi] = quant.range();
    this.step = new Parameter(new Tensor(Float32Array.of(Math.max((hi - lo) / (2 ** quant.bits - 1), 1e-6)), [1]));
    this.setZeroPoint(lo);
  }

  private setZeroPoint(lo: number): void {
    this.zp = Math.round(lo / this.step.data[0]!) + 2 ** (this.quant.bits - 1);
  }

  /** Replace the quantizer's forward by the LSQ one (observers off). */
  attach(): void {
    const a = this.quant as unknown as { forward: (x: Tensor) => Tensor };
    this.original = Object.getOwnPropertyDescriptor(a, 'forward');
    this.quant.observerEnabled = false;
    a.forward = (x: Tensor) => this.forward(x);
  }

  /** Restore the quantizer's own forward and leave lo/hi = the learned grid (GDFQ's grid then gives Δ). */
  detach(): void {
    this.writeBack();
    const a = this.quant as unknown as { forward?: unknown };
    if (this.original) Object.defineProperty(a, 'forward', this.original as PropertyDescriptor);
    else delete a.forward;
  }

  /** lo, hi ← lsqRange(Δ, zp). */
  writeBack(): void {
    const [lo, hi] = lsqRange(this.step.data[0]!, this.zp, this.quant.bits);
    this.quant.lo.data[0] = lo;
    this.quant.hi.data[0] = hi;
  }

  /** LSQ forward (QDrop when dropping), grad scale 1/√(numel·(2^k − 1)). */
  forward(x: Tensor): Tensor {
    if (!this.quant.fakeQuantEnabled) return x;
    if (this.initPending) {
      this.initPending = false;
      const [lo, hi] = mseRange(x.data, this.quant.bits);
      if (hi > lo) {
        this.step.data[0] = (hi - lo) / (2 ** this.quant.bits - 1);
        this.setZeroPoint(lo);
      }
    }
    this.step.data[0] = Math.max(this.step.data[0]!, 1e-6);
    this.writeBack();
    const keep = this.dropping && this.drop > 0 ? this.rng.bernoulliMask(x.size, this.drop, backend().bernoulliMask) : null;
    return lsqFakeQuant(x, this.step, this.zp, this.quant.bits, 1 / Math.sqrt(x.size * (2 ** this.quant.bits - 1)), keep);
  }
}
