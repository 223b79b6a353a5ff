// Hand-written kernels (AVX2/FMA via -O3 auto-vectorization, OpenMP across rows) for the memory-bound ops
// oneDNN has no direct primitive for or that are cheaper without one: broadcast binary ops, reductions,
// transpose, nearest upsampling, pools with argmax, fake quantization, row softmax. Shapes are collapsed
// (size-1 dims dropped, mergeable neighbours fused) so the innermost loop is long and contiguous.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "kernels.h"

namespace lrq {

static constexpr i64 kParMin = 1 << 15;  // below this many elements a parallel region costs more than it saves

// ------------------------------------------------------------------ unary

bool unaryLoop(const std::string& op, const float* x, i64 n, float alpha, float lo, float hi, float* y) {
#define LOOP(expr)                                           \
  _Pragma("omp parallel for simd if (n > kParMin)") for (i64 i = 0; i < n; i++) { \
    const float v = x[i];                                    \
    y[i] = (expr);                                           \
  }                                                          \
  return true;
  if (op == "neg") { LOOP(-v) }
  if (op == "relu") { LOOP(v > 0.f ? v : 0.f) }
  if (op == "leaky_relu") { LOOP(v > 0.f ? v : v * alpha) }
  if (op == "clip") { LOOP(v < lo ? lo : (v > hi ? hi : v)) }
  if (op == "sqrt") { LOOP(std::sqrt(v)) }
  if (op == "abs") { LOOP(std::fabs(v)) }
  if (op == "square") { LOOP(v * v) }
  if (op == "round") { LOOP(std::nearbyint(v)) }
  if (op == "cos") { LOOP(std::cos(v)) }
  if (op == "sin") { LOOP(std::sin(v)) }
  if (op == "tanh") { LOOP(std::tanh(v)) }
  if (op == "exp") { LOOP(std::exp(v)) }
  if (op == "log") { LOOP(std::log(v)) }
  if (op == "sigmoid") { LOOP(1.f / (1.f + std::exp(-v))) }
  if (op == "elu") { LOOP(v > 0.f ? v : alpha * std::expm1(v)) }
  if (op == "gelu") { LOOP(0.5f * v * (1.f + std::erf(v * 0.70710678118654752f))) }
#undef LOOP
  return false;
}

bool unaryBackwardLoop(const std::string& op, const float* gy, const float* x, const float* y, i64 n, float alpha,
                       float lo, float hi, float* gx) {
#define LOOP(expr)                                                                 \
  _Pragma("omp parallel for simd if (n > kParMin)") for (i64 i = 0; i < n; i++) { \
    const float g = gy[i];                                                         \
    gx[i] = (expr);                                                                \
  }                                                                                \
  return true;
  if (op == "neg") { LOOP(-g) }
  if (op == "relu") { LOOP(x[i] > 0.f ? g : 0.f) }
  if (op == "leaky_relu") { LOOP(x[i] > 0.f ? g : g * alpha) }
  if (op == "clip") { LOOP(x[i] >= lo && x[i] <= hi ? g : 0.f) }
  if (op == "tanh") { LOOP(g * (1.f - y[i] * y[i])) }
  if (op == "sigmoid") { LOOP(g * y[i] * (1.f - y[i])) }
  if (op == "exp") { LOOP(g * y[i]) }
  if (op == "log") { LOOP(g / x[i]) }
  if (op == "sqrt") { LOOP(g * 0.5f / y[i]) }
  if (op == "abs") { LOOP(x[i] > 0.f ? g : (x[i] < 0.f ? -g : 0.f)) }
  if (op == "square") { LOOP(2.f * x[i] * g) }
  if (op == "round") { LOOP(0.f * g) }
  if (op == "cos") { LOOP(-g * std::sin(x[i])) }
  if (op == "sin") { LOOP(g * std::cos(x[i])) }
  if (op == "elu") { LOOP(x[i] > 0.f ? g : g * (y[i] + alpha)) }
#undef LOOP
  return false;
}

// ------------------------------------------------------------------ broadcast binary

namespace {

/** A collapsed strided iteration space over up to 8 dims (the innermost is dims[nd-1]). */
struct Space {
  int nd = 0;
  i64 dims[8];
  i64 sa[8];
  i64 sb[8];
};

/** Contiguous strides of `s`, zeroed where s[d] == 1 and the output dim is larger (broadcast). */
void bstrides(const std::vector<i64>& s, const std::vector<i64>& os, std::vector<i64>& st) {
  const size_t r = os.size();
  st.assign(r, 0);
  i64 acc = 1;
  for (size_t d = r; d-- > 0;) {
    st[d] = (s[d] == 1 && os[d] != 1) ? 0 : acc;
    acc *= s[d];
  }
}

Space collapse(const std::vector<i64>& os, const std::vector<i64>& sa, const std::vector<i64>& sb) {
  Space sp;
  for (size_t d = 0; d < os.size(); d++) {
    if (os[d] == 1) continue;
    if (sp.nd > 0) {
      const int l = sp.nd - 1;
      if (sp.sa[l] == sa[d] * os[d] && sp.sb[l] == sb[d] * os[d]) {
        sp.dims[l] *= os[d];
        sp.sa[l] = sa[d];
        sp.sb[l] = sb[d];
        continue;
      }
    }
    if (sp.nd == 8) throw std::runtime_error("binary: more than 8 non-mergeable dims");
    sp.dims[sp.nd] = os[d];
    sp.sa[sp.nd] = sa[d];
    sp.sb[sp.nd] = sb[d];
    sp.nd++;
  }
  if (sp.nd == 0) {
    sp.nd = 1;
    sp.dims[0] = 1;
    sp.sa[0] = 0;
    sp.sb[0] = 0;
  }
  return sp;
}

template <int OP>
inline float bop(float a, float b) {
  if constexpr (OP == 0) return a + b;
  if constexpr (OP == 1) return a - b;
  if constexpr (OP == 2) return a * b;
  if constexpr (OP == 3) return a / b;
  if constexpr (OP == 4) return (a != a || b != b) ? a + b : (a > b ? a : b);
  if constexpr (OP == 5) return (a != a || b != b) ? a + b : (a < b ? a : b);
  if constexpr (OP == 6) return std::pow(a, b);
  return 0.f;
}

template <int OP>
inline void row(const float* a, i64 ia, const float* b, i64 ib, float* o, i64 L) {
  if (ia == 1 && ib == 1) {
#pragma omp simd
    for (i64 j = 0; j < L; j++) o[j] = bop<OP>(a[j], b[j]);
  } else if (ia == 1 && ib == 0) {
    const float bv = b[0];
#pragma omp simd
    for (i64 j = 0; j < L; j++) o[j] = bop<OP>(a[j], bv);
  } else if (ia == 0 && ib == 1) {
    const float av = a[0];
#pragma omp simd
    for (i64 j = 0; j < L; j++) o[j] = bop<OP>(av, b[j]);
  } else if (ia == 0 && ib == 0) {
    const float v = bop<OP>(a[0], b[0]);
    std::fill(o, o + L, v);
  } else {
    for (i64 j = 0; j < L; j++) o[j] = bop<OP>(a[j * ia], b[j * ib]);
  }
}

template <int OP>
void runBinary(const float* a, const float* b, const Space& sp, float* out) {
  const int last = sp.nd - 1;
  const i64 L = sp.dims[last];
  i64 outer = 1;
  for (int d = 0; d < last; d++) outer *= sp.dims[d];
  if (outer == 1) {  // one long row: split it across threads
    const float* a0 = a;
    const float* b0 = b;
    const i64 ia = sp.sa[last], ib = sp.sb[last];
#pragma omp parallel if (L > kParMin)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const i64 lo = L * t / nt, hi = L * (t + 1) / nt;
      row<OP>(a0 + lo * ia, ia, b0 + lo * ib, ib, out + lo, hi - lo);
    }
    return;
  }
  const bool par = outer * L > kParMin;
#pragma omp parallel for if (par) schedule(static)
  for (i64 r = 0; r < outer; r++) {
    i64 rem = r, oa = 0, ob = 0;
    for (int d = last - 1; d >= 0; d--) {
      const i64 q = rem % sp.dims[d];
      rem /= sp.dims[d];
      oa += q * sp.sa[d];
      ob += q * sp.sb[d];
    }
    row<OP>(a + oa, sp.sa[last], b + ob, sp.sb[last], out + r * L, L);
  }
}

}  // namespace

void binary(int op, const float* a, const std::vector<i64>& as, const float* b, const std::vector<i64>& bs,
            const std::vector<i64>& os, float* out) {
  std::vector<i64> sa, sb;
  bstrides(as, os, sa);
  bstrides(bs, os, sb);
  Space sp = collapse(os, sa, sb);
  switch (op) {
    case 0: return runBinary<0>(a, b, sp, out);
    case 1: return runBinary<1>(a, b, sp, out);
    case 2: return runBinary<2>(a, b, sp, out);
    case 3: return runBinary<3>(a, b, sp, out);
    case 4: return runBinary<4>(a, b, sp, out);
    case 5: return runBinary<5>(a, b, sp, out);
    case 6: return runBinary<6>(a, b, sp, out);
  }
  throw std::runtime_error("binary: unknown op");
}

void broadcastTo(const float* x, const std::vector<i64>& xs, const std::vector<i64>& os, float* out) {
  // out = x + 0·x with x as both operands would read twice; use add with a zero-stride scalar instead.
  static const float zero = 0.f;
  std::vector<i64> sa, sb(os.size(), 0);
  bstrides(xs, os, sa);
  Space sp = collapse(os, sa, sb);
  runBinary<0>(x, &zero, sp, out);
}

void affine(const float* a, i64 n, float alpha, float beta, float* out) {
#pragma omp parallel for simd if (n > kParMin)
  for (i64 i = 0; i < n; i++) out[i] = a[i] * alpha + beta;
}

// ------------------------------------------------------------------ reductions

static inline float rowSum(const float* x, i64 L) {
  float acc[16] = {0};
  i64 j = 0;
  for (; j + 16 <= L; j += 16)
#pragma omp simd
    for (int t = 0; t < 16; t++) acc[t] += x[j + t];
  float s = 0.f;
  for (int t = 0; t < 16; t++) s += acc[t];
  for (; j < L; j++) s += x[j];
  return s;
}
static inline float maxNan(float m, float v) { return (v > m || v != v) ? v : m; }
static inline float rowMax(const float* x, i64 L) {
  float m = -std::numeric_limits<float>::infinity();
  for (i64 j = 0; j < L; j++) m = (x[j] > m || x[j] != x[j]) ? x[j] : m;  // NaN propagates
  return m;
}

void reduce(const float* x, const std::vector<i64>& shape, const std::vector<int>& axes, bool isMax, float* out) {
  const size_t r = shape.size();
  std::vector<bool> red(r, false);
  for (int a : axes) red.at(a) = true;
  // Collapse: drop size-1 dims, fuse neighbours with the same reduced flag.
  std::vector<i64> D;
  std::vector<bool> F;
  i64 total = 1;
  for (size_t d = 0; d < r; d++) {
    total *= shape[d];
    if (shape[d] == 1) continue;
    if (!D.empty() && F.back() == red[d]) D.back() *= shape[d];
    else {
      D.push_back(shape[d]);
      F.push_back(red[d]);
    }
  }
  i64 outLen = 1;
  for (size_t d = 0; d < D.size(); d++)
    if (!F[d]) outLen *= D[d];
  const float init = isMax ? -std::numeric_limits<float>::infinity() : 0.f;
  if (total == 0) {
    std::fill(out, out + outLen, init);
    return;
  }
  if (D.empty() || std::none_of(F.begin(), F.end(), [](bool f) { return f; })) {
    std::memcpy(out, x, sizeof(float) * total);
    return;
  }
  if (D.size() == 1) {  // full reduction: per-thread partials
    const int T = omp_get_max_threads();
    std::vector<double> part(T, isMax ? -INFINITY : 0.0);
    const bool par = total > kParMin;
#pragma omp parallel if (par)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const i64 lo = total * t / nt, hi = total * (t + 1) / nt;
      part[t] = isMax ? rowMax(x + lo, hi - lo) : rowSum(x + lo, hi - lo);
    }
    double s = isMax ? -INFINITY : 0.0;
    for (double p : part) s = isMax ? ((p > s || p != p) ? p : s) : s + p;
    out[0] = (float)s;
    return;
  }
  const int nd = (int)D.size();
  std::vector<i64> xs(nd), os(nd);
  {
    i64 ax = 1, ao = 1;
    for (int d = nd - 1; d >= 0; d--) {
      xs[d] = ax;
      ax *= D[d];
      os[d] = F[d] ? 0 : ao;
      if (!F[d]) ao *= D[d];
    }
  }
  std::fill(out, out + outLen, init);
  int pd = 0;
  while (F[pd]) pd++;  // outermost kept dim: threads own disjoint slices of the output
  const i64 L = D[nd - 1];
  const bool innerRed = F[nd - 1];
  // Rows = all dims but the innermost; iterate them with the parallel dim split across threads.
  i64 rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= D[d];
  const bool par = total > kParMin;
#pragma omp parallel if (par)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const i64 lo = D[pd] * t / nt, hi = D[pd] * (t + 1) / nt;
    for (i64 rr = 0; rr < rows; rr++) {
      i64 rem = rr, xo = 0, oo = 0;
      bool mine = true;
      for (int d = nd - 2; d >= 0; d--) {
        const i64 q = rem % D[d];
        rem /= D[d];
        if (d == pd && (q < lo || q >= hi)) {
          mine = false;
          break;
        }
        xo += q * xs[d];
        oo += q * os[d];
      }
      if (pd == nd - 1) {  // the innermost dim is the parallel (kept) one: split it
        if (!mine) continue;
        const float* xr = x + xo;
        float* orow = out + oo;
        for (i64 j = lo; j < hi; j++) orow[j] = isMax ? maxNan(orow[j], xr[j]) : orow[j] + xr[j];
        continue;
      }
      if (!mine) continue;
      const float* xr = x + xo;
      if (innerRed) {
        const float v = isMax ? rowMax(xr, L) : rowSum(xr, L);
        out[oo] = isMax ? maxNan(out[oo], v) : out[oo] + v;
      } else {
        float* orow = out + oo;
        if (isMax) {
          for (i64 j = 0; j < L; j++) orow[j] = maxNan(orow[j], xr[j]);
        } else {
#pragma omp simd
          for (i64 j = 0; j < L; j++) orow[j] += xr[j];
        }
      }
    }
  }
}

// ------------------------------------------------------------------ layout

void transpose(const float* x, const std::vector<i64>& shape, const std::vector<int>& perm, float* out) {
  const size_t r = shape.size();
  std::vector<i64> is(r);
  i64 acc = 1;
  for (size_t d = r; d-- > 0;) {
    is[d] = acc;
    acc *= shape[d];
  }
  const i64 total = acc;
  // Output dims with their input strides, collapsed where consecutive output dims are contiguous in x.
  std::vector<i64> D, S;
  for (size_t i = 0; i < r; i++) {
    const i64 dim = shape[perm[i]], st = is[perm[i]];
    if (dim == 1) continue;
    if (!D.empty() && S.back() == st * dim) {
      D.back() *= dim;
      S.back() = st;
    } else {
      D.push_back(dim);
      S.push_back(st);
    }
  }
  if (D.empty() || (D.size() == 1 && S[0] == 1)) {
    std::memcpy(out, x, sizeof(float) * total);
    return;
  }
  const int nd = (int)D.size();
  const i64 L = D[nd - 1], s = S[nd - 1];
  const i64 rows = total / L;
#pragma omp parallel for if (total > kParMin) schedule(static)
  for (i64 rr = 0; rr < rows; rr++) {
    i64 rem = rr, xo = 0;
    for (int d = nd - 2; d >= 0; d--) {
      xo += (rem % D[d]) * S[d];
      rem /= D[d];
    }
    float* o = out + rr * L;
    const float* xr = x + xo;
    if (s == 1) std::memcpy(o, xr, sizeof(float) * L);
    else
      for (i64 j = 0; j < L; j++) o[j] = xr[j * s];
  }
}

void stridedCopy(const float* src, i64 sOff, const std::vector<i64>& sst, float* dst, i64 dOff,
                 const std::vector<i64>& dstr, const std::vector<i64>& shape) {
  // Collapse: drop size-1 dims, merge neighbours contiguous in both arrays.
  std::vector<i64> D, S, T;
  i64 total = 1;
  for (size_t d = 0; d < shape.size(); d++) {
    total *= shape[d];
    if (shape[d] == 1) continue;
    if (!D.empty() && S.back() == sst[d] * shape[d] && T.back() == dstr[d] * shape[d]) {
      D.back() *= shape[d];
      S.back() = sst[d];
      T.back() = dstr[d];
    } else {
      D.push_back(shape[d]);
      S.push_back(sst[d]);
      T.push_back(dstr[d]);
    }
  }
  if (total == 0) return;
  if (D.empty()) {
    dst[dOff] = src[sOff];
    return;
  }
  const int nd = (int)D.size();
  const i64 L = D[nd - 1], ss = S[nd - 1], ts = T[nd - 1], rows = total / L;
#pragma omp parallel for if (total > kParMin && rows > 1) schedule(static)
  for (i64 rr = 0; rr < rows; rr++) {
    i64 rem = rr, so = sOff, to = dOff;
    for (int d = nd - 2; d >= 0; d--) {
      const i64 q = rem % D[d];
      rem /= D[d];
      so += q * S[d];
      to += q * T[d];
    }
    const float* a = src + so;
    float* o = dst + to;
    if (ss == 1 && ts == 1) std::memcpy(o, a, sizeof(float) * L);
    else
      for (i64 j = 0; j < L; j++) o[j * ts] = a[j * ss];
  }
}

void upsampleNearest(const float* x, i64 n, i64 c, i64 h, i64 w, i64 sh, i64 sw, float* y) {
  const i64 planes = n * c, OW = w * sw, OH = h * sh;
#pragma omp parallel for if (planes * OH * OW > kParMin)
  for (i64 p = 0; p < planes; p++) {
    const float* xp = x + p * h * w;
    float* yp = y + p * OH * OW;
    for (i64 i = 0; i < h; i++) {
      float* yr = yp + i * sh * OW;
      const float* xr = xp + i * w;
      for (i64 j = 0; j < w; j++)
        for (i64 b = 0; b < sw; b++) yr[j * sw + b] = xr[j];
      for (i64 a = 1; a < sh; a++) std::memcpy(yr + a * OW, yr, sizeof(float) * OW);
    }
  }
}

void upsampleNearestBackward(const float* gy, i64 n, i64 c, i64 h, i64 w, i64 sh, i64 sw, float* gx) {
  const i64 planes = n * c, OW = w * sw, OH = h * sh;
#pragma omp parallel for if (planes * OH * OW > kParMin)
  for (i64 p = 0; p < planes; p++) {
    const float* gp = gy + p * OH * OW;
    float* xp = gx + p * h * w;
    for (i64 i = 0; i < h; i++) {
      float* xr = xp + i * w;
      for (i64 j = 0; j < w; j++) xr[j] = 0.f;
      for (i64 a = 0; a < sh; a++) {
        const float* gr = gp + (i * sh + a) * OW;
        for (i64 j = 0; j < w; j++) {
          float s = 0.f;
          for (i64 b = 0; b < sw; b++) s += gr[j * sw + b];
          xr[j] += s;
        }
      }
    }
  }
}

// ------------------------------------------------------------------ pools

/** Window [hs, he) × [ws, we) clipped to the input, and the divisor of an average over it. */
struct Win {
  i64 hs, he, ws, we;
  float div;
};
static inline Win window(const PoolGeom& g, i64 i, i64 j) {
  Win v;
  i64 hs = i * g.sh - g.pt, ws = j * g.sw - g.pl;
  i64 he = std::min(hs + g.kh, g.h + g.pb), we = std::min(ws + g.kw, g.w + g.pr);
  const i64 padded = (he - hs) * (we - ws);
  v.hs = std::max<i64>(hs, 0);
  v.ws = std::max<i64>(ws, 0);
  v.he = std::min(he, g.h);
  v.we = std::min(we, g.w);
  const i64 inside = std::max<i64>(v.he - v.hs, 0) * std::max<i64>(v.we - v.ws, 0);
  v.div = (float)(g.includePad ? padded : inside);
  return v;
}

void avgPool(const PoolGeom& g, const float* x, float* y) {
  const i64 planes = g.n * g.c;
#pragma omp parallel for if (planes * g.h * g.w > kParMin)
  for (i64 p = 0; p < planes; p++) {
    const float* xp = x + p * g.h * g.w;
    float* yp = y + p * g.oh * g.ow;
    for (i64 i = 0; i < g.oh; i++)
      for (i64 j = 0; j < g.ow; j++) {
        const Win v = window(g, i, j);
        float s = 0.f;
        for (i64 a = v.hs; a < v.he; a++)
          for (i64 b = v.ws; b < v.we; b++) s += xp[a * g.w + b];
        yp[i * g.ow + j] = v.div > 0 ? s / v.div : 0.f;
      }
  }
}

void avgPoolBackward(const PoolGeom& g, const float* gy, float* gx) {
  const i64 planes = g.n * g.c;
#pragma omp parallel for if (planes * g.h * g.w > kParMin)
  for (i64 p = 0; p < planes; p++) {
    float* xp = gx + p * g.h * g.w;
    const float* gp = gy + p * g.oh * g.ow;
    std::fill(xp, xp + g.h * g.w, 0.f);
    for (i64 i = 0; i < g.oh; i++)
      for (i64 j = 0; j < g.ow; j++) {
        const Win v = window(g, i, j);
        if (v.div <= 0) continue;
        const float d = gp[i * g.ow + j] / v.div;
        for (i64 a = v.hs; a < v.he; a++)
          for (i64 b = v.ws; b < v.we; b++) xp[a * g.w + b] += d;
      }
  }
}

void maxPool(const PoolGeom& g, const float* x, float* y, int32_t* argmax) {
  const i64 planes = g.n * g.c;
#pragma omp parallel for if (planes * g.h * g.w > kParMin)
  for (i64 p = 0; p < planes; p++) {
    const i64 base = p * g.h * g.w;
    const float* xp = x + base;
    for (i64 i = 0; i < g.oh; i++)
      for (i64 j = 0; j < g.ow; j++) {
        const Win v = window(g, i, j);
        float m = -std::numeric_limits<float>::infinity();
        i64 am = -1;
        for (i64 a = v.hs; a < v.he; a++)
          for (i64 b = v.ws; b < v.we; b++) {
            const float e = xp[a * g.w + b];
            if (am < 0 || e > m || (e != e && m == m)) {  // first maximum wins; NaN propagates
              m = e;
              am = a * g.w + b;
            }
          }
        const i64 o = p * g.oh * g.ow + i * g.ow + j;
        y[o] = m;
        argmax[o] = am < 0 ? -1 : (int32_t)(base + am);
      }
  }
}

void maxPoolBackward(const PoolGeom& g, const float* gy, const int32_t* argmax, i64 inLen, float* gx) {
  const i64 planes = g.n * g.c, per = g.oh * g.ow;
  std::fill(gx, gx + inLen, 0.f);
  // Each output's argmax lies in its own plane, so planes can be processed in parallel.
#pragma omp parallel for if (planes * per > kParMin)
  for (i64 p = 0; p < planes; p++)
    for (i64 o = p * per; o < (p + 1) * per; o++) {
      const int32_t a = argmax[o];
      if (a >= 0 && a < inLen) gx[a] += gy[o];
    }
}

// ------------------------------------------------------------------ quantization and rows

void fakeQuant(const float* x, i64 rows, i64 cols, const float* lo, const float* hi, int bits, const uint8_t* keep, float* y) {
  // Every step in float32 without FMA contraction (-ffp-contract=off), as torch and the reference do.
  // Parallel over all elements (not rows): per-tensor activations are one long row.
  const float qmax = std::ldexp(1.f, bits - 1) - 1, qmin = -std::ldexp(1.f, bits - 1);
  const float levels = std::ldexp(1.f, bits) - 1, half = std::ldexp(1.f, bits - 1);
  const i64 n = rows * cols;
#pragma omp parallel if (n > kParMin)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const i64 a = n * t / nt, b = n * (t + 1) / nt;
    for (i64 i = a; i < b;) {
      const i64 r = i / cols, e = std::min(b, (r + 1) * cols);
      const float l = lo[r], h = hi[r];
      const float s = (1.f / std::max(h - l, 1e-8f)) * levels;  // torch: reciprocal first, then × (2^k − 1)
      const float zp = std::nearbyint(s * l) + half;
      const i64 i0 = i;
#pragma omp simd
      for (i64 j = i0; j < e; j++) {
        float q = std::nearbyint(s * x[j] - zp);
        q = q < qmin ? qmin : (q > qmax ? qmax : q);
        y[j] = (q + zp) / s;
      }
      // QDrop: a separate branch-free blend (a random per-element branch mispredicts half the time)
      if (keep) {
#pragma omp simd
        for (i64 j = i0; j < e; j++) y[j] = keep[j] ? x[j] : y[j];
      }
      i = e;
    }
  }
}

/** One chunk of lsqBackward as float partial sum; K: a keep mask is present (two versions so both vectorize). */
template <bool K>
static float lsqChunk(const float* x, const float* g, const uint8_t* keep, i64 a, i64 e, float st, float z, float h,
                      float lowCode, float highCode, float* gx) {
  float part = 0;
#pragma omp simd reduction(+ : part)
  for (i64 i = a; i < e; i++) {
    const float v = x[i] / st - z;
    const float k = K ? (float)keep[i] : 0.f;
    const float below = v < -h ? 1.f : 0.f, above = v > h - 1 ? 1.f : 0.f, in = 1.f - below - above;
    const float d = in * (std::nearbyint(v) - v) + below * lowCode + above * highCode;
    part += (1.f - k) * g[i] * d;
    gx[i] = (k + in) > 0.f ? g[i] : 0.f;
  }
  return part;
}

// The selects below vectorize as blends only without trapping math (binding.gyp: -fno-trapping-math; with
// it GCC reports "control flow in loop" and the loop stays scalar at 10x the time).
double lsqBackward(const float* x, const float* g, i64 n, double step, double zp, int bits, const uint8_t* keep, float* gx) {
  // The reference's arithmetic in float32 (v = x/Δ − zp; the tie rule of round() does not matter: a tie has
  // measure zero), written as selects so it vectorizes; the Δ gradient sums float partials over chunks of
  // 4,096 into a double, so it agrees with the reference to float precision, not bit for bit.
  const float h = std::ldexp(1.f, bits - 1), st = (float)step, z = (float)zp;
  const float lowCode = -h + z, highCode = h - 1 + z;
  constexpr i64 B = 4096;
  const i64 nb = (n + B - 1) / B;
  double gs = 0;
#pragma omp parallel for reduction(+ : gs) if (n > kParMin) schedule(static)
  for (i64 b = 0; b < nb; b++) {
    const i64 a = b * B, e = std::min(n, a + B);
    gs += keep ? lsqChunk<true>(x, g, keep, a, e, st, z, h, lowCode, highCode, gx)
               : lsqChunk<false>(x, g, keep, a, e, st, z, h, lowCode, highCode, gx);
  }
  return gs;
}

void bernoulliMask(i64 n, uint32_t seed, int t, uint8_t* out) {
  uint32_t x = seed | 1u;  // xorshift32 needs a non-zero state
  const uint32_t T = (uint32_t)t;
  i64 i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = (x & 0xffu) < T;
    out[i + 1] = ((x >> 8) & 0xffu) < T;
    out[i + 2] = ((x >> 16) & 0xffu) < T;
    out[i + 3] = (x >> 24) < T;
  }
  if (i < n) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    for (int k = 0; i < n; i++, k++) out[i] = ((x >> (8 * k)) & 0xffu) < T;
  }
}

void selectMask(const uint8_t* keep, const float* a, const float* b, i64 n, float* out) {
#pragma omp parallel for simd if (n > kParMin)
  for (i64 i = 0; i < n; i++) out[i] = keep[i] ? a[i] : b[i];
}

void rowMinMax(const float* x, i64 rows, i64 cols, float* mn, float* mx) {
#pragma omp parallel for if (rows * cols > kParMin)
  for (i64 r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float a = std::numeric_limits<float>::infinity(), b = -a;
    for (i64 j = 0; j < cols; j++) {
      a = std::min(a, xr[j]);
      b = std::max(b, xr[j]);
    }
    mn[r] = a;
    mx[r] = b;
  }
}

void softmaxRows(const float* x, i64 rows, i64 cols, bool log, float* y) {
#pragma omp parallel for if (rows * cols > kParMin)
  for (i64 r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = rowMax(xr, cols);
    double s = 0;
    for (i64 j = 0; j < cols; j++) s += std::exp((double)xr[j] - m);
    if (log) {
      const float lse = (float)(m + std::log(s));
      for (i64 j = 0; j < cols; j++) yr[j] = xr[j] - lse;
    } else {
      for (i64 j = 0; j < cols; j++) yr[j] = (float)(std::exp((double)xr[j] - m) / s);
    }
  }
}

// Every (float) below is one Math.fround of adam.ts, every double a JS number; -ffp-contract=off keeps
// the compiler from fusing a multiply-add that JS would round twice.
void adamUpdate(float* p, const float* g, float* m, float* v, i64 n, double b1, double b2, double eps,
                double stepSize, double bc2Sqrt, double wd) {
  const double c1 = 1 - b1, c2 = 1 - b2;
#pragma omp parallel for simd if (n > kParMin)
  for (i64 i = 0; i < n; i++) {
    const double pi = p[i];
    const float gi = wd != 0 ? (float)((double)g[i] + wd * pi) : g[i];
    const float mi = (float)((double)(float)((double)m[i] * b1) + c1 * (double)gi);
    const float vi = (float)((double)(float)((double)v[i] * b2) + c2 * (double)(float)((double)gi * (double)gi));
    const float denom = (float)((double)(float)((double)(float)std::sqrt((double)vi) / bc2Sqrt) + eps);
    m[i] = mi;
    v[i] = vi;
    p[i] = (float)(pi - stepSize * (double)(float)((double)mi / (double)denom));
  }
}

}  // namespace lrq
