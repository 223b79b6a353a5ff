// oneDNN-backed kernels: convolution (fwd, bwd data, bwd weights), matmul, batch norm (train, infer,
// bwd) and transcendental eltwise. Primitives are created once per geometry and cached (creation costs
// far more than execution); user buffers are wrapped in place, and reorders to the primitive's preferred
// (blocked) layouts go through scratch memories owned by the cache entry.
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "dnnl.hpp"
#include "kernels.h"

namespace lrq {

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static engine& eng() {
  static engine e(engine::kind::cpu, 0);
  return e;
}
static stream& strm() {
  static stream s(eng());
  return s;
}

void setThreads(int n) {
  if (n > 0) omp_set_num_threads(n);
}
int getThreads() { return omp_get_max_threads(); }

static std::string key(const char* kind, std::initializer_list<i64> v) {
  std::string k(kind);
  for (i64 x : v) {
    k += ',';
    k += std::to_string(x);
  }
  return k;
}

/**
 * A user-layout ↔ primitive-layout bridge: a reorder and, while a call runs, its scratch buffer, or nothing
 * if layouts agree. Activation-sized scratch is taken from the output pool for one call and given back by
 * done(): kept per cache entry, as before, every conv geometry held up to 6 activation-sized blocked copies
 * for the life of the process (≈ 5 GB for the 224² generator + ResNet-18 at batch 16). `persistent` bridges
 * (weights: small, reordered every call) keep their own scratch.
 */
struct Bridge {
  bool needed = false, persistent = false;
  memory::desc user, prim;
  size_t bytes = 0;
  void* buf = nullptr;
  memory scratch;
  reorder r;
  /** in = true: user → primitive layout; false: primitive layout → user. */
  void init(const memory::desc& userMd, const memory::desc& primMd, bool in, bool keep = false) {
    user = userMd;
    prim = primMd;
    needed = userMd != primMd;
    persistent = keep;
    if (!needed) return;
    bytes = primMd.get_size();
    if (persistent) scratch = memory(primMd, eng());
    r = in ? reorder(reorder::primitive_desc(eng(), userMd, eng(), primMd))
           : reorder(reorder::primitive_desc(eng(), primMd, eng(), userMd));
  }
  /** The scratch memory of this call (taken from the pool on first use). */
  memory held() {
    if (persistent) return scratch;
    if (!buf) buf = scratchTake(bytes);
    return memory(prim, eng(), buf);
  }
  /** Memory the primitive reads: user data reordered into scratch when needed. */
  memory input(const float* p) {
    memory u(user, eng(), const_cast<float*>(p));
    if (!needed) return u;
    memory s = held();
    r.execute(strm(), {{DNNL_ARG_FROM, u}, {DNNL_ARG_TO, s}});
    return s;
  }
  /** Memory the primitive writes: the user buffer itself or the scratch (then call finish). */
  memory output(float* p) { return needed ? held() : memory(user, eng(), p); }
  void finish(float* p) {
    if (!needed) return;
    memory u(user, eng(), p);
    r.execute(strm(), {{DNNL_ARG_FROM, held()}, {DNNL_ARG_TO, u}});
  }
  /** Give the call's scratch back to the pool (after the stream has finished with it). */
  void done() {
    if (buf) scratchGive(buf, bytes);
    buf = nullptr;
  }
};

// ------------------------------------------------------------------ convolution

struct ConvMds {
  memory::desc src, wei, dst, bias, srcAny, weiAny, dstAny;
  memory::dims strides, dil, padL, padR;
};

static ConvMds convMds(const ConvGeom& g) {
  ConvMds m;
  m.src = memory::desc({g.n, g.c, g.h, g.w}, dt::f32, tag::nchw);
  m.dst = memory::desc({g.n, g.oc, g.oh, g.ow}, dt::f32, tag::nchw);
  m.srcAny = memory::desc({g.n, g.c, g.h, g.w}, dt::f32, tag::any);
  m.dstAny = memory::desc({g.n, g.oc, g.oh, g.ow}, dt::f32, tag::any);
  if (g.g == 1) {
    m.wei = memory::desc({g.oc, g.c, g.kh, g.kw}, dt::f32, tag::oihw);
    m.weiAny = memory::desc({g.oc, g.c, g.kh, g.kw}, dt::f32, tag::any);
  } else {
    m.wei = memory::desc({g.g, g.oc / g.g, g.c / g.g, g.kh, g.kw}, dt::f32, tag::goihw);
    m.weiAny = memory::desc({g.g, g.oc / g.g, g.c / g.g, g.kh, g.kw}, dt::f32, tag::any);
  }
  m.bias = memory::desc({g.oc}, dt::f32, tag::x);
  m.strides = {g.sh, g.sw};
  m.dil = {g.dh - 1, g.dw - 1};
  m.padL = {g.pt, g.pl};
  m.padR = {g.pb, g.pr};
  return m;
}

static void checkConv(const ConvGeom& g) {
  if (g.n <= 0 || g.c <= 0 || g.h <= 0 || g.w <= 0 || g.oc <= 0 || g.kh <= 0 || g.kw <= 0 || g.oh <= 0 ||
      g.ow <= 0 || g.sh <= 0 || g.sw <= 0 || g.dh <= 0 || g.dw <= 0 || g.g <= 0 || g.pt < 0 || g.pl < 0 ||
      g.pb < 0 || g.pr < 0)
    throw std::runtime_error("conv2d: non-positive geometry");
  if (g.c % g.g || g.oc % g.g) throw std::runtime_error("conv2d: channels not divisible by groups");
}

/** The conv algorithm: LRQ_CONV_ALGO=auto|winograd lets oneDNN pick Winograd for 3×3 stride-1 layers. */
static algorithm convAlgo() {
  static const algorithm a = [] {
    const char* e = std::getenv("LRQ_CONV_ALGO");
    if (e && std::string(e) == "auto") return algorithm::convolution_auto;
    if (e && std::string(e) == "winograd") return algorithm::convolution_winograd;
    return algorithm::convolution_direct;
  }();
  return a;
}

static convolution_forward::primitive_desc convFwdPd(const ConvGeom& g, const ConvMds& m, bool withBias) {
  auto d = withBias ? convolution_forward::desc(prop_kind::forward_training, convAlgo(), m.srcAny,
                                                m.weiAny, m.bias, m.dstAny, m.strides, m.dil, m.padL, m.padR)
                    : convolution_forward::desc(prop_kind::forward_training, convAlgo(), m.srcAny,
                                                m.weiAny, m.dstAny, m.strides, m.dil, m.padL, m.padR);
  return convolution_forward::primitive_desc(d, eng());
}

static i64 geomKeyFields(const ConvGeom& g, int i) { return (&g.n)[i]; }
static std::string convKey(const char* kind, const ConvGeom& g, bool flag) {
  std::string k(kind);
  for (int i = 0; i < 18; i++) {
    k += ',';
    k += std::to_string(geomKeyFields(g, i));
  }
  k += flag ? ",1" : ",0";
  return k;
}

struct ConvFwdEntry {
  convolution_forward prim;
  Bridge src, wei, dst;
};
struct ConvBwdDataEntry {
  convolution_backward_data prim;
  Bridge gy, wei, gx;
};
struct ConvBwdWeiEntry {
  convolution_backward_weights prim;
  Bridge gy, src, gw;
};

template <class E>
static std::unordered_map<std::string, std::unique_ptr<E>>& cache() {
  static std::unordered_map<std::string, std::unique_ptr<E>> c;
  return c;
}

/** Depthwise (one filter per channel): our direct kernels serve it where oneDNN 2.6 uses im2col+gemm. */
static bool depthwise(const ConvGeom& g) { return g.g > 1 && g.g == g.c && g.g == g.oc; }
static bool dilated(const ConvGeom& g) { return g.dh > 1 || g.dw > 1; }

// The bwd-data entry that last reordered an output gradient: a following bwd-weights call on the very
// same gy (the caller vouches for identity) reads that blocked copy instead of reordering gy again.
// Its gy scratch stays taken until that next conv call (dropLastData gives it back otherwise).
static ConvBwdDataEntry* lastData = nullptr;
static std::string lastDataKey;
static void dropLastData() {
  if (lastData) lastData->gy.done();
  lastData = nullptr;
}

void convForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  checkConv(g);
  dropLastData();
  if (depthwise(g) && dilated(g)) return dwConvForward(g, x, w, b, y);
  auto k = convKey("cf", g, b != nullptr);
  auto& c = cache<ConvFwdEntry>();
  auto it = c.find(k);
  if (it == c.end()) {
    auto m = convMds(g);
    auto pd = convFwdPd(g, m, b != nullptr);
    auto e = std::make_unique<ConvFwdEntry>();
    e->prim = convolution_forward(pd);
    e->src.init(m.src, pd.src_desc(), true);
    e->wei.init(m.wei, pd.weights_desc(), true, true);
    e->dst.init(m.dst, pd.dst_desc(), false);
    it = c.emplace(k, std::move(e)).first;
  }
  auto& e = *it->second;
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, e.src.input(x)}, {DNNL_ARG_WEIGHTS, e.wei.input(w)}, {DNNL_ARG_DST, e.dst.output(y)}};
  if (b) args[DNNL_ARG_BIAS] = memory(memory::desc({g.oc}, dt::f32, tag::x), eng(), const_cast<float*>(b));
  e.prim.execute(strm(), args);
  e.dst.finish(y);
  strm().wait();
  e.src.done();
  e.dst.done();
}

void convBackwardData(const ConvGeom& g, const float* gy, const float* w, float* gx) {
  checkConv(g);
  dropLastData();
  if (depthwise(g) && dilated(g)) return dwConvBackwardData(g, gy, w, gx);
  auto k = convKey("cd", g, false);
  auto& c = cache<ConvBwdDataEntry>();
  auto it = c.find(k);
  if (it == c.end()) {
    auto m = convMds(g);
    auto hint = convFwdPd(g, m, false);
    auto d = convolution_backward_data::desc(convAlgo(), m.srcAny, m.weiAny, m.dstAny, m.strides,
                                             m.dil, m.padL, m.padR);
    auto pd = convolution_backward_data::primitive_desc(d, eng(), hint);
    auto e = std::make_unique<ConvBwdDataEntry>();
    e->prim = convolution_backward_data(pd);
    e->gy.init(m.dst, pd.diff_dst_desc(), true);
    e->wei.init(m.wei, pd.weights_desc(), true, true);
    e->gx.init(m.src, pd.diff_src_desc(), false);
    it = c.emplace(k, std::move(e)).first;
  }
  auto& e = *it->second;
  e.prim.execute(strm(), {{DNNL_ARG_DIFF_DST, e.gy.input(gy)},
                          {DNNL_ARG_WEIGHTS, e.wei.input(w)},
                          {DNNL_ARG_DIFF_SRC, e.gx.output(gx)}});
  e.gx.finish(gx);
  strm().wait();
  e.gx.done();
  lastData = &e;
  lastDataKey = k;
}

void convBackwardWeights(const ConvGeom& g, const float* gy, const float* x, float* gw, float* gb, bool sameGy) {
  checkConv(g);
  const bool reuse0 = sameGy && lastData && lastDataKey == convKey("cd", g, false);
  ConvBwdDataEntry* d = reuse0 ? lastData : nullptr;
  if (!d) dropLastData();
  lastData = nullptr;
  if (depthwise(g)) {
    if (d) d->gy.done();
    return dwConvBackwardWeights(g, gy, x, gw, gb);
  }
  auto k = convKey("cw", g, gb != nullptr);
  auto& c = cache<ConvBwdWeiEntry>();
  auto it = c.find(k);
  if (it == c.end()) {
    auto m = convMds(g);
    auto hint = convFwdPd(g, m, gb != nullptr);
    auto d = gb ? convolution_backward_weights::desc(convAlgo(), m.srcAny, m.weiAny, m.bias,
                                                     m.dstAny, m.strides, m.dil, m.padL, m.padR)
                : convolution_backward_weights::desc(convAlgo(), m.srcAny, m.weiAny, m.dstAny,
                                                     m.strides, m.dil, m.padL, m.padR);
    auto pd = convolution_backward_weights::primitive_desc(d, eng(), hint);
    auto e = std::make_unique<ConvBwdWeiEntry>();
    e->prim = convolution_backward_weights(pd);
    e->gy.init(m.dst, pd.diff_dst_desc(), true);
    e->src.init(m.src, pd.src_desc(), true);
    e->gw.init(m.wei, pd.diff_weights_desc(), false, true);
    it = c.emplace(k, std::move(e)).first;
  }
  auto& e = *it->second;
  const bool reuse = d && d->gy.needed && e.gy.needed && d->gy.buf && d->gy.prim == e.gy.prim;
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, reuse ? d->gy.held() : e.gy.input(gy)},
                                       {DNNL_ARG_SRC, e.src.input(x)},
                                       {DNNL_ARG_DIFF_WEIGHTS, e.gw.output(gw)}};
  if (gb) args[DNNL_ARG_DIFF_BIAS] = memory(memory::desc({g.oc}, dt::f32, tag::x), eng(), gb);
  e.prim.execute(strm(), args);
  e.gw.finish(gw);
  strm().wait();
  e.gy.done();
  e.src.done();
  if (d) d->gy.done();
}

// ------------------------------------------------------------------ matmul

// Through oneDNN's matmul primitive, not dnnl_sgemm: 2.6.3's AVX-512 sgemm corrupted the malloc heap
// for the generator's Linear (m 32, n 8192, k 100, B transposed), seen as aborts under `node --cpu-prof`
// (none with ONEDNN_MAX_CPU_ISA=AVX2 or with this primitive). Transposes are strided memory descriptors.
struct MatmulEntry {
  dnnl::matmul prim;
  memory::desc a, b, c, bias;
};

void matmul(const float* a, const float* b, float* c, i64 batch, i64 m, i64 n, i64 k, bool ta, bool tb,
            const float* bias, i64 aStride, i64 bStride) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (k == 0) {
    for (i64 i = 0; i < batch; i++)
      for (i64 r = 0; r < m; r++) {
        float* row = c + i * m * n + r * n;
        if (bias) std::memcpy(row, bias, sizeof(float) * n);
        else std::memset(row, 0, sizeof(float) * n);
      }
    return;
  }
  static std::unordered_map<std::string, std::unique_ptr<MatmulEntry>> cache;
  auto key_ = key("mm", {m, n, k, ta ? 1 : 0, tb ? 1 : 0, bias ? 1 : 0});
  auto it = cache.find(key_);
  if (it == cache.end()) {
    auto e = std::make_unique<MatmulEntry>();
    e->a = memory::desc({m, k}, dt::f32, ta ? memory::dims{1, m} : memory::dims{k, 1});
    e->b = memory::desc({k, n}, dt::f32, tb ? memory::dims{1, k} : memory::dims{n, 1});
    e->c = memory::desc({m, n}, dt::f32, memory::dims{n, 1});
    e->bias = memory::desc({1, n}, dt::f32, memory::dims{n, 1});
    auto d = bias ? dnnl::matmul::desc(e->a, e->b, e->bias, e->c) : dnnl::matmul::desc(e->a, e->b, e->c);
    e->prim = dnnl::matmul(dnnl::matmul::primitive_desc(d, eng()));
    it = cache.emplace(key_, std::move(e)).first;
  }
  auto& e = *it->second;
  for (i64 i = 0; i < batch; i++) {
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(e.a, eng(), const_cast<float*>(a + i * aStride))},
        {DNNL_ARG_WEIGHTS, memory(e.b, eng(), const_cast<float*>(b + i * bStride))},
        {DNNL_ARG_DST, memory(e.c, eng(), c + i * m * n)}};
    if (bias) args[DNNL_ARG_BIAS] = memory(e.bias, eng(), const_cast<float*>(bias));
    e.prim.execute(strm(), args);
  }
  strm().wait();
}

// ------------------------------------------------------------------ batch norm

static memory::desc bnData(i64 n, i64 c, i64 hw) { return memory::desc({n, c, hw, 1}, dt::f32, tag::nchw); }
static memory::desc vecMd(i64 c) { return memory::desc({c}, dt::f32, tag::x); }
static memory vecMem(i64 c, const float* p) { return memory(vecMd(c), eng(), const_cast<float*>(p)); }
static const normalization_flags kScaleShift = normalization_flags::use_scale | normalization_flags::use_shift;

/** ones / zeros of length c, for a BN without affine parameters. */
static const float* constVec(i64 c, float v) {
  static std::unordered_map<i64, std::vector<float>> ones, zeros;
  auto& m = v == 1.f ? ones : zeros;
  auto& vec = m[c];
  if ((i64)vec.size() != c) vec.assign(c, v);
  return vec.data();
}

struct BnEntry {
  primitive prim;
};
static std::unordered_map<std::string, BnEntry>& bnCache() {
  static std::unordered_map<std::string, BnEntry> c;
  return c;
}
static std::string epsKey(float eps) {
  uint32_t u;
  std::memcpy(&u, &eps, 4);
  return std::to_string(u);
}

static batch_normalization_forward::primitive_desc bnFwdPd(i64 n, i64 c, i64 hw, float eps) {
  auto d = batch_normalization_forward::desc(prop_kind::forward_training, bnData(n, c, hw), eps, kScaleShift);
  return batch_normalization_forward::primitive_desc(d, eng());
}

void bnTrain(const float* x, i64 n, i64 c, i64 hw, const float* gamma, const float* beta, float eps, float* y,
             float* mean, float* var) {
  auto k = key("bt", {n, c, hw}) + epsKey(eps);
  auto& cc = bnCache();
  auto it = cc.find(k);
  if (it == cc.end()) it = cc.emplace(k, BnEntry{batch_normalization_forward(bnFwdPd(n, c, hw, eps))}).first;
  auto md = bnData(n, c, hw);
  it->second.prim.execute(strm(), {{DNNL_ARG_SRC, memory(md, eng(), const_cast<float*>(x))},
                                   {DNNL_ARG_DST, memory(md, eng(), y)},
                                   {DNNL_ARG_SCALE, vecMem(c, gamma ? gamma : constVec(c, 1.f))},
                                   {DNNL_ARG_SHIFT, vecMem(c, beta ? beta : constVec(c, 0.f))},
                                   {DNNL_ARG_MEAN, vecMem(c, mean)},
                                   {DNNL_ARG_VARIANCE, vecMem(c, var)}});
  strm().wait();
}

void bnInfer(const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var, const float* gamma,
             const float* beta, float eps, float* y) {
  auto k = key("bi", {n, c, hw}) + epsKey(eps);
  auto& cc = bnCache();
  auto it = cc.find(k);
  if (it == cc.end()) {
    auto d = batch_normalization_forward::desc(prop_kind::forward_inference, bnData(n, c, hw), eps,
                                               kScaleShift | normalization_flags::use_global_stats);
    it = cc.emplace(k, BnEntry{batch_normalization_forward(batch_normalization_forward::primitive_desc(d, eng()))})
             .first;
  }
  auto md = bnData(n, c, hw);
  it->second.prim.execute(strm(), {{DNNL_ARG_SRC, memory(md, eng(), const_cast<float*>(x))},
                                   {DNNL_ARG_DST, memory(md, eng(), y)},
                                   {DNNL_ARG_SCALE, vecMem(c, gamma ? gamma : constVec(c, 1.f))},
                                   {DNNL_ARG_SHIFT, vecMem(c, beta ? beta : constVec(c, 0.f))},
                                   {DNNL_ARG_MEAN, vecMem(c, mean)},
                                   {DNNL_ARG_VARIANCE, vecMem(c, var)}});
  strm().wait();
}

void bnBackward(const float* gy, const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var,
                const float* gamma, float eps, float* gx, float* ggamma, float* gbeta) {
  auto k = key("bb", {n, c, hw}) + epsKey(eps);
  auto& cc = bnCache();
  auto it = cc.find(k);
  if (it == cc.end()) {
    auto md = bnData(n, c, hw);
    auto d = batch_normalization_backward::desc(prop_kind::backward, md, md, eps, kScaleShift);
    auto pd = batch_normalization_backward::primitive_desc(d, eng(), bnFwdPd(n, c, hw, eps));
    it = cc.emplace(k, BnEntry{batch_normalization_backward(pd)}).first;
  }
  auto md = bnData(n, c, hw);
  it->second.prim.execute(strm(), {{DNNL_ARG_SRC, memory(md, eng(), const_cast<float*>(x))},
                                   {DNNL_ARG_DIFF_DST, memory(md, eng(), const_cast<float*>(gy))},
                                   {DNNL_ARG_MEAN, vecMem(c, mean)},
                                   {DNNL_ARG_VARIANCE, vecMem(c, var)},
                                   {DNNL_ARG_SCALE, vecMem(c, gamma ? gamma : constVec(c, 1.f))},
                                   {DNNL_ARG_SHIFT, vecMem(c, constVec(c, 0.f))},
                                   {DNNL_ARG_DIFF_SRC, memory(md, eng(), gx)},
                                   {DNNL_ARG_DIFF_SCALE, vecMem(c, ggamma)},
                                   {DNNL_ARG_DIFF_SHIFT, vecMem(c, gbeta)}});
  strm().wait();
}

// ------------------------------------------------------------------ eltwise

static bool dnnlAlg(const std::string& op, algorithm& alg) {
  if (op == "tanh") alg = algorithm::eltwise_tanh;
  else if (op == "sigmoid") alg = algorithm::eltwise_logistic;
  else if (op == "gelu") alg = algorithm::eltwise_gelu_erf;
  else if (op == "exp") alg = algorithm::eltwise_exp;
  else if (op == "elu") alg = algorithm::eltwise_elu;
  else return false;
  return true;
}

bool eltwiseDnnl(const std::string& op, const float* x, i64 len, float alpha, float beta, float* y) {
  algorithm alg;
  if (!dnnlAlg(op, alg)) return false;
  if (len == 0) return true;
  auto k = key(("e" + op).c_str(), {len}) + epsKey(alpha);
  auto& cc = bnCache();
  auto it = cc.find(k);
  auto md = memory::desc({len}, dt::f32, tag::x);
  if (it == cc.end()) {
    auto d = eltwise_forward::desc(prop_kind::forward_training, alg, md, alpha, beta);
    it = cc.emplace(k, BnEntry{eltwise_forward(eltwise_forward::primitive_desc(d, eng()))}).first;
  }
  it->second.prim.execute(strm(),
                          {{DNNL_ARG_SRC, memory(md, eng(), const_cast<float*>(x))}, {DNNL_ARG_DST, memory(md, eng(), y)}});
  strm().wait();
  return true;
}

void geluBackward(const float* gy, const float* x, i64 len, float* gx) {
  if (len == 0) return;
  auto k = key("egelu_b", {len});
  auto& cc = bnCache();
  auto it = cc.find(k);
  auto md = memory::desc({len}, dt::f32, tag::x);
  if (it == cc.end()) {
    auto fd = eltwise_forward::desc(prop_kind::forward_training, algorithm::eltwise_gelu_erf, md, 0.f, 0.f);
    auto hint = eltwise_forward::primitive_desc(fd, eng());
    auto d = eltwise_backward::desc(algorithm::eltwise_gelu_erf, md, md, 0.f, 0.f);
    it = cc.emplace(k, BnEntry{eltwise_backward(eltwise_backward::primitive_desc(d, eng(), hint))}).first;
  }
  it->second.prim.execute(strm(), {{DNNL_ARG_SRC, memory(md, eng(), const_cast<float*>(x))},
                                   {DNNL_ARG_DIFF_DST, memory(md, eng(), const_cast<float*>(gy))},
                                   {DNNL_ARG_DIFF_SRC, memory(md, eng(), gx)}});
  strm().wait();
}

}  // namespace lrq
