// Loader of the oneDNN N-API addon (native/build/Release/lrq_native.node) and the typed surface it
// exports. Loading never throws: a missing or unloadable addon (not built, no libdnnl) yields null and
// the reason is kept for `nativeLoadError()`, so the registry can fall back to the reference backend.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The functions lrq_native.node exports (all arrays float32; results are fresh arrays). */
export interface NativeAddon {
  threads(): number;
  setThreads(n: number): number;
  /** A fresh array of n floats (pooled when large), every element = fill; fill undefined: contents unspecified. */
  alloc(n: number, fill?: number): Float32Array;
  /** Output-buffer pool counters: allocations served from / missing the pool, explicit releases, MB held. */
  poolStats(): { hits: number; misses: number; released: number; heldMB: number; liveMB: number; peakLiveMB: number };
  /** Start a new peak of live pooled bytes from the current level. */
  resetPeak(): void;
  /** torch.optim.Adam's update in place on p, m, v (bit-identical to nn/optim/adam.ts). */
  adamUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, b1: number, b2: number, eps: number,
    stepSize: number, bc2Sqrt: number, wd: number): void;
  /** The serial the next pooled output gets. */
  allocSerial(): number;
  /** Detach `a` and return its buffer to the pool if it is a pooled output of serial ≥ since. */
  release(a: Float32Array, since: number): boolean;
  conv2d(x: Float32Array, w: Float32Array, b: Float32Array | null, geom: number[]): Float32Array;
  conv2dBackwardData(gy: Float32Array, w: Float32Array, geom: number[]): Float32Array;
  /** sameGy: gy is the very array the previous conv2dBackwardData received (its reordered copy is reused). */
  conv2dBackwardWeights(gy: Float32Array, x: Float32Array, geom: number[], withBias: boolean, sameGy?: boolean): [Float32Array, Float32Array | null];
  matmul(a: Float32Array, b: Float32Array, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
    bias: Float32Array | null, aBatchStride: number, bBatchStride: number): Float32Array;
  batchNormTrain(x: Float32Array, n: number, c: number, hw: number, gamma: Float32Array | null, beta: Float32Array | null,
    eps: number): [Float32Array, Float32Array, Float32Array];
  batchNormInfer(x: Float32Array, n: number, c: number, hw: number, mean: Float32Array, variance: Float32Array,
    gamma: Float32Array | null, beta: Float32Array | null, eps: number): Float32Array;
  batchNormTrainBackward(gy: Float32Array, x: Float32Array, n: number, c: number, hw: number, mean: Float32Array,
    variance: Float32Array, gamma: Float32Array | null, eps: number): [Float32Array, Float32Array, Float32Array];
  batchNormInferBackward(gy: Float32Array, x: Float32Array, n: number, c: number, hw: number, mean: Float32Array,
    variance: Float32Array, gamma: Float32Array | null, eps: number, paramGrads: boolean): [Float32Array, Float32Array | null, Float32Array | null];
  batchMoments(x: Float32Array, n: number, c: number, hw: number): [Float32Array, Float32Array];
  batchMomentsBackward(gmean: Float32Array, gvar: Float32Array, x: Float32Array, n: number, c: number, hw: number, mean: Float32Array): Float32Array;
  /** null when the op has no native version. */
  unary(op: string, x: Float32Array, alpha: number, lo: number, hi: number): Float32Array | null;
  unaryBackward(op: string, gy: Float32Array, x: Float32Array, y: Float32Array, alpha: number, lo: number, hi: number): Float32Array | null;
  /** op codes: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 pow. */
  binary(op: number, a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], outShape: readonly number[]): Float32Array;
  affine(a: Float32Array, alpha: number, beta: number): Float32Array;
  reduce(x: Float32Array, shape: readonly number[], axes: readonly number[], isMax: boolean): Float32Array;
  broadcastTo(x: Float32Array, shape: readonly number[], outShape: readonly number[]): Float32Array;
  transpose(x: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array;
  /** dst[dOff + Σ i·dStrides] = src[sOff + Σ i·sStrides] over the box `shape`; writes into dst. */
  stridedCopy(src: Float32Array, sOff: number, sStrides: readonly number[], dst: Float32Array, dOff: number,
    dStrides: readonly number[], shape: readonly number[]): void;
  upsampleNearest(x: Float32Array, n: number, c: number, h: number, w: number, sh: number, sw: number): Float32Array;
  upsampleNearestBackward(gy: Float32Array, n: number, c: number, h: number, w: number, sh: number, sw: number): Float32Array;
  avgPool2d(x: Float32Array, geom: number[]): Float32Array;
  avgPool2dBackward(gy: Float32Array, geom: number[]): Float32Array;
  maxPool2d(x: Float32Array, geom: number[]): [Float32Array, Int32Array];
  maxPool2dBackward(gy: Float32Array, argmax: Int32Array, geom: number[]): Float32Array;
  fakeQuant(x: Float32Array, rows: number, cols: number, lo: Float32Array, hi: Float32Array, bits: number, keep?: Uint8Array | null): Float32Array;
  /** [gx, Σ ∂L/∂Δ] of LSQ (backend.ts lsqBackward); the sum is reduced per thread. */
  lsqBackward(x: Float32Array, g: Float32Array, step: number, zp: number, bits: number, keep: Uint8Array | null): [Float32Array, number];
  bernoulliMask(n: number, seed: number, t: number): Uint8Array;
  selectMask(keep: Uint8Array, a: Float32Array, b: Float32Array): Float32Array;
  rowMinMax(x: Float32Array, rows: number, cols: number): [Float32Array, Float32Array];
  softmax(x: Float32Array, rows: number, cols: number, log: boolean): Float32Array;
}

let addon: NativeAddon | null | undefined;
let loadError = '';
let loadedFrom: string | null = null;

/** Where the addon may live: LRQ_NATIVE_PATH, else native/build/Release from the source or dist tree. */
function candidates(): string[] {
  const env = process.env['LRQ_NATIVE_PATH'];
  const rel = 'native/build/Release/lrq_native.node';
  const here = new URL('.', import.meta.url);
  const out = env ? [env] : [];
  for (const up of ['../../../../', '../../../../../']) out.push(fileURLToPath(new URL(up + rel, here)));
  return out;
}

/** The loaded addon, or null (see nativeLoadError) when it is not built or cannot load. */
export function loadNative(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const paths = candidates();
  const found = paths.find((p) => existsSync(p));
  if (!found) {
    loadError = `addon not built (looked for ${paths.join(', ')})`;
    return null;
  }
  try {
    // dlopen, not require: the file is always treated as a native module whatever its name.
    const mod = { exports: {} as unknown };
    process.dlopen(mod, found);
    addon = mod.exports as NativeAddon;
    loadedFrom = found;
  } catch (e) {
    loadError = `addon ${found} failed to load: ${(e as Error).message.split('\n')[0]}`;
    addon = null;
  }
  return addon;
}

/** The file the addon was loaded from (null when not loaded). */
export function nativeAddonPath(): string | null {
  loadNative();
  return loadedFrom;
}

/** Why loadNative returned null ('' when it loaded or was not tried). */
export function nativeLoadError(): string {
  return loadError;
}
