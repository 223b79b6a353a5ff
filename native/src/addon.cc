// N-API surface of lrq_native.node: argument checking and array plumbing around kernels.h. Inputs are
// JS Float32Arrays read in place (no copies); every result is a fresh Float32Array. Any failure (bad
// lengths, a oneDNN status) becomes a JS Error whose message names the function, never a crash.
#include <napi.h>
#include <v8.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <malloc.h>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <thread>

#include "dnnl.hpp"
#include "dnnl_debug.h"
#include "kernels.h"

using namespace lrq;

namespace {

// LRQ_BN_IMPL=onednn switches batch norm to oneDNN's primitives (for comparison); default: direct.cc.
bool useDnnlBn = false;

/** The V8 handle behind a napi_value (Node's napi_value is a v8::Local: v8impl::V8LocalValueFromJsValue). */
template <class T>
v8::Local<T> v8Local(napi_value v) {
  v8::Local<v8::Value> l;
  std::memcpy(static_cast<void*>(&l), &v, sizeof(v));
  return l.As<T>();
}

struct F32 {
  float* p;
  i64 n;
};

F32 f32(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": argument " + std::to_string(i) + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if (a.ElementLength() == 0 && a.ArrayBuffer().ByteLength() == 0) {
    // An empty view may be a released one (see Release): its ArrayBuffer is detached.
    if (v8Local<v8::TypedArray>(v)->Buffer()->WasDetached())
      throw Napi::Error::New(info.Env(), std::string(fn) + ": argument " + std::to_string(i) + " was released (a gradient temporary used after backward)");
  }
  return {a.Data(), (i64)a.ElementLength()};
}

/** A Float32Array argument that may be null/undefined. */
F32 f32opt(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (info[i].IsNull() || info[i].IsUndefined()) return {nullptr, 0};
  return f32(info, i, fn);
}

i64 num(const Napi::CallbackInfo& info, size_t i) { return (i64)info[i].As<Napi::Number>().Int64Value(); }
double dbl(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }

std::vector<i64> ints(const Napi::CallbackInfo& info, size_t i) {
  auto a = info[i].As<Napi::Array>();
  std::vector<i64> v(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) v[k] = (i64)a.Get(k).As<Napi::Number>().Int64Value();
  return v;
}

i64 prod(const std::vector<i64>& s) {
  i64 p = 1;
  for (i64 d : s) p *= d;
  return p;
}

void need(bool ok, const Napi::Env& env, const std::string& msg) {
  if (!ok) throw Napi::Error::New(env, msg);
}

/** [v0, v1, …] as a JS array: how every multi-output kernel returns its results (null where absent). */
Napi::Array tuple(const Napi::Env& env, std::initializer_list<Napi::Value> vs) {
  auto r = Napi::Array::New(env, vs.size());
  uint32_t i = 0;
  for (const Napi::Value& v : vs) r.Set(i++, v);
  return r;
}

// ---- output buffers
// A fresh JS Float32Array is calloc'd and, when large, mmap'd: first touch page-faults and zeroes every
// page, which costs more than a memory-bound kernel itself. Large outputs therefore come from a pool of
// recycled buffers (exact-size free lists), handed to JS as external ArrayBuffers whose finalizer (run when
// V8 collects the array) returns the buffer. Kernels write every output element, so no zeroing is needed.
constexpr size_t kPoolMin = 64 * 1024;  // bytes; smaller arrays stay on V8's heap
struct BufferPool {
  std::mutex m;
  std::unordered_map<size_t, std::vector<void*>> free;
  // Free buffers kept for reuse, at most `cap` bytes (LRQ_POOL_MB). An LRQ training step at batch 64
  // cycles through ~600 MB of distinct buffers; at 256 MB a third of its allocations missed and came
  // back as fresh page-faulting mappings (step 1056 -> 876 ms at 1 GB, same peak RSS: the memory was
  // being unmapped and mapped again, not saved).
  size_t held = 0, cap = (size_t)1024 << 20;
  size_t hits = 0, misses = 0, released = 0;
  // Buffers handed out and not yet given back, by data pointer → allocation serial (a counter over all
  // of them). `release` may detach only these, and only those made at or after a serial the caller
  // names, so arrays that existed before (a user's, or a forward activation saved for backward) can
  // never be freed early.
  std::unordered_map<void*, double> live;
  double nextSerial = 0;
  // Bytes handed out and not yet given back (outputs alive in JS plus conv scratch in use), and its peak.
  size_t liveBytes = 0, peakLive = 0;
  void count(size_t bytes) {
    liveBytes += bytes;
    if (liveBytes > peakLive) peakLive = liveBytes;
  }
  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> g(m);
      auto it = free.find(bytes);
      if (it != free.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        held -= bytes;
        hits++;
        live[p] = nextSerial++;
        count(bytes);
        return p;
      }
      misses++;
    }
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    std::lock_guard<std::mutex> g(m);
    live[p] = nextSerial++;
    count(bytes);
    return p;
  }
  void give(void* p, size_t bytes) {
    std::lock_guard<std::mutex> g(m);
    live.erase(p);
    liveBytes -= bytes;
    if (held + bytes > cap) {
      std::free(p);
      return;
    }
    free[bytes].push_back(p);
    held += bytes;
  }
};
// Never destroyed: V8 may free backing stores (calling give) during isolate teardown at exit.
BufferPool& pool = *new BufferPool;
}  // namespace

namespace lrq {
// Kernels' temporary buffers (conv layout scratch) come from the same pool, so one set of recycled
// buffers serves outputs and scratch, and nothing large stays allocated between calls.
void* scratchTake(size_t bytes) { return pool.take(bytes < kPoolMin ? kPoolMin : bytes); }
void scratchGive(void* p, size_t bytes) { pool.give(p, bytes < kPoolMin ? kPoolMin : bytes); }
}  // namespace lrq

namespace {

// Bytes of pooled outputs whose arrays V8 has freed since the last out() call. Deleters may run on V8's
// background sweeper thread, where no isolate API may be called, so the matching negative adjustment of
// V8's external-memory count waits for the next allocation on the main thread.
std::atomic<int64_t> freedSinceAdjust{0};

Napi::Float32Array out(const Napi::Env& env, i64 n) {
  const size_t bytes = (size_t)n * sizeof(float);
  if (bytes < kPoolMin) return Napi::Float32Array::New(env, (size_t)n);
  void* p = pool.take(bytes);
  // Tell V8 these bytes are held by JS objects. The backing store alone did not make it collect: a
  // training step allocates little on the JS heap, so the 224² generator step's ~3 GB of dead
  // activations (batch 16) were still alive through the next student step. External memory past V8's
  // limit makes the next allocation run (or advance) a full GC.
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, (int64_t)bytes - freedSinceAdjust.exchange(0), &adjusted);
  // A V8 backing store (not napi's external ArrayBuffer): its deleter runs as soon as the GC frees the
  // buffer, while napi finalizers wait for the event loop and would never recycle in a synchronous loop.
  v8::Isolate* iso = v8::Isolate::GetCurrent();
  auto store = v8::ArrayBuffer::NewBackingStore(
      p, bytes, [](void* data, size_t length, void*) {
        pool.give(data, length);
        freedSinceAdjust += (int64_t)length;
      }, nullptr);
  v8::Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(iso, std::move(store));
  v8::Local<v8::Value> fa = v8::Float32Array::New(ab, 0, (size_t)n);
  // napi_value is Node's handle to a v8::Local<v8::Value> (v8impl::JsValueFromV8LocalValue).
  napi_value v = reinterpret_cast<napi_value>(*fa);
  return Napi::Float32Array(env, v);
}

ConvGeom convGeom(const Napi::CallbackInfo& info, size_t i) {
  auto v = ints(info, i);
  need(v.size() == 18, info.Env(), "conv2d: geometry needs 18 fields");
  ConvGeom g;
  i64* f = &g.n;
  for (int k = 0; k < 18; k++) f[k] = v[k];
  return g;
}

PoolGeom poolGeom(const Napi::CallbackInfo& info, size_t i) {
  auto v = ints(info, i);
  need(v.size() == 15, info.Env(), "pool2d: geometry needs 15 fields");
  PoolGeom g;
  i64* f = &g.n;
  for (int k = 0; k < 14; k++) f[k] = v[k];
  g.includePad = v[14] != 0;
  for (int k = 0; k < 14; k++) need(f[k] >= 0, info.Env(), "pool2d: negative geometry");
  need(g.sh > 0 && g.sw > 0 && g.kh > 0 && g.kw > 0, info.Env(), "pool2d: non-positive kernel or stride");
  return g;
}

// One kernel at a time: the primitive caches and the oneDNN stream are process-wide, and worker threads
// may each load the addon. Uncontended, the lock costs nanoseconds.
std::mutex kernelLock;

/** Run `body` under the kernel lock, turning oneDNN and C++ errors into JS Errors that name `fn`. */
template <class F>
Napi::Value guard(const Napi::CallbackInfo& info, const char* fn, F body) {
  std::lock_guard<std::mutex> lock(kernelLock);
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string(fn) + ": oneDNN status " + dnnl_status2str(e.status) + " (" +
                                           e.what() + ")");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(fn) + ": " + e.what());
  }
}

// ---------------------------------------------------------------- bindings

/** {hits, misses, released, heldMB} of the output-buffer pool (diagnostics for the benchmark). */
Napi::Value PoolStats(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  std::lock_guard<std::mutex> g(pool.m);
  o.Set("hits", (double)pool.hits);
  o.Set("misses", (double)pool.misses);
  o.Set("released", (double)pool.released);
  o.Set("heldMB", (double)pool.held / (1 << 20));
  o.Set("liveMB", (double)pool.liveBytes / (1 << 20));
  o.Set("peakLiveMB", (double)pool.peakLive / (1 << 20));
  return o;
}

/** resetPeak(): start a new peak of live pooled bytes (poolStats().peakLiveMB) from the current level. */
Napi::Value ResetPeak(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> g(pool.m);
  pool.peakLive = pool.liveBytes;
  return info.Env().Undefined();
}

/** The serial the next pooled output will get (mark taken before a pass whose temporaries may be released). */
Napi::Value AllocSerial(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> g(pool.m);
  return Napi::Number::New(info.Env(), pool.nextSerial);
}

/**
 * release(array, since): hand the array's buffer back to the pool now instead of at garbage collection,
 * when it is a pooled output made at serial ≥ since. The ArrayBuffer is detached, so every view of it
 * reads as length 0 from then on (a stray later use fails loudly instead of seeing reused memory).
 * Returns whether it released. The caller vouches that nothing still needs the values.
 */
Napi::Value Release(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) return Napi::Boolean::New(env, false);
  const double since = info[1].As<Napi::Number>().DoubleValue();
  v8::Local<v8::ArrayBuffer> ab = v8Local<v8::TypedArray>(info[0])->Buffer();
  if (!ab->IsDetachable() || ab->WasDetached()) return Napi::Boolean::New(env, false);
  void* data = ab->Data();
  {
    std::lock_guard<std::mutex> g(pool.m);
    auto it = pool.live.find(data);
    if (it == pool.live.end() || it->second < since) return Napi::Boolean::New(env, false);
  }
  // Detaching drops the ArrayBuffer's reference to the backing store; its deleter returns the buffer.
  ab->Detach();
  {
    std::lock_guard<std::mutex> g(pool.m);
    pool.released++;
  }
  return Napi::Boolean::New(env, true);
}

/** alloc(n, fill): a fresh output array of n floats from the pool, every element = fill (undefined: not
 *  written, for callers that overwrite all of it). Large JS-side `new Float32Array`s would be fresh
 *  zeroed mappings instead, page-faulting on first touch. */
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  const i64 n = num(info, 0);
  need(n >= 0, info.Env(), "alloc: negative length");
  auto a = out(info.Env(), n);
  if (!info[1].IsUndefined()) {
    const float v = (float)dbl(info, 1);
    float* p = a.Data();
    if (v == 0.f && !std::signbit(v)) std::memset(p, 0, (size_t)n * sizeof(float));
    else std::fill(p, p + n, v);
  }
  return a;
}

/** oneDNN's verbose level (0 off, 1 exec, 2 +create), for profiling one step. */
Napi::Value SetVerbose(const Napi::CallbackInfo& info) {
  dnnl_set_verbose((int)num(info, 0));
  return info.Env().Undefined();
}

Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), getThreads()); }

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  setThreads((int)num(info, 0));
  return Napi::Number::New(info.Env(), getThreads());
}

void checkConvLens(const Napi::Env& env, const ConvGeom& g, i64 xLen, i64 wLen, i64 yLen, const char* fn) {
  need(g.g > 0 && g.c % g.g == 0 && g.oc % g.g == 0, env, std::string(fn) + ": channels not divisible by groups");
  need(xLen == g.n * g.c * g.h * g.w, env, std::string(fn) + ": input length does not match geometry");
  need(wLen == g.oc * (g.c / g.g) * g.kh * g.kw, env, std::string(fn) + ": weight length does not match geometry");
  need(yLen == g.n * g.oc * g.oh * g.ow, env, std::string(fn) + ": output-gradient length does not match geometry");
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  return guard(info, "conv2d", [&]() -> Napi::Value {
    auto x = f32(info, 0, "conv2d"), w = f32(info, 1, "conv2d"), b = f32opt(info, 2, "conv2d");
    auto g = convGeom(info, 3);
    const i64 yl = g.n * g.oc * g.oh * g.ow;
    checkConvLens(info.Env(), g, x.n, w.n, yl, "conv2d");
    need(!b.p || b.n == g.oc, info.Env(), "conv2d: bias length does not match out channels");
    auto y = out(info.Env(), yl);
    convForward(g, x.p, w.p, b.p, y.Data());
    return y;
  });
}

Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  return guard(info, "conv2dBackwardData", [&]() -> Napi::Value {
    auto gy = f32(info, 0, "conv2dBackwardData"), w = f32(info, 1, "conv2dBackwardData");
    auto g = convGeom(info, 2);
    const i64 xl = g.n * g.c * g.h * g.w;
    checkConvLens(info.Env(), g, xl, w.n, gy.n, "conv2dBackwardData");
    auto gx = out(info.Env(), xl);
    convBackwardData(g, gy.p, w.p, gx.Data());
    return gx;
  });
}

Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo& info) {
  return guard(info, "conv2dBackwardWeights", [&]() -> Napi::Value {
    auto gy = f32(info, 0, "conv2dBackwardWeights"), x = f32(info, 1, "conv2dBackwardWeights");
    auto g = convGeom(info, 2);
    const bool withBias = info[3].ToBoolean();
    need(g.g > 0, info.Env(), "conv2dBackwardWeights: groups must be positive");
    const i64 wl = g.oc * (g.c / g.g) * g.kh * g.kw;
    checkConvLens(info.Env(), g, x.n, wl, gy.n, "conv2dBackwardWeights");
    auto gw = out(info.Env(), wl);
    Napi::Value gbv = info.Env().Null();
    float* gb = nullptr;
    if (withBias) {
      auto a = out(info.Env(), g.oc);
      gb = a.Data();
      gbv = a;
    }
    const bool sameGy = info.Length() > 4 && info[4].ToBoolean();
    convBackwardWeights(g, gy.p, x.p, gw.Data(), gb, sameGy);
    return tuple(info.Env(), {gw, gbv});
  });
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  return guard(info, "matmul", [&]() -> Napi::Value {
    auto a = f32(info, 0, "matmul"), b = f32(info, 1, "matmul");
    const i64 batch = num(info, 2), m = num(info, 3), n = num(info, 4), k = num(info, 5);
    const bool ta = info[6].ToBoolean(), tb = info[7].ToBoolean();
    auto bias = f32opt(info, 8, "matmul");
    const i64 as = num(info, 9), bs = num(info, 10);
    need(batch >= 0 && m >= 0 && n >= 0 && k >= 0 && as >= 0 && bs >= 0, info.Env(), "matmul: negative size");
    need(batch == 0 || (a.n >= (batch - 1) * as + m * k && b.n >= (batch - 1) * bs + k * n), info.Env(),
         "matmul: operand too short for the given sizes");
    need(!bias.p || bias.n == n, info.Env(), "matmul: bias length must equal n");
    auto c = out(info.Env(), batch * m * n);
    matmul(a.p, b.p, c.Data(), batch, m, n, k, ta, tb, bias.p, as, bs);
    return c;
  });
}

Napi::Value BnTrain(const Napi::CallbackInfo& info) {
  return guard(info, "batchNormTrain", [&]() -> Napi::Value {
    auto x = f32(info, 0, "batchNormTrain");
    const i64 n = num(info, 1), c = num(info, 2), hw = num(info, 3);
    auto gamma = f32opt(info, 4, "batchNormTrain"), beta = f32opt(info, 5, "batchNormTrain");
    const float eps = (float)dbl(info, 6);
    need(n > 0 && c > 0 && hw > 0 && x.n == n * c * hw, info.Env(), "batchNormTrain: length does not match n·c·hw");
    need((!gamma.p || gamma.n == c) && (!beta.p || beta.n == c), info.Env(), "batchNormTrain: affine length != c");
    auto y = out(info.Env(), x.n), mean = out(info.Env(), c), var = out(info.Env(), c);
    (useDnnlBn ? bnTrain : bnTrainDirect)(x.p, n, c, hw, gamma.p, beta.p, eps, y.Data(), mean.Data(), var.Data());
    return tuple(info.Env(), {y, mean, var});
  });
}

Napi::Value BnInfer(const Napi::CallbackInfo& info) {
  return guard(info, "batchNormInfer", [&]() -> Napi::Value {
    auto x = f32(info, 0, "batchNormInfer");
    const i64 n = num(info, 1), c = num(info, 2), hw = num(info, 3);
    auto mean = f32(info, 4, "batchNormInfer"), var = f32(info, 5, "batchNormInfer");
    auto gamma = f32opt(info, 6, "batchNormInfer"), beta = f32opt(info, 7, "batchNormInfer");
    const float eps = (float)dbl(info, 8);
    need(n > 0 && c > 0 && hw > 0 && x.n == n * c * hw, info.Env(), "batchNormInfer: length does not match n·c·hw");
    need(mean.n == c && var.n == c && (!gamma.p || gamma.n == c) && (!beta.p || beta.n == c), info.Env(),
         "batchNormInfer: statistics length != c");
    auto y = out(info.Env(), x.n);
    (useDnnlBn ? bnInfer : bnInferDirect)(x.p, n, c, hw, mean.p, var.p, gamma.p, beta.p, eps, y.Data());
    return y;
  });
}

Napi::Value BnBackward(const Napi::CallbackInfo& info) {
  return guard(info, "batchNormTrainBackward", [&]() -> Napi::Value {
    auto gy = f32(info, 0, "batchNormTrainBackward"), x = f32(info, 1, "batchNormTrainBackward");
    const i64 n = num(info, 2), c = num(info, 3), hw = num(info, 4);
    auto mean = f32(info, 5, "batchNormTrainBackward"), var = f32(info, 6, "batchNormTrainBackward");
    auto gamma = f32opt(info, 7, "batchNormTrainBackward");
    const float eps = (float)dbl(info, 8);
    need(n > 0 && c > 0 && hw > 0 && x.n == n * c * hw && gy.n == x.n, info.Env(),
         "batchNormTrainBackward: length does not match n·c·hw");
    need(mean.n == c && var.n == c && (!gamma.p || gamma.n == c), info.Env(),
         "batchNormTrainBackward: statistics length != c");
    auto gx = out(info.Env(), x.n), gg = out(info.Env(), c), gb = out(info.Env(), c);
    (useDnnlBn ? bnBackward : bnBackwardDirect)(gy.p, x.p, n, c, hw, mean.p, var.p, gamma.p, eps, gx.Data(), gg.Data(), gb.Data());
    return tuple(info.Env(), {gx, gg, gb});
  });
}

Napi::Value BnInferBackward(const Napi::CallbackInfo& info) {
  return guard(info, "batchNormInferBackward", [&]() -> Napi::Value {
    auto gy = f32(info, 0, "batchNormInferBackward"), x = f32(info, 1, "batchNormInferBackward");
    const i64 n = num(info, 2), c = num(info, 3), hw = num(info, 4);
    auto mean = f32(info, 5, "batchNormInferBackward"), var = f32(info, 6, "batchNormInferBackward");
    auto gamma = f32opt(info, 7, "batchNormInferBackward");
    const float eps = (float)dbl(info, 8);
    const bool params = info[9].As<Napi::Boolean>();
    need(n > 0 && c > 0 && hw > 0 && x.n == n * c * hw && gy.n == x.n, info.Env(),
         "batchNormInferBackward: length does not match n·c·hw");
    need(mean.n == c && var.n == c && (!gamma.p || gamma.n == c), info.Env(),
         "batchNormInferBackward: statistics length != c");
    auto gx = out(info.Env(), x.n);
    if (!params) {
      bnInferBackwardDirect(gy.p, x.p, n, c, hw, mean.p, var.p, gamma.p, eps, gx.Data(), nullptr, nullptr);
      return tuple(info.Env(), {gx, info.Env().Null(), info.Env().Null()});
    }
    auto gg = out(info.Env(), c), gb = out(info.Env(), c);
    bnInferBackwardDirect(gy.p, x.p, n, c, hw, mean.p, var.p, gamma.p, eps, gx.Data(), gg.Data(), gb.Data());
    return tuple(info.Env(), {gx, gg, gb});
  });
}

Napi::Value BnMoments(const Napi::CallbackInfo& info) {
  return guard(info, "batchMoments", [&]() -> Napi::Value {
    auto x = f32(info, 0, "batchMoments");
    const i64 n = num(info, 1), c = num(info, 2), hw = num(info, 3);
    need(n > 0 && c > 0 && hw > 0 && x.n == n * c * hw, info.Env(), "batchMoments: length does not match n·c·hw");
    auto mean = out(info.Env(), c), var = out(info.Env(), c);
    bnMomentsDirect(x.p, n, c, hw, mean.Data(), var.Data());
    return tuple(info.Env(), {mean, var});
  });
}

Napi::Value BnMomentsBackward(const Napi::CallbackInfo& info) {
  return guard(info, "batchMomentsBackward", [&]() -> Napi::Value {
    auto gm = f32(info, 0, "batchMomentsBackward"), gv = f32(info, 1, "batchMomentsBackward");
    auto x = f32(info, 2, "batchMomentsBackward");
    const i64 n = num(info, 3), c = num(info, 4), hw = num(info, 5);
    auto mean = f32(info, 6, "batchMomentsBackward");
    need(n > 0 && c > 0 && hw > 0 && x.n == n * c * hw, info.Env(), "batchMomentsBackward: length does not match n·c·hw");
    need(gm.n == c && gv.n == c && mean.n == c, info.Env(), "batchMomentsBackward: statistics length != c");
    auto gx = out(info.Env(), x.n);
    bnMomentsBackwardDirect(gm.p, gv.p, x.p, n, c, hw, mean.p, gx.Data());
    return gx;
  });
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  return guard(info, "unary", [&]() -> Napi::Value {
    const std::string op = info[0].As<Napi::String>();
    auto x = f32(info, 1, "unary");
    const float alpha = (float)dbl(info, 2), lo = (float)dbl(info, 3), hi = (float)dbl(info, 4);
    auto y = out(info.Env(), x.n);
    // Transcendentals through oneDNN's vectorized eltwise; the rest as plain loops.
    const float dnnlAlpha = op == "elu" ? alpha : 0.f;
    if (eltwiseDnnl(op, x.p, x.n, dnnlAlpha, 0.f, y.Data())) return y;
    if (unaryLoop(op, x.p, x.n, alpha, lo, hi, y.Data())) return y;
    return info.Env().Null();
  });
}

Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  return guard(info, "unaryBackward", [&]() -> Napi::Value {
    const std::string op = info[0].As<Napi::String>();
    auto gy = f32(info, 1, "unaryBackward"), x = f32(info, 2, "unaryBackward"), y = f32(info, 3, "unaryBackward");
    const float alpha = (float)dbl(info, 4), lo = (float)dbl(info, 5), hi = (float)dbl(info, 6);
    need(gy.n == x.n && y.n == x.n, info.Env(), "unaryBackward: lengths differ");
    auto gx = out(info.Env(), x.n);
    if (op == "gelu") {
      geluBackward(gy.p, x.p, x.n, gx.Data());
      return gx;
    }
    if (unaryBackwardLoop(op, gy.p, x.p, y.p, x.n, alpha, lo, hi, gx.Data())) return gx;
    return info.Env().Null();
  });
}

/** Left-pad a shape with 1s to rank r. */
std::vector<i64> padTo(const std::vector<i64>& s, size_t r) {
  std::vector<i64> o(r - s.size(), 1);
  o.insert(o.end(), s.begin(), s.end());
  return o;
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  return guard(info, "binary", [&]() -> Napi::Value {
    const int op = (int)num(info, 0);
    auto a = f32(info, 1, "binary");
    auto as = ints(info, 2);
    auto b = f32(info, 3, "binary");
    auto bs = ints(info, 4);
    auto os = ints(info, 5);
    need(as.size() <= os.size() && bs.size() <= os.size(), info.Env(), "binary: operand rank exceeds output rank");
    as = padTo(as, os.size());
    bs = padTo(bs, os.size());
    need(prod(as) == a.n && prod(bs) == b.n, info.Env(), "binary: operand length does not match its shape");
    for (size_t d = 0; d < os.size(); d++)
      need((as[d] == os[d] || as[d] == 1) && (bs[d] == os[d] || bs[d] == 1), info.Env(), "binary: shapes do not broadcast");
    auto o = out(info.Env(), prod(os));
    if (prod(os) > 0) binary(op, a.p, as, b.p, bs, os, o.Data());
    return o;
  });
}

Napi::Value Affine(const Napi::CallbackInfo& info) {
  return guard(info, "affine", [&]() -> Napi::Value {
    auto a = f32(info, 0, "affine");
    auto o = out(info.Env(), a.n);
    affine(a.p, a.n, (float)dbl(info, 1), (float)dbl(info, 2), o.Data());
    return o;
  });
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  return guard(info, "reduce", [&]() -> Napi::Value {
    auto x = f32(info, 0, "reduce");
    auto shape = ints(info, 1);
    auto ax = ints(info, 2);
    const bool isMax = info[3].ToBoolean();
    need(prod(shape) == x.n, info.Env(), "reduce: length does not match shape");
    std::vector<int> axes;
    i64 outLen = 1;
    std::vector<bool> red(shape.size(), false);
    for (i64 a : ax) {
      need(a >= 0 && a < (i64)shape.size(), info.Env(), "reduce: axis out of range");
      red[a] = true;
      axes.push_back((int)a);
    }
    for (size_t d = 0; d < shape.size(); d++)
      if (!red[d]) outLen *= shape[d];
    auto o = out(info.Env(), outLen);
    reduce(x.p, shape, axes, isMax, o.Data());
    return o;
  });
}

Napi::Value BroadcastTo(const Napi::CallbackInfo& info) {
  return guard(info, "broadcastTo", [&]() -> Napi::Value {
    auto x = f32(info, 0, "broadcastTo");
    auto xs = ints(info, 1);
    auto os = ints(info, 2);
    need(xs.size() <= os.size(), info.Env(), "broadcastTo: rank exceeds output rank");
    xs = padTo(xs, os.size());
    need(prod(xs) == x.n, info.Env(), "broadcastTo: length does not match shape");
    for (size_t d = 0; d < os.size(); d++)
      need(xs[d] == os[d] || xs[d] == 1, info.Env(), "broadcastTo: shapes do not broadcast");
    auto o = out(info.Env(), prod(os));
    if (prod(os) > 0) broadcastTo(x.p, xs, os, o.Data());
    return o;
  });
}

Napi::Value Transpose(const Napi::CallbackInfo& info) {
  return guard(info, "transpose", [&]() -> Napi::Value {
    auto x = f32(info, 0, "transpose");
    auto shape = ints(info, 1);
    auto p = ints(info, 2);
    need(prod(shape) == x.n && p.size() == shape.size(), info.Env(), "transpose: bad shape or permutation");
    std::vector<int> perm;
    std::vector<bool> seen(shape.size(), false);
    for (i64 v : p) {
      need(v >= 0 && v < (i64)shape.size() && !seen[v], info.Env(), "transpose: bad permutation");
      seen[v] = true;
      perm.push_back((int)v);
    }
    auto o = out(info.Env(), x.n);
    if (x.n > 0) transpose(x.p, shape, perm, o.Data());
    return o;
  });
}

/** stridedCopy(src, sOff, sStrides, dst, dOff, dStrides, shape): writes into dst (a fresh array the caller made). */
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  return guard(info, "stridedCopy", [&]() -> Napi::Value {
    auto src = f32(info, 0, "stridedCopy");
    const i64 so = num(info, 1);
    auto ss = ints(info, 2);
    auto dst = f32(info, 3, "stridedCopy");
    const i64 dof = num(info, 4);
    auto ds = ints(info, 5);
    auto shape = ints(info, 6);
    need(ss.size() == shape.size() && ds.size() == shape.size(), info.Env(), "stridedCopy: rank mismatch");
    // Bounds: the extreme offsets reached along every dim must stay inside both arrays.
    i64 sLo = so, sHi = so, dLo = dof, dHi = dof;
    for (size_t d = 0; d < shape.size(); d++) {
      need(shape[d] >= 0, info.Env(), "stridedCopy: negative extent");
      if (shape[d] == 0) return info.Env().Undefined();
      const i64 se = (shape[d] - 1) * ss[d], de = (shape[d] - 1) * ds[d];
      (se < 0 ? sLo : sHi) += se;
      (de < 0 ? dLo : dHi) += de;
    }
    need(sLo >= 0 && sHi < src.n && dLo >= 0 && dHi < dst.n, info.Env(), "stridedCopy: index box out of bounds");
    stridedCopy(src.p, so, ss, dst.p, dof, ds, shape);
    return info.Env().Undefined();
  });
}

Napi::Value Upsample(const Napi::CallbackInfo& info) {
  return guard(info, "upsampleNearest", [&]() -> Napi::Value {
    auto x = f32(info, 0, "upsampleNearest");
    const i64 n = num(info, 1), c = num(info, 2), h = num(info, 3), w = num(info, 4), sh = num(info, 5), sw = num(info, 6);
    need(n >= 0 && c >= 0 && h >= 0 && w >= 0 && sh > 0 && sw > 0 && x.n == n * c * h * w, info.Env(),
         "upsampleNearest: bad geometry");
    auto y = out(info.Env(), x.n * sh * sw);
    upsampleNearest(x.p, n, c, h, w, sh, sw, y.Data());
    return y;
  });
}

Napi::Value UpsampleBackward(const Napi::CallbackInfo& info) {
  return guard(info, "upsampleNearestBackward", [&]() -> Napi::Value {
    auto gy = f32(info, 0, "upsampleNearestBackward");
    const i64 n = num(info, 1), c = num(info, 2), h = num(info, 3), w = num(info, 4), sh = num(info, 5), sw = num(info, 6);
    need(n >= 0 && c >= 0 && h >= 0 && w >= 0 && sh > 0 && sw > 0 && gy.n == n * c * h * w * sh * sw, info.Env(),
         "upsampleNearestBackward: bad geometry");
    auto gx = out(info.Env(), n * c * h * w);
    upsampleNearestBackward(gy.p, n, c, h, w, sh, sw, gx.Data());
    return gx;
  });
}

Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  return guard(info, "avgPool2d", [&]() -> Napi::Value {
    auto x = f32(info, 0, "avgPool2d");
    auto g = poolGeom(info, 1);
    need(x.n == g.n * g.c * g.h * g.w, info.Env(), "avgPool2d: input length does not match geometry");
    auto y = out(info.Env(), g.n * g.c * g.oh * g.ow);
    avgPool(g, x.p, y.Data());
    return y;
  });
}

Napi::Value AvgPoolBackward(const Napi::CallbackInfo& info) {
  return guard(info, "avgPool2dBackward", [&]() -> Napi::Value {
    auto gy = f32(info, 0, "avgPool2dBackward");
    auto g = poolGeom(info, 1);
    need(gy.n == g.n * g.c * g.oh * g.ow, info.Env(), "avgPool2dBackward: gradient length does not match geometry");
    auto gx = out(info.Env(), g.n * g.c * g.h * g.w);
    avgPoolBackward(g, gy.p, gx.Data());
    return gx;
  });
}

Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  return guard(info, "maxPool2d", [&]() -> Napi::Value {
    auto x = f32(info, 0, "maxPool2d");
    auto g = poolGeom(info, 1);
    need(x.n == g.n * g.c * g.h * g.w, info.Env(), "maxPool2d: input length does not match geometry");
    need(x.n < (i64)INT32_MAX, info.Env(), "maxPool2d: input too large for int32 argmax");
    const i64 ol = g.n * g.c * g.oh * g.ow;
    auto y = out(info.Env(), ol);
    auto am = Napi::Int32Array::New(info.Env(), (size_t)ol);
    maxPool(g, x.p, y.Data(), am.Data());
    return tuple(info.Env(), {y, am});
  });
}

Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info) {
  return guard(info, "maxPool2dBackward", [&]() -> Napi::Value {
    auto gy = f32(info, 0, "maxPool2dBackward");
    need(info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array, info.Env(),
         "maxPool2dBackward: argmax must be an Int32Array");
    auto am = info[1].As<Napi::Int32Array>();
    auto g = poolGeom(info, 2);
    const i64 ol = g.n * g.c * g.oh * g.ow;
    need(gy.n == ol && (i64)am.ElementLength() == ol, info.Env(), "maxPool2dBackward: length does not match geometry");
    const i64 il = g.n * g.c * g.h * g.w;
    auto gx = out(info.Env(), il);
    maxPoolBackward(g, gy.p, am.Data(), il, gx.Data());
    return gx;
  });
}

/** A Uint8Array argument (a QDrop keep mask) of length n, or null/undefined. */
const uint8_t* u8opt(const Napi::CallbackInfo& info, size_t i, i64 n, const char* fn) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  need(info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array, info.Env(),
       std::string(fn) + ": argument " + std::to_string(i) + " must be a Uint8Array");
  auto a = info[i].As<Napi::Uint8Array>();
  need((i64)a.ElementLength() == n, info.Env(), std::string(fn) + ": mask length does not match");
  return a.Data();
}

Napi::Value FakeQuant(const Napi::CallbackInfo& info) {
  return guard(info, "fakeQuant", [&]() -> Napi::Value {
    auto x = f32(info, 0, "fakeQuant");
    const i64 rows = num(info, 1), cols = num(info, 2);
    auto lo = f32(info, 3, "fakeQuant"), hi = f32(info, 4, "fakeQuant");
    const i64 bits = num(info, 5);
    need(rows >= 0 && cols >= 0 && rows * cols == x.n && lo.n == rows && hi.n == rows, info.Env(),
         "fakeQuant: lengths do not match rows·cols");
    need(bits >= 1 && bits <= 30, info.Env(), "fakeQuant: bits must be in 1..30");
    const uint8_t* keep = u8opt(info, 6, x.n, "fakeQuant");
    auto y = out(info.Env(), x.n);
    fakeQuant(x.p, rows, cols, lo.p, hi.p, (int)bits, keep, y.Data());
    return y;
  });
}

/** lsqBackward(x, g, step, zp, bits, keep|null) → [gx, Σ ∂L/∂Δ]. */
Napi::Value LsqBackward(const Napi::CallbackInfo& info) {
  return guard(info, "lsqBackward", [&]() -> Napi::Value {
    auto x = f32(info, 0, "lsqBackward"), g = f32(info, 1, "lsqBackward");
    need(g.n == x.n, info.Env(), "lsqBackward: lengths differ");
    const double step = dbl(info, 2), zp = dbl(info, 3);
    const i64 bits = num(info, 4);
    need(bits >= 1 && bits <= 30, info.Env(), "lsqBackward: bits must be in 1..30");
    const uint8_t* keep = u8opt(info, 5, x.n, "lsqBackward");
    auto gx = out(info.Env(), x.n);
    const double gs = lsqBackward(x.p, g.p, x.n, step, zp, (int)bits, keep, gx.Data());
    return tuple(info.Env(), {gx, Napi::Number::New(info.Env(), gs)});
  });
}

/** bernoulliMask(n, seed, t) → Uint8Array of n (see kernels.h). */
Napi::Value BernoulliMask(const Napi::CallbackInfo& info) {
  return guard(info, "bernoulliMask", [&]() -> Napi::Value {
    const i64 n = num(info, 0);
    const uint32_t seed = (uint32_t)info[1].As<Napi::Number>().Uint32Value();
    const i64 t = num(info, 2);
    need(n >= 0 && t >= 0 && t <= 256, info.Env(), "bernoulliMask: n must be >= 0 and t in 0..256");
    auto m = Napi::Uint8Array::New(info.Env(), (size_t)n);
    bernoulliMask(n, seed, (int)t, m.Data());
    return m;
  });
}

/** selectMask(keep, a, b) → keep ? a : b element-wise. */
Napi::Value SelectMask(const Napi::CallbackInfo& info) {
  return guard(info, "selectMask", [&]() -> Napi::Value {
    auto a = f32(info, 1, "selectMask"), b = f32(info, 2, "selectMask");
    need(a.n == b.n, info.Env(), "selectMask: lengths differ");
    const uint8_t* keep = u8opt(info, 0, a.n, "selectMask");
    need(keep != nullptr, info.Env(), "selectMask: the mask is required");
    auto y = out(info.Env(), a.n);
    selectMask(keep, a.p, b.p, a.n, y.Data());
    return y;
  });
}

Napi::Value RowMinMax(const Napi::CallbackInfo& info) {
  return guard(info, "rowMinMax", [&]() -> Napi::Value {
    auto x = f32(info, 0, "rowMinMax");
    const i64 rows = num(info, 1), cols = num(info, 2);
    need(rows >= 0 && cols >= 0 && rows * cols == x.n, info.Env(), "rowMinMax: length does not match rows·cols");
    auto mn = out(info.Env(), rows), mx = out(info.Env(), rows);
    rowMinMax(x.p, rows, cols, mn.Data(), mx.Data());
    return tuple(info.Env(), {mn, mx});
  });
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return guard(info, "softmax", [&]() -> Napi::Value {
    auto x = f32(info, 0, "softmax");
    const i64 rows = num(info, 1), cols = num(info, 2);
    const bool log = info[3].ToBoolean();
    need(rows >= 0 && cols >= 0 && rows * cols == x.n, info.Env(), "softmax: length does not match rows·cols");
    auto y = out(info.Env(), x.n);
    softmaxRows(x.p, rows, cols, log, y.Data());
    return y;
  });
}

/** adamUpdate(p, g, m, v, b1, b2, eps, stepSize, bc2Sqrt, wd): in place on p, m, v (see kernels.h). */
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  return guard(info, "adamUpdate", [&]() -> Napi::Value {
    auto p = f32(info, 0, "adamUpdate"), g = f32(info, 1, "adamUpdate"), m = f32(info, 2, "adamUpdate"),
         v = f32(info, 3, "adamUpdate");
    need(g.n == p.n && m.n == p.n && v.n == p.n, info.Env(), "adamUpdate: lengths differ");
    adamUpdate(p.p, g.p, m.p, v.p, p.n, dbl(info, 4), dbl(info, 5), dbl(info, 6), dbl(info, 7), dbl(info, 8), dbl(info, 9));
    return info.Env().Undefined();
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Thread count: LRQ_THREADS, else every hardware thread (libgomp alone may pick fewer).
  const char* t = std::getenv("LRQ_THREADS");
  int n = t ? std::atoi(t) : 0;
  if (n <= 0) n = (int)std::thread::hardware_concurrency();
  setThreads(n > 0 ? n : 1);
  const char* bi = std::getenv("LRQ_BN_IMPL");
  useDnnlBn = bi && std::string(bi) == "onednn";
  if (const char* pm = std::getenv("LRQ_POOL_MB")) pool.cap = (size_t)std::atol(pm) << 20;
  // glibc raises its mmap threshold to the size of every mmap'd block freed (up to 32 MB), after which
  // activation-sized buffers come from the brk heap, fragment it and are never returned: RSS grew
  // ~0.7 GB per 1,000 training iterations. A fixed threshold (setting it disables the dynamic rule)
  // keeps buffers of >= 64 KB in their own mappings, returned to the OS on free; reuse is the pool's job.
  // (LRQ_NO_MALLOPT=1 keeps glibc's default, for A/B runs: engine bench times were the same either way.)
  if (!std::getenv("LRQ_NO_MALLOPT")) mallopt(M_MMAP_THRESHOLD, (int)kPoolMin);
#define EXPORT(name, fn) exports.Set(name, Napi::Function::New(env, fn, name))
  EXPORT("threads", Threads);
  EXPORT("poolStats", PoolStats);
  EXPORT("resetPeak", ResetPeak);
  EXPORT("allocSerial", AllocSerial);
  EXPORT("release", Release);
  EXPORT("alloc", Alloc);
  EXPORT("adamUpdate", AdamUpdate);
  EXPORT("setVerbose", SetVerbose);
  EXPORT("setThreads", SetThreads);
  EXPORT("conv2d", Conv2d);
  EXPORT("conv2dBackwardData", Conv2dBackwardData);
  EXPORT("conv2dBackwardWeights", Conv2dBackwardWeights);
  EXPORT("matmul", Matmul);
  EXPORT("batchNormTrain", BnTrain);
  EXPORT("batchNormInfer", BnInfer);
  EXPORT("batchNormTrainBackward", BnBackward);
  EXPORT("batchNormInferBackward", BnInferBackward);
  EXPORT("batchMoments", BnMoments);
  EXPORT("batchMomentsBackward", BnMomentsBackward);
  EXPORT("unary", Unary);
  EXPORT("unaryBackward", UnaryBackward);
  EXPORT("binary", Binary);
  EXPORT("affine", Affine);
  EXPORT("reduce", Reduce);
  EXPORT("broadcastTo", BroadcastTo);
  EXPORT("transpose", Transpose);
  EXPORT("stridedCopy", StridedCopy);
  EXPORT("upsampleNearest", Upsample);
  EXPORT("upsampleNearestBackward", UpsampleBackward);
  EXPORT("avgPool2d", AvgPool);
  EXPORT("avgPool2dBackward", AvgPoolBackward);
  EXPORT("maxPool2d", MaxPool);
  EXPORT("maxPool2dBackward", MaxPoolBackward);
  EXPORT("fakeQuant", FakeQuant);
  EXPORT("rowMinMax", RowMinMax);
  EXPORT("lsqBackward", LsqBackward);
  EXPORT("bernoulliMask", BernoulliMask);
  EXPORT("selectMask", SelectMask);
  EXPORT("softmax", Softmax);
#undef EXPORT
  return exports;
}

}  // namespace

NODE_API_MODULE(lrq_native, Init)
