// Raw-pointer kernels of the lrq addon: oneDNN-backed ones (dnnl_ops.cc) and hand-written OpenMP loops
// (loops.cc). Every kernel reads its inputs and writes a caller-allocated, correctly sized output; none
// writes into an input. Errors are thrown as std::runtime_error / dnnl::error and mapped to JS by addon.cc.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lrq {

using i64 = int64_t;

/** Conv geometry, same fields and order as the TS Conv2dGeom; dilation 1 = dense. */
struct ConvGeom {
  i64 n, c, h, w, oc, kh, kw, oh, ow, sh, sw, pt, pl, pb, pr, dh, dw, g;
};

/** Pool geometry, same fields as the TS Pool2dGeom. */
struct PoolGeom {
  i64 n, c, h, w, kh, kw, oh, ow, sh, sw, pt, pl, pb, pr;
  bool includePad;
};

// ---- threads
void setThreads(int n);
int getThreads();

// ---- temporary buffers from the output pool (addon.cc): taken for one kernel call, given back after
void* scratchTake(size_t bytes);
void scratchGive(void* p, size_t bytes);

// ---- oneDNN primitives (dnnl_ops.cc)
void convForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y);
void convBackwardData(const ConvGeom& g, const float* gy, const float* w, float* gx);
/** sameGy: gy is the array the previous convBackwardData call received (its blocked copy is reused). */
void convBackwardWeights(const ConvGeom& g, const float* gy, const float* x, float* gw, float* gb, bool sameGy = false);
void matmul(const float* a, const float* b, float* c, i64 batch, i64 m, i64 n, i64 k, bool ta, bool tb,
            const float* bias, i64 aStride, i64 bStride);
void bnTrain(const float* x, i64 n, i64 c, i64 hw, const float* gamma, const float* beta, float eps, float* y,
             float* mean, float* var);
void bnInfer(const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var, const float* gamma,
             const float* beta, float eps, float* y);
void bnBackward(const float* gy, const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var,
                const float* gamma, float eps, float* gx, float* ggamma, float* gbeta);
/** y = f(x) with oneDNN's eltwise for transcendental ops; returns false when `op` is not one of them. */
bool eltwiseDnnl(const std::string& op, const float* x, i64 len, float alpha, float beta, float* y);
/** gelu (erf form) backward through oneDNN. */
void geluBackward(const float* gy, const float* x, i64 len, float* gx);

// ---- direct kernels (direct.cc): barrier-free batch norm, depthwise convolution (groups = c = oc)
void bnTrainDirect(const float* x, i64 n, i64 c, i64 hw, const float* gamma, const float* beta, float eps, float* y,
                   float* mean, float* var);
void bnInferDirect(const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var, const float* gamma,
                   const float* beta, float eps, float* y);
void bnBackwardDirect(const float* gy, const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var,
                      const float* gamma, float eps, float* gx, float* ggamma, float* gbeta);
/** Batch mean and biased variance per channel (no normalized output). */
void bnMomentsDirect(const float* x, i64 n, i64 c, i64 hw, float* mean, float* var);
/** gx = gμ/M + 2·gσ²·(x − μ)/M per channel, M = n·hw. */
void bnMomentsBackwardDirect(const float* gmean, const float* gvar, const float* x, i64 n, i64 c, i64 hw,
                             const float* mean, float* gx);
/** Inference-mode batch norm backward: gx = gy·γ/√(σ²+ε); dγ, dβ when ggamma/gbeta are non-null. */
void bnInferBackwardDirect(const float* gy, const float* x, i64 n, i64 c, i64 hw, const float* mean, const float* var,
                           const float* gamma, float eps, float* gx, float* ggamma, float* gbeta);
void dwConvForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y);
void dwConvBackwardData(const ConvGeom& g, const float* gy, const float* w, float* gx);
void dwConvBackwardWeights(const ConvGeom& g, const float* gy, const float* x, float* gw, float* gb);

// ---- hand-written loops (loops.cc)
/** Unary ops without a oneDNN fast path; returns false for an unknown op. */
bool unaryLoop(const std::string& op, const float* x, i64 len, float alpha, float lo, float hi, float* y);
/** dL/dx of unary ops; returns false for an unknown op. */
bool unaryBackwardLoop(const std::string& op, const float* gy, const float* x, const float* y, i64 len, float alpha,
                       float lo, float hi, float* gx);
/** out = a ∘ b with numpy broadcasting (shapes already padded to outShape's rank by the caller). */
void binary(int op, const float* a, const std::vector<i64>& as, const float* b, const std::vector<i64>& bs,
            const std::vector<i64>& os, float* out);
/** out = a·alpha + beta. */
void affine(const float* a, i64 len, float alpha, float beta, float* out);
/** Σ (or max when isMax) of x over `axes`; out has the kept dims' sizes. */
void reduce(const float* x, const std::vector<i64>& shape, const std::vector<int>& axes, bool isMax, float* out);
/** Broadcast x (shape padded to outShape's rank) to outShape. */
void broadcastTo(const float* x, const std::vector<i64>& xs, const std::vector<i64>& os, float* out);
/** out[perm-order] = x. */
void transpose(const float* x, const std::vector<i64>& shape, const std::vector<int>& perm, float* out);
/** dst[dOff + Σ i_d·dst_d] = src[sOff + Σ i_d·src_d] over the index box `shape` (strides may be negative). */
void stridedCopy(const float* src, i64 sOff, const std::vector<i64>& sst, float* dst, i64 dOff,
                 const std::vector<i64>& dstr, const std::vector<i64>& shape);
void upsampleNearest(const float* x, i64 n, i64 c, i64 h, i64 w, i64 sh, i64 sw, float* y);
void upsampleNearestBackward(const float* gy, i64 n, i64 c, i64 h, i64 w, i64 sh, i64 sw, float* gx);
void avgPool(const PoolGeom& g, const float* x, float* y);
void avgPoolBackward(const PoolGeom& g, const float* gy, float* gx);
void maxPool(const PoolGeom& g, const float* x, float* y, int32_t* argmax);
void maxPoolBackward(const PoolGeom& g, const float* gy, const int32_t* argmax, i64 inLen, float* gx);
/** GDFQ fake quantization per row; where keep != null and keep[i] = 1 (QDrop), y[i] = x[i] unquantized. */
void fakeQuant(const float* x, i64 rows, i64 cols, const float* lo, const float* hi, int bits, const uint8_t* keep, float* y);
/** LSQ backward of one per-tensor quantizer (see lsqBackward in backends/reference/quant.ts); returns Σ ∂L/∂Δ before grad scale. */
double lsqBackward(const float* x, const float* g, i64 n, double step, double zp, int bits, const uint8_t* keep, float* gx);
/** xorshift32 from `seed` (non-zero), four bytes per state: out[i] = byte_i < t (reference: Rng.bernoulliMask). */
void bernoulliMask(i64 n, uint32_t seed, int t, uint8_t* out);
/** out[i] = keep[i] ? a[i] : b[i]. */
void selectMask(const uint8_t* keep, const float* a, const float* b, i64 n, float* out);
void rowMinMax(const float* x, i64 rows, i64 cols, float* mn, float* mx);
void softmaxRows(const float* x, i64 rows, i64 cols, bool log, float* y);

/** torch.optim.Adam's update of one float32 parameter, in place (p, m, v), rounding every stage to float
 *  exactly as nn/optim/adam.ts does, so both paths give identical bits. */
void adamUpdate(float* p, const float* g, float* m, float* v, i64 n, double b1, double b2, double eps,
                double stepSize, double bc2Sqrt, double wd);

}  // namespace lrq
