// Hand-written kernels that beat oneDNN 2.6 on our shapes: batch norm (train / infer / backward) with one
// barrier-free parallel loop over channels (oneDNN's plain-layout bnorm synchronizes several times per call,
// which stalls badly on a loaded 2-core machine), and depthwise convolution (groups = c = oc) with any
// stride/dilation/padding (oneDNN falls back to im2col+gemm for dilated depthwise and for dw weight grads).
// Math follows the reference backend: statistics in double, normalization with the double inv-std.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace lrq {

// ------------------------------------------------------------------ batch norm

/** Σ x[k] over a contiguous run, float lanes combined in double. */
static inline double sumRun(const float* x, i64 len) {
  float acc[16] = {0};
  i64 j = 0;
  for (; j + 16 <= len; j += 16)
#pragma omp simd
    for (int t = 0; t < 16; t++) acc[t] += x[j + t];
  double s = 0;
  for (int t = 0; t < 16; t++) s += acc[t];
  for (; j < len; j++) s += x[j];
  return s;
}

/** Σ (x[k] − m)² over a contiguous run. */
static inline double sqdevRun(const float* x, i64 len, float m) {
  float acc[16] = {0};
  i64 j = 0;
  for (; j + 16 <= len; j += 16)
#pragma omp simd
    for (int t = 0; t < 16; t++) {
      const float d = x[j + t] - m;
      acc[t] += d * d;
    }
  double s = 0;
  for (int t = 0; t < 16; t++) s += acc[t];
  for (; j < len; j++) {
    const double d = (double)x[j] - m;
    s += d * d;
  }
  return s;
}

/** Σ gy[k] and Σ gy[k]·(x[k] − m) over a contiguous run, in one pass. */
static inline void sumDotDevRun(const float* gy, const float* x, i64 len, float m, double& sg, double& sd) {
  float a[16] = {0}, b[16] = {0};
  i64 j = 0;
  for (; j + 16 <= len; j += 16)
#pragma omp simd
    for (int t = 0; t < 16; t++) {
      a[t] += gy[j + t];
      b[t] += gy[j + t] * (x[j + t] - m);
    }
  double s = 0, d = 0;
  for (int t = 0; t < 16; t++) {
    s += a[t];
    d += b[t];
  }
  for (; j < len; j++) {
    s += gy[j];
    d += (double)gy[j] * ((double)x[j] - m);
  }
  sg += s;
  sd += d;
}

static inline void axpbRun(const float* x, float* y, i64 len, float a, float b) {
#pragma omp simd
  for (i64 j = 0; j < len; j++) y[j] = x[j] * a + b;
}

static const bool kBnPar = true;

/** [N, C] input (hw = 1): per-channel mean μ and biased variance, two passes over rows, in double. */
static void rowMoments(const float* x, i64 n, i64 c, std::vector<double>& mu, std::vector<double>& vr) {
  mu.assign(c, 0.0);
  vr.assign(c, 0.0);
  for (i64 r = 0; r < n; r++)
    for (i64 ch = 0; ch < c; ch++) mu[ch] += x[r * c + ch];
  for (i64 ch = 0; ch < c; ch++) mu[ch] /= (double)n;
  for (i64 r = 0; r < n; r++)
    for (i64 ch = 0; ch < c; ch++) {
      const double d = x[r * c + ch] - mu[ch];
      vr[ch] += d * d;
    }
  for (i64 ch = 0; ch < c; ch++) vr[ch] /= (double)n;
}

/** Channel `ch` of [N, C, hw] input: mean μ and biased variance (two passes over its N planes). */
static inline void planeMoments(const float* x, i64 n, i64 c, i64 hw, i64 ch, double& mu, double& vr) {
  double s = 0;
  for (i64 b = 0; b < n; b++) s += sumRun(x + (b * c + ch) * hw, hw);
  mu = s / (double)(n * hw);
  double q = 0;
  for (i64 b = 0; b < n; b++) q += sqdevRun(x + (b * c + ch) * hw, hw, (float)mu);
  vr = q / (double)(n * hw);
}

void bnTrainDirect(const float* x, i64 n, i64 c, i64 hw, const float* gamma, const float* beta, float eps, float* y,
                   float* mean, float* var) {
  if (hw == 1) {  // [N, C]: accumulate rows, channels contiguous
    std::vector<double> s, q;
    rowMoments(x, n, c, s, q);
    std::vector<float> sc(c), sh(c);
    for (i64 ch = 0; ch < c; ch++) {
      mean[ch] = (float)s[ch];
      var[ch] = (float)q[ch];
      const double inv = 1.0 / std::sqrt(q[ch] + eps);
      const double scale = (gamma ? gamma[ch] : 1.0) * inv;
      sc[ch] = (float)scale;
      sh[ch] = (float)((beta ? beta[ch] : 0.0) - s[ch] * scale);
    }
#pragma omp parallel for if (n * c > 32768)
    for (i64 r = 0; r < n; r++)
      for (i64 ch = 0; ch < c; ch++) y[r * c + ch] = x[r * c + ch] * sc[ch] + sh[ch];
    return;
  }
#pragma omp parallel for schedule(static) if (kBnPar && n * c * hw > 16384)
  for (i64 ch = 0; ch < c; ch++) {
    double mu, vr;
    planeMoments(x, n, c, hw, ch, mu, vr);
    mean[ch] = (float)mu;
    var[ch] = (float)vr;
    const double inv = 1.0 / std::sqrt(vr + eps);
    const double scale = (gamma ? gamma[ch] : 1.0) * inv;
    const float sc = (float)scale, sh = (float)((beta ? beta[ch] : 0.0) - mu * scale);
    for (i64 b = 0; b < n; b++) axpbRun(x + (b * c + ch) * hw, y + (b * c + ch) * hw, hw, sc, sh);
  }
}

void bnInferDirect(const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var, const float* gamma,
                   const float* beta, float eps, float* y) {
  std::vector<float> sc(c), sh(c);
  for (i64 ch = 0; ch < c; ch++) {
    const double inv = 1.0 / std::sqrt((double)var[ch] + eps);
    const double scale = (gamma ? gamma[ch] : 1.0) * inv;
    sc[ch] = (float)scale;
    sh[ch] = (float)((beta ? beta[ch] : 0.0) - mean[ch] * scale);
  }
  const i64 planes = n * c;
#pragma omp parallel for schedule(static) if (planes * hw > 32768)
  for (i64 p = 0; p < planes; p++) {
    const i64 ch = p % c;
    axpbRun(x + p * hw, y + p * hw, hw, sc[ch], sh[ch]);
  }
}

void bnBackwardDirect(const float* gy, const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var,
                      const float* gamma, float eps, float* gx, float* ggamma, float* gbeta) {
  const i64 m = n * hw;
  auto coeffs = [&](i64 ch, double sg, double sgx, float& a, float& b, float& d) {
    // gx = γ·inv/M · (M·gy − Σgy − x̂·Σgy·x̂) = a·gy + b·x + d
    const double inv = 1.0 / std::sqrt((double)var[ch] + eps);
    const double f = (gamma ? gamma[ch] : 1.0) * inv / (double)m;
    a = (float)(f * (double)m);
    b = (float)(-f * sgx * inv);
    d = (float)(-f * sg + f * sgx * inv * mean[ch]);
  };
  if (hw == 1) {
    std::vector<double> sg(c, 0.0), sgx(c, 0.0);
    for (i64 r = 0; r < n; r++)
      for (i64 ch = 0; ch < c; ch++) {
        const double g = gy[r * c + ch];
        sg[ch] += g;
        sgx[ch] += g * ((double)x[r * c + ch] - mean[ch]);
      }
    std::vector<float> A(c), B(c), D(c);
    for (i64 ch = 0; ch < c; ch++) {
      const double inv = 1.0 / std::sqrt((double)var[ch] + eps);
      gbeta[ch] = (float)sg[ch];
      ggamma[ch] = (float)(sgx[ch] * inv);
      coeffs(ch, sg[ch], sgx[ch] * inv, A[ch], B[ch], D[ch]);
    }
    for (i64 r = 0; r < n; r++)
      for (i64 ch = 0; ch < c; ch++) gx[r * c + ch] = A[ch] * gy[r * c + ch] + B[ch] * x[r * c + ch] + D[ch];
    return;
  }
#pragma omp parallel for schedule(static) if (kBnPar && n * c * hw > 16384)
  for (i64 ch = 0; ch < c; ch++) {
    const float mu = mean[ch];
    double sg = 0, sgd = 0;
    for (i64 b = 0; b < n; b++) {
      const i64 o = (b * c + ch) * hw;
      sumDotDevRun(gy + o, x + o, hw, mu, sg, sgd);
    }
    const double inv = 1.0 / std::sqrt((double)var[ch] + eps);
    const double sgx = sgd * inv;
    gbeta[ch] = (float)sg;
    ggamma[ch] = (float)sgx;
    float A, B, D;
    coeffs(ch, sg, sgx, A, B, D);
    for (i64 b = 0; b < n; b++) {
      const i64 o = (b * c + ch) * hw;
      const float* g = gy + o;
      const float* xx = x + o;
      float* out = gx + o;
#pragma omp simd
      for (i64 k = 0; k < hw; k++) out[k] = A * g[k] + B * xx[k] + D;
    }
  }
}

void bnMomentsDirect(const float* x, i64 n, i64 c, i64 hw, float* mean, float* var) {
  if (hw == 1) {
    std::vector<double> s, q;
    rowMoments(x, n, c, s, q);
    for (i64 ch = 0; ch < c; ch++) {
      mean[ch] = (float)s[ch];
      var[ch] = (float)q[ch];
    }
    return;
  }
#pragma omp parallel for schedule(static) if (kBnPar && n * c * hw > 16384)
  for (i64 ch = 0; ch < c; ch++) {
    double mu, vr;
    planeMoments(x, n, c, hw, ch, mu, vr);
    mean[ch] = (float)mu;
    var[ch] = (float)vr;
  }
}

void bnMomentsBackwardDirect(const float* gmean, const float* gvar, const float* x, i64 n, i64 c, i64 hw,
                             const float* mean, float* gx) {
  const double m = (double)(n * hw);
  const i64 planes = n * c;
#pragma omp parallel for schedule(static) if (planes * hw > 32768)
  for (i64 p = 0; p < planes; p++) {
    const i64 ch = p % c;
    const float a = (float)(2.0 * gvar[ch] / m), b = (float)(gmean[ch] / m), mu = mean[ch];
    const float* xx = x + p * hw;
    float* out = gx + p * hw;
#pragma omp simd
    for (i64 k = 0; k < hw; k++) out[k] = (xx[k] - mu) * a + b;
  }
}

void bnInferBackwardDirect(const float* gy, const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var,
                           const float* gamma, float eps, float* gx, float* ggamma, float* gbeta) {
  std::vector<float> sc(c);
  for (i64 ch = 0; ch < c; ch++) sc[ch] = (float)((gamma ? gamma[ch] : 1.0) / std::sqrt((double)var[ch] + eps));
  if (ggamma && gbeta) {  // parameter gradients: one pass per channel sums Σgy, Σgy·(x−μ) and writes dx
#pragma omp parallel for schedule(static) if (kBnPar && n * c * hw > 16384)
    for (i64 ch = 0; ch < c; ch++) {
      double sg = 0, sgd = 0;
      for (i64 b = 0; b < n; b++) {
        const i64 o = (b * c + ch) * hw;
        sumDotDevRun(gy + o, x + o, hw, mean[ch], sg, sgd);
        axpbRun(gy + o, gx + o, hw, sc[ch], 0.0f);
      }
      gbeta[ch] = (float)sg;
      ggamma[ch] = (float)(sgd / std::sqrt((double)var[ch] + eps));
    }
    return;
  }
  const i64 planes = n * c;
#pragma omp parallel for schedule(static) if (planes * hw > 32768)
  for (i64 p = 0; p < planes; p++) axpbRun(gy + p * hw, gx + p * hw, hw, sc[p % c], 0.0f);
}

// ------------------------------------------------------------------ depthwise convolution

/** Copy one h×w plane into a zero-padded (h+pt+pb)×(w+pl+pr) buffer. */
static void padPlane(const float* x, const ConvGeom& g, float* buf) {
  const i64 PW = g.w + g.pl + g.pr, PH = g.h + g.pt + g.pb;
  std::memset(buf, 0, sizeof(float) * PW * PH);
  for (i64 i = 0; i < g.h; i++) std::memcpy(buf + (i + g.pt) * PW + g.pl, x + i * g.w, sizeof(float) * g.w);
}

void dwConvForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  const i64 PW = g.w + g.pl + g.pr, PH = g.h + g.pt + g.pb, planes = g.n * g.c;
#pragma omp parallel
  {
    std::vector<float> buf(PW * PH), acc(g.ow);
#pragma omp for schedule(static)
    for (i64 p = 0; p < planes; p++) {
      const i64 ch = p % g.c;
      const float* wc = w + ch * g.kh * g.kw;
      padPlane(x + p * g.h * g.w, g, buf.data());
      float* yp = y + p * g.oh * g.ow;
      const float bias = b ? b[ch] : 0.f;
      for (i64 oh = 0; oh < g.oh; oh++) {
        float* a = acc.data();
        for (i64 ow = 0; ow < g.ow; ow++) a[ow] = bias;
        for (i64 i = 0; i < g.kh; i++) {
          const float* row = buf.data() + (oh * g.sh + i * g.dh) * PW;
          for (i64 j = 0; j < g.kw; j++) {
            const float wv = wc[i * g.kw + j];
            const float* r = row + j * g.dw;
            if (g.sw == 1) {
#pragma omp simd
              for (i64 ow = 0; ow < g.ow; ow++) a[ow] += wv * r[ow];
            } else {
              for (i64 ow = 0; ow < g.ow; ow++) a[ow] += wv * r[ow * g.sw];
            }
          }
        }
        std::memcpy(yp + oh * g.ow, a, sizeof(float) * g.ow);
      }
    }
  }
}

void dwConvBackwardData(const ConvGeom& g, const float* gy, const float* w, float* gx) {
  const i64 PW = g.w + g.pl + g.pr, PH = g.h + g.pt + g.pb, planes = g.n * g.c;
#pragma omp parallel
  {
    std::vector<float> buf(PW * PH);
#pragma omp for schedule(static)
    for (i64 p = 0; p < planes; p++) {
      const i64 ch = p % g.c;
      const float* wc = w + ch * g.kh * g.kw;
      const float* gp = gy + p * g.oh * g.ow;
      std::fill(buf.begin(), buf.end(), 0.f);
      // Scatter form: every output gradient adds w·gy into the padded input window it read.
      for (i64 oh = 0; oh < g.oh; oh++) {
        const float* grow = gp + oh * g.ow;
        for (i64 i = 0; i < g.kh; i++) {
          float* row = buf.data() + (oh * g.sh + i * g.dh) * PW;
          for (i64 j = 0; j < g.kw; j++) {
            const float wv = wc[i * g.kw + j];
            float* r = row + j * g.dw;
            if (g.sw == 1) {
#pragma omp simd
              for (i64 ow = 0; ow < g.ow; ow++) r[ow] += wv * grow[ow];
            } else {
              for (i64 ow = 0; ow < g.ow; ow++) r[ow * g.sw] += wv * grow[ow];
            }
          }
        }
      }
      float* xp = gx + p * g.h * g.w;
      for (i64 i = 0; i < g.h; i++) std::memcpy(xp + i * g.w, buf.data() + (i + g.pt) * PW + g.pl, sizeof(float) * g.w);
    }
  }
}

/** Σ a[k]·b[k] over a contiguous run, float lanes combined in double. */
static inline double dotRun(const float* a, const float* b, i64 len) {
  float acc[16] = {0};
  i64 j = 0;
  for (; j + 16 <= len; j += 16)
#pragma omp simd
    for (int t = 0; t < 16; t++) acc[t] += a[j + t] * b[j + t];
  double s = 0;
  for (int t = 0; t < 16; t++) s += acc[t];
  for (; j < len; j++) s += (double)a[j] * b[j];
  return s;
}

// gw[c, i, j] = Σ_{n, oh, ow} gy[n, c, oh, ow] · xpad[n, c, oh·sh + i·dh, ow·sw + j·dw], one channel and
// a block of samples at a time, each tap one contiguous dot. The zero-padded planes are split into
// sh × sw phases (phase (ρ, φ) holds padded rows r·sh + ρ, columns c·sw + φ, a PHs × PWs block per
// sample), so tap (i, j) with i·dh = qi·sh + ρ and j·dw = qj·sw + φ reads phase (ρ, φ) at (oh + qi,
// ow + qj): unit stride in both. gy sits in the same PHs × PWs blocks, zero past row OH and column OW, so
// tap (i, j) = dot(G, phase(ρ, φ) + qi·PWs + qj) over the block's samples: every product with a nonzero
// gy is a pair the convolution made, the others meet a zero (a non-finite x there would make 0·x NaN, but
// then the forward was not finite either). Samples are blocked to ≈2048 floats per phase (cache-resident;
// float lanes, then double per block). The row-by-row form ran 6–10× PyTorch's time on ShuffleNet's 8×8
// and 4×4 planes (rows shorter than a vector, a reduction per tap and row), and had no vector loop at
// stride 2.
void dwConvBackwardWeights(const ConvGeom& g, const float* gy, const float* x, float* gw, float* gb) {
  const i64 PW = g.w + g.pl + g.pr, PH = g.h + g.pt + g.pb, K = g.kh * g.kw;
  const i64 SH = g.sh, SW = g.sw, PHs = (PH + SH - 1) / SH, PWs = (PW + SW - 1) / SW, B = PHs * PWs;
  const i64 nb = std::max<i64>(1, std::min<i64>(g.n, 2048 / B));                  // samples per block
  const i64 stride = nb * B + ((g.kh - 1) * g.dh / SH) * PWs + (g.kw - 1) * g.dw / SW;  // one phase + read slack
#pragma omp parallel
  {
    std::vector<float> P(SH * SW * stride, 0.f), G(nb * B, 0.f);  // cells never written stay zero
    std::vector<double> acc(K);
#pragma omp for schedule(static)
    for (i64 ch = 0; ch < g.c; ch++) {
      std::fill(acc.begin(), acc.end(), 0.0);
      double bs = 0;
      for (i64 b0 = 0; b0 < g.n; b0 += nb) {
        const i64 cnt = std::min(nb, g.n - b0);
        for (i64 k = 0; k < cnt; k++) {
          const i64 p = (b0 + k) * g.c + ch;
          const float* gp = gy + p * g.oh * g.ow;
          const float* xp = x + p * g.h * g.w;
          if (gb) bs += sumRun(gp, g.oh * g.ow);
          for (i64 oh = 0; oh < g.oh; oh++) std::memcpy(G.data() + k * B + oh * PWs, gp + oh * g.ow, sizeof(float) * g.ow);
          for (i64 i = 0; i < g.h; i++) {
            const i64 r = i + g.pt;
            float* row = P.data() + (r % SH) * SW * stride + k * B + (r / SH) * PWs;
            const float* xr = xp + i * g.w;
            if (SW == 1) {
              std::memcpy(row + g.pl, xr, sizeof(float) * g.w);
              continue;
            }
            for (i64 f = 0; f < SW; f++) {  // phase f: padded columns c·SW + f, input column c·SW + f − pl
              float* o = row + f * stride;
              const i64 c0 = g.pl > f ? (g.pl - f + SW - 1) / SW : 0;
              for (i64 c = c0, j = c0 * SW + f - g.pl; j < g.w; c++, j += SW) o[c] = xr[j];
            }
          }
        }
        const i64 len = (cnt - 1) * B + g.oh * PWs;  // up to the last sample's last output row
        for (i64 i = 0; i < g.kh; i++)
          for (i64 j = 0; j < g.kw; j++) {
            const i64 oi = i * g.dh, oj = j * g.dw;
            const float* src = P.data() + ((oi % SH) * SW + oj % SW) * stride + (oi / SH) * PWs + oj / SW;
            acc[i * g.kw + j] += dotRun(G.data(), src, len);
          }
      }
      for (i64 k = 0; k < K; k++) gw[ch * K + k] = (float)acc[k];
      if (gb) gb[ch] = (float)bs;
    }
  }
}

}  // namespace lrq
