// Gradient checking: autograd gradients versus central finite differences, in float64. A non-scalar
// output is reduced to the scalar L = Σ out ⊙ r with a fixed pseudo-random r, so every output
// element's gradient path is exercised.

import { Tensor, noGrad } from './tensor.js';
import { Rng } from './random.js';
import { fmtShape } from './dtype.js';

export interface GradcheckOptions { eps?: number; atol?: number; rtol?: number; seed?: number }
export interface GradcheckResult { maxAbsErr: number; maxRelErr: number; checked: number }

function project(out: Tensor, r: Float64Array): number {
  let s = 0;
  for (let i = 0; i < out.size; i++) s += out.data[i]! * r[i]!;
  return s;
}

/**
 * Check d(Σ fn(inputs) ⊙ r)/d(input) from backward() against (L(x+ε) − L(x−ε))/2ε for every element of
 * every input that requires grad. Throws an Error naming the input, element and both values when
 * |analytic − numeric| > atol + rtol·|numeric|; returns the largest errors otherwise.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-4;
  for (const x of inputs) {
    if (x.requiresGrad && x.dtype !== 'float64') throw new Error(`gradcheck: input ${fmtShape(x.shape)} must be float64`);
  }
  for (const x of inputs) x.grad = null;
  const out = fn(...inputs);
  const r = new Float64Array(out.size);
  const rng = new Rng(opts.seed ?? 1234);
  for (let i = 0; i < r.length; i++) r[i] = rng.random() * 2 - 1 + 0.1;
  const rt = new Tensor(r.slice(), out.shape);
  out.backward(rt);
  let maxAbsErr = 0, maxRelErr = 0, checked = 0;
  inputs.forEach((x, k) => {
    if (!x.requiresGrad) return;
    const analytic = x.grad ? x.grad.data : new Float64Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const orig = x.data[i]!;
      x.data[i] = orig + eps;
      const lp = noGrad(() => project(fn(...inputs), r));
      x.data[i] = orig - eps;
      const lm = noGrad(() => project(fn(...inputs), r));
      x.data[i] = orig;
      const numeric = (lp - lm) / (2 * eps);
      const a = analytic[i]!;
      const err = Math.abs(a - numeric);
      maxAbsErr = Math.max(maxAbsErr, err);
      maxRelErr = Math.max(maxRelErr, err / Math.max(Math.abs(numeric), 1e-12));
      checked++;
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        throw new Error(`gradcheck: input ${k} ${fmtShape(x.shape)} element ${i}: analytic ${a} vs numeric ${numeric} (|diff| ${err})`);
      }
    }
  });
  return { maxAbsErr, maxRelErr, checked };
}
