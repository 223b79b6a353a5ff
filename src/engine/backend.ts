// The kernel interface every backend implements, and the registry that picks one. Kernels are pure
// functions on contiguous row-major typed arrays: they never write into their inputs and always return
// fresh arrays of the input's dtype. `reference` implements all of them; `onednn` overrides the heavy
// ones with native code and inherits the rest, so a kernel added here only needs a reference version.

import type { Data } from './dtype.js';

/** Geometry of a 2-D convolution, NCHW input [n, c, h, w], weight [oc, c/groups, kh, kw]. */
export interface Conv2dGeom {
  n: number; c: number; h: number; w: number;
  oc: number; kh: number; kw: number;
  oh: number; ow: number;
  strideH: number; strideW: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number;
  dilH: number; dilW: number;
  groups: number;
}

/** Geometry of a 2-D pooling window over NCHW input. */
export interface Pool2dGeom {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; oh: number; ow: number;
  strideH: number; strideW: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number;
  /** avg pool: include zero padding in the divisor (ONNX count_include_pad / torch default true). */
  countIncludePad: boolean;
}

/** Unary elementwise ops with a kernel-level forward and backward. */
export type UnaryOp =
  | 'neg' | 'relu' | 'leaky_relu' | 'clip' | 'tanh' | 'sigmoid' | 'gelu' | 'exp' | 'log' | 'sqrt'
  | 'abs' | 'cos' | 'sin' | 'square' | 'round' | 'elu';
/** Extra parameters of unary ops: alpha (leaky_relu slope, elu), lo/hi (clip). */
export interface UnaryArgs { alpha?: number; lo?: number; hi?: number }

/** Binary elementwise ops with numpy broadcasting. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow';

/** One Adam step's scalars: stepSize = lr/(1−β1^t), bc2Sqrt = √(1−β2^t), wd = L2 weight decay. */
export interface AdamHyper { b1: number; b2: number; eps: number; stepSize: number; bc2Sqrt: number; wd: number }

export interface Backend {
  readonly name: 'reference' | 'onednn';
  /** Threads the backend uses for its kernels (1 for reference). */
  threads(): number;
  /** Backends that pool their outputs: the mark a later `release` compares against (a counter). */
  allocSerial?(): number;
  /** Give `d`'s buffer back for reuse now if this backend allocated it at mark ≥ since; true if it did. */
  release?(d: Data, since: number): boolean;
  /**
   * torch.optim.Adam's update, in place on p, m, v (optimizer state, the one kind of kernel that writes
   * its arguments): bit-identical to nn/optim/adam.ts's loop. False where this backend has no such kernel
   * or the dtype is not its own; the caller then runs the loop.
   */
  adamUpdate?(p: Data, g: Data, m: Data, v: Data, h: AdamHyper): boolean;

  // --- convolution: y[n,oc,oh,ow] = Σ w[oc,ci,i,j]·x[n,g·cpg+ci, oh·s−pad+i·d, …] + b[oc]
  conv2d(x: Data, w: Data, b: Data | null, g: Conv2dGeom): Data;
  /** dL/dx of conv2d given dL/dy [n, oc, oh, ow]. */
  conv2dBackwardData(gy: Data, w: Data, g: Conv2dGeom): Data;
  /** dL/dw (and dL/db = Σ_{n,oh,ow} gy when withBias) of conv2d. */
  conv2dBackwardWeights(gy: Data, x: Data, g: Conv2dGeom, withBias: boolean): { gw: Data; gb: Data | null };

  // --- matrix multiply: C[m,n] = op(A)·op(B) (+ bias[n] broadcast over rows), batched over `batch`
  //     with A of [batch, m, k] (or [batch, k, m] when transA) and B likewise; batch strides 0 allowed
  //     via aBatchStride / bBatchStride (element counts).
  matmul(a: Data, b: Data, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
    bias: Data | null, aBatchStride: number, bBatchStride: number): Data;

  // --- batch norm over x [n, c, hw] (hw = product of spatial dims)
  /** Training mode: y = γ·(x−μ_B)/√(σ²_B+ε)+β with batch mean μ_B and biased variance σ²_B. */
  batchNormTrain(x: Data, n: number, c: number, hw: number, gamma: Data | null, beta: Data | null, eps: number):
    { y: Data; mean: Data; variance: Data };
  /** Inference: y = γ·(x−μ)/√(σ²+ε)+β with given statistics. */
  batchNormInfer(x: Data, n: number, c: number, hw: number, mean: Data, variance: Data, gamma: Data | null,
    beta: Data | null, eps: number): Data;
  /** Backward of batchNormTrain: dx through the batch statistics, dγ = Σ gy·x̂, dβ = Σ gy. */
  batchNormTrainBackward(gy: Data, x: Data, n: number, c: number, hw: number, mean: Data, variance: Data,
    gamma: Data | null, eps: number): { gx: Data; ggamma: Data; gbeta: Data };
  /** Backward of batchNormInfer (fixed statistics): dx = gy·γ/√(σ²+ε); with paramGrads also dγ = Σ gy·x̂,
   *  dβ = Σ gy (else both null). */
  batchNormInferBackward(gy: Data, x: Data, n: number, c: number, hw: number, mean: Data, variance: Data,
    gamma: Data | null, eps: number, paramGrads: boolean): { gx: Data; ggamma: Data | null; gbeta: Data | null };
  /** Batch statistics alone (no normalized output): μ_c and biased σ²_c of x[:, c, :]. */
  batchMoments(x: Data, n: number, c: number, hw: number): { mean: Data; variance: Data };
  /** Backward of batchMoments: dx = gμ_c/M + 2·gσ²_c·(x − μ_c)/M with M = n·hw. */
  batchMomentsBackward(gmean: Data, gvar: Data, x: Data, n: number, c: number, hw: number, mean: Data): Data;

  // --- elementwise
  /** y = f(x). */
  unary(op: UnaryOp, x: Data, args: UnaryArgs): Data;
  /** dL/dx = dL/dy · f'(x) (y = f(x) passed too, for ops whose derivative is cheaper from y). */
  unaryBackward(op: UnaryOp, gy: Data, x: Data, y: Data, args: UnaryArgs): Data;
  /** out = a ∘ b with numpy broadcasting of aShape and bShape to outShape. */
  binary(op: BinaryOp, a: Data, aShape: readonly number[], b: Data, bShape: readonly number[], outShape: readonly number[]): Data;
  /** out = a·alpha + beta (fused scale and shift of a whole array). */
  affine(a: Data, alpha: number, beta: number): Data;

  // --- reductions and layout
  /** Sum over `axes` of x (shape `shape`), keeping reduced dims as size 1 in the output layout. */
  sum(x: Data, shape: readonly number[], axes: readonly number[]): Data;
  /** Max over axes (values only). */
  max(x: Data, shape: readonly number[], axes: readonly number[]): Data;
  /** Broadcast x of `shape` to `outShape` (numpy rules). */
  broadcastTo(x: Data, shape: readonly number[], outShape: readonly number[]): Data;
  /** Permute axes: out[i_perm] = x[i]. */
  transpose(x: Data, shape: readonly number[], perm: readonly number[]): Data;
  /** Strided slice: per axis start, step (may be negative) and output length. */
  slice(x: Data, shape: readonly number[], starts: readonly number[], steps: readonly number[], outShape: readonly number[]): Data;
  /** Adjoint of slice: scatter gy (outShape) back into zeros of `shape`. */
  sliceBackward(gy: Data, shape: readonly number[], starts: readonly number[], steps: readonly number[], outShape: readonly number[]): Data;
  /** Constant padding: before/after per axis (non-negative), fill value. */
  pad(x: Data, shape: readonly number[], before: readonly number[], after: readonly number[], value: number): Data;
  /** Concatenate along axis. */
  concat(xs: readonly Data[], shapes: readonly (readonly number[])[], axis: number): Data;

  // --- pooling and resampling (NCHW)
  avgPool2d(x: Data, g: Pool2dGeom): Data;
  avgPool2dBackward(gy: Data, g: Pool2dGeom): Data;
  /** Max pool; `argmax` holds the flat input index of each output's maximum. */
  maxPool2d(x: Data, g: Pool2dGeom): { y: Data; argmax: Int32Array };
  maxPool2dBackward(gy: Data, argmax: Int32Array, g: Pool2dGeom): Data;
  /** Nearest upsampling by integer factors: y[n,c,i,j] = x[n,c,⌊i/sh⌋,⌊j/sw⌋]. */
  upsampleNearest(x: Data, n: number, c: number, h: number, w: number, sh: number, sw: number): Data;
  upsampleNearestBackward(gy: Data, n: number, c: number, h: number, w: number, sh: number, sw: number): Data;

  // --- rows (last axis) of a [rows, cols] matrix
  /** Row-wise log-softmax: y = x − logΣexp(x). */
  logSoftmax(x: Data, rows: number, cols: number): Data;
  /** Row-wise softmax. */
  softmax(x: Data, rows: number, cols: number): Data;
  /** Gather rows of a table [vocab, dim] by integer ids (embedding lookup). */
  gatherRows(table: Data, dim: number, ids: Int32Array): Data;
  /** Adjoint of gatherRows: scatter-add rows of gy into a zero [vocab, dim] table. */
  scatterAddRows(gy: Data, vocab: number, dim: number, ids: Int32Array): Data;

  // --- fake quantization (GDFQ/ZeroQ arithmetic, spec §1.2): per row r of x [rows, cols] with range
  //     [lo[r], hi[r]] (rows = 1 for per-tensor): s = (2^k−1)/max(hi−lo, 1e-8), zp = round(s·lo)+2^(k−1),
  //     q = clamp(round(s·x − zp), −2^(k−1), 2^(k−1)−1), y = (q + zp)/s; round half to even.
  //     With `keep` (QDrop), elements where keep[i] = 1 pass unquantized: y[i] = x[i].
  fakeQuant(x: Data, rows: number, cols: number, lo: Data, hi: Data, bits: number, keep?: Uint8Array | null): Data;
  /**
   * LSQ backward of a per-tensor quantizer with step Δ and integer zero point zp (v = x/Δ − zp, n = 2^(k−1)):
   * gx = g inside the grid (−n ≤ v ≤ n−1) or where keep[i] = 1, else 0; gs = Σ g·(round(v) − v) inside,
   * g·(−n + zp) below, g·(n − 1 + zp) above (kept elements add nothing).
   */
  lsqBackward(x: Data, g: Data, step: number, zp: number, bits: number, keep: Uint8Array | null): { gx: Data; gs: number };
  /** n bytes, 1 where byte i of a xorshift32 stream from `seed` is < t (random.ts bernoulliFill). */
  bernoulliMask(n: number, seed: number, t: number): Uint8Array;
  /** out[i] = keep[i] ? a[i] : b[i]. */
  selectMask(keep: Uint8Array, a: Data, b: Data): Data;
  /** Per-row min and max of x [rows, cols]. */
  rowMinMax(x: Data, rows: number, cols: number): { min: Data; max: Data };
}

const registry = new Map<string, () => Backend | null>();
let current: Backend | null = null;
let warned = false;

/** Register a backend factory (returns null when the backend cannot load on this machine). */
export function registerBackend(name: Backend['name'], factory: () => Backend | null): void {
  registry.set(name, factory);
}

/**
 * The active backend. Chosen once: LRQ_BACKEND=reference|onednn forces one; otherwise onednn when its
 * addon loads, else reference with a one-line warning on stderr.
 */
export function backend(): Backend {
  if (current) return current;
  const forced = process.env['LRQ_BACKEND'];
  if (forced) {
    const f = registry.get(forced);
    if (!f) throw new Error(`LRQ_BACKEND=${forced}: unknown backend (use reference or onednn)`);
    const b = f();
    if (!b) throw new Error(`LRQ_BACKEND=${forced}: backend could not be loaded on this machine`);
    current = b;
    return b;
  }
  const nat = registry.get('onednn')?.();
  if (nat) {
    current = nat;
    return nat;
  }
  if (!warned && registry.has('onednn')) {
    warned = true;
    process.stderr.write('lrq: oneDNN addon not available; using the slow reference backend (run `npm run build:native`)\n');
  }
  current = registry.get('reference')!()!;
  return current;
}

/** Switch the active backend by name (tests run the same checks on both). */
export function setBackend(name: Backend['name']): Backend {
  const f = registry.get(name);
  const b = f?.();
  if (!b) throw new Error(`backend ${name} is not available`);
  current = b;
  return b;
}

/** Names of the backends that load on this machine. */
export function availableBackends(): Backend['name'][] {
  const out: Backend['name'][] = [];
  for (const [name, f] of registry) if (f()) out.push(name as Backend['name']);
  return out;
}
