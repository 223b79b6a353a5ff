// PyTorch's default parameter initialization, drawn from a seeded `Rng` (never Math.random), so a
// model built with the same seed has the same weights on every machine. Layers take `rng` in their
// options; without one they draw from a process-wide default generator (torch.manual_seed analogue).

import { Rng } from '../engine/random.js';
import type { Tensor } from '../engine/tensor.js';
import type { DType } from '../engine/dtype.js';
import { numel } from '../engine/dtype.js';

let globalRng: Rng | null = null;

/** The process-wide default generator used by layers constructed without an explicit `rng`. */
export function defaultRng(): Rng {
  if (!globalRng) globalRng = new Rng(0);
  return globalRng;
}

/** Reseed the default generator (torch.manual_seed). */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

/** fan_in and fan_out of a weight [out, in, k…]: fan_in = in·∏k, fan_out = out·∏k (torch's _calculate_fan_in_and_fan_out). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const recept = numel(shape.slice(2));
  return { fanIn: shape[1]! * recept, fanOut: shape[0]! * recept };
}

/** U(−b, b) with b = gain·√(3/fan_in), gain = √(2/(1+a²)) (torch.nn.init.kaiming_uniform_, leaky_relu). */
export function kaimingUniform(rng: Rng, shape: readonly number[], a = Math.sqrt(5), dtype: DType = 'float32'): Tensor {
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fans(shape).fanIn);
  return rng.uniform(shape, -bound, bound, dtype);
}

/** U(lo, hi). */
export function uniform(rng: Rng, shape: readonly number[], lo: number, hi: number, dtype: DType = 'float32'): Tensor {
  return rng.uniform(shape, lo, hi, dtype);
}

/** N(mean, std²). */
export function normal(rng: Rng, shape: readonly number[], mean = 0, std = 1, dtype: DType = 'float32'): Tensor {
  return rng.normal(shape, mean, std, dtype);
}

/** Bias of a Conv/Linear layer: U(±1/√fan_in) (torch's reset_parameters). */
export function defaultBias(rng: Rng, n: number, fanIn: number, dtype: DType = 'float32'): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return rng.uniform([n], -bound, bound, dtype);
}
