// Batch normalization kernels of the reference backend over x [n, c, hw]: training forward (batch
// statistics, biased variance), inference forward (given statistics), both backwards, and the batch
// moments alone (the BNS loss's statistics) with their backward. Statistics accumulate in float64.

import { type Data, allocLike } from '../../dtype.js';

/** μ_c = mean of x[:, c, :], σ²_c = biased variance; y = γ·(x−μ)/√(σ²+ε) + β. */
export function batchNormTrain(x: Data, n: number, c: number, hw: number, gamma: Data | null, beta: Data | null, eps: number):
  { y: Data; mean: Data; variance: Data } {
  const { mean, variance, mu, vr } = moments(x, n, c, hw);
  const y = normalize(x, n, c, hw, mu, vr, gamma, beta, eps);
  return { y, mean, variance };
}

/** μ_c = mean of x[:, c, :], σ²_c = biased variance (two passes, float64). */
export function batchMoments(x: Data, n: number, c: number, hw: number): { mean: Data; variance: Data } {
  const { mean, variance } = moments(x, n, c, hw);
  return { mean, variance };
}

function moments(x: Data, n: number, c: number, hw: number): { mean: Data; variance: Data; mu: Float64Array; vr: Float64Array } {
  const mean = allocLike(x, c), variance = allocLike(x, c);
  const m = n * hw;
  const mu = new Float64Array(c), vr = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ch) * hw;
      for (let k = 0; k < hw; k++) s += x[base + k]!;
    }
    const mk = s / m;
    let v = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ch) * hw;
      for (let k = 0; k < hw; k++) { const d = x[base + k]! - mk; v += d * d; }
    }
    mu[ch] = mk;
    vr[ch] = v / m;
  }
  mean.set(mu);
  variance.set(vr);
  return { mean, variance, mu, vr };
}

/** dx = gμ_c/M + 2·gσ²_c·(x − μ_c)/M with M = n·hw. */
export function batchMomentsBackward(gmean: Data, gvar: Data, x: Data, n: number, c: number, hw: number, mean: Data): Data {
  const gx = allocLike(x, x.length);
  const m = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const a = (2 * gvar[ch]!) / m, b = gmean[ch]! / m, mu = mean[ch]!;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ch) * hw;
      for (let k = 0; k < hw; k++) gx[base + k] = (x[base + k]! - mu) * a + b;
    }
  }
  return gx;
}

/** dx = gy·γ/√(σ²+ε); with paramGrads dγ = Σ gy·(x − μ)/√(σ²+ε), dβ = Σ gy. */
export function batchNormInferBackward(gy: Data, x: Data, n: number, c: number, hw: number, mean: Data, variance: Data,
  gamma: Data | null, eps: number, paramGrads: boolean): { gx: Data; ggamma: Data | null; gbeta: Data | null } {
  const gx = allocLike(gy, gy.length);
  const ggamma = paramGrads ? allocLike(gy, c) : null, gbeta = paramGrads ? allocLike(gy, c) : null;
  for (let ch = 0; ch < c; ch++) {
    const inv = 1 / Math.sqrt(variance[ch]! + eps);
    const scale = (gamma ? gamma[ch]! : 1) * inv, mu = mean[ch]!;
    let sg = 0, sgx = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ch) * hw;
      for (let k = 0; k < hw; k++) {
        const g = gy[base + k]!;
        gx[base + k] = g * scale;
        if (paramGrads) { sg += g; sgx += g * (x[base + k]! - mu); }
      }
    }
    if (ggamma && gbeta) { ggamma[ch] = sgx * inv; gbeta[ch] = sg; }
  }
  return { gx, ggamma, gbeta };
}

function normalize(x: Data, n: number, c: number, hw: number, mean: ArrayLike<number>, variance: ArrayLike<number>,
  gamma: Data | null, beta: Data | null, eps: number): Data {
  const y = allocLike(x, x.length);
  for (let ch = 0; ch < c; ch++) {
    const inv = 1 / Math.sqrt(variance[ch]! + eps);
    const scale = (gamma ? gamma[ch]! : 1) * inv;
    const shift = (beta ? beta[ch]! : 0) - mean[ch]! * scale;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ch) * hw;
      for (let k = 0; k < hw; k++) y[base + k] = x[base + k]! * scale + shift;
    }
  }
  return y;
}

/** y = γ·(x−μ)/√(σ²+ε) + β with the given μ, σ². */
export function batchNormInfer(x: Data, n: number, c: number, hw: number, mean: Data, variance: Data, gamma: Data | null,
  beta: Data | null, eps: number): Data {
  return normalize(x, n, c, hw, mean, variance, gamma, beta, eps);
}

/** dβ = Σ gy, dγ = Σ gy·x̂, dx = γ/(M·√(σ²+ε)) · (M·gy − dβ − x̂·dγ) with M = n·hw. */
export function batchNormTrainBackward(gy: Data, x: Data, n: number, c: number, hw: number, mean: Data, variance: Data,
  gamma: Data | null, eps: number): { gx: Data; ggamma: Data; gbeta: Data } {
  const gx = allocLike(gy, gy.length), ggamma = allocLike(gy, c), gbeta = allocLike(gy, c);
  const m = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const mu = mean[ch]!;
    const inv = 1 / Math.sqrt(variance[ch]! + eps);
    let sg = 0, sgx = 0;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ch) * hw;
      for (let k = 0; k < hw; k++) {
        const g = gy[base + k]!;
        sg += g;
        sgx += g * (x[base + k]! - mu) * inv;
      }
    }
    gbeta[ch] = sg;
    ggamma[ch] = sgx;
    const f = (gamma ? gamma[ch]! : 1) * inv / m;
    for (let ni = 0; ni < n; ni++) {
      const base = (ni * c + ch) * hw;
      for (let k = 0; k < hw; k++) {
        const xh = (x[base + k]! - mu) * inv;
        gx[base + k] = f * (m * gy[base + k]! - sg - xh * sgx);
      }
    }
  }
  return { gx, ggamma, gbeta };
}
