// Seeded random numbers: xoshiro128** (32-bit integer arithmetic only, so the stream is identical on
// every machine and JS engine) seeded through splitmix32. Its whole state is four uint32 words, so it
// serializes into checkpoints. Normals use Box–Muller on 53-bit uniforms.

import { type DType, alloc, numel } from './dtype.js';
import { LrqError } from './errors.js';
import { Tensor } from './tensor.js';

/** Serializable generator state. */
export interface RngState { readonly kind: 'xoshiro128**'; readonly s: readonly [number, number, number, number] }

function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [x, (z ^ (z >>> 16)) >>> 0];
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
const TWO_PI = 2 * Math.PI;

export class Rng {
  private s0 = 0; private s1 = 0; private s2 = 0; private s3 = 0;

  /** A generator whose stream depends only on `seed` (an integer; the low 53 bits are used). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new LrqError(`Rng: seed must be a safe integer, got ${seed}`);
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) | 0, 0x27d4eb2d);
    const s: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [nx, z] = splitmix32(x);
      x = nx;
      s.push(z);
    }
    [this.s0, this.s1, this.s2, this.s3] = s as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** Next uint32 of the xoshiro128** stream. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.nextUint32() >>> 5, b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * n Bernoulli(p) bytes (1 with probability p, p on a 1/256 grid) for QDrop's per-element masks, drawn
   * for every activation of every reconstruction iteration: a xorshift32 stream seeded by one draw of this
   * generator yields four bytes per step in local variables (a draw of this generator per element took
   * a third of the step). Deterministic given this generator's state; uses one draw of it. `fill` computes
   * the bytes from that draw (bernoulliFill; callers on the hot path pass backend().bernoulliMask, the same
   * stream in native code).
   */
  bernoulliMask(n: number, p: number, fill: (n: number, seed: number, t: number) => Uint8Array = bernoulliFill): Uint8Array {
    return fill(n, this.nextUint32(), Math.round(Math.min(1, Math.max(0, p)) * 256));
  }

  /** Tensor of i.i.d. N(mean, std²) samples (Box–Muller, both outputs of each pair used). */
  normal(shape: readonly number[], mean = 0, std = 1, dtype: DType = 'float32'): Tensor {
    const n = numel(shape);
    const d = alloc(dtype, n);
    for (let i = 0; i < n; i += 2) {
      const u1 = 1 - this.random(); // (0, 1]: log is finite
      const u2 = this.random();
      const r = Math.sqrt(-2 * Math.log(u1));
      d[i] = mean + std * r * Math.cos(TWO_PI * u2);
      if (i + 1 < n) d[i + 1] = mean + std * r * Math.sin(TWO_PI * u2);
    }
    return new Tensor(d, shape);
  }

  /** Tensor of i.i.d. uniform samples in [lo, hi). */
  uniform(shape: readonly number[], lo = 0, hi = 1, dtype: DType = 'float32'): Tensor {
    const n = numel(shape);
    const d = alloc(dtype, n);
    for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * this.random();
    return new Tensor(d, shape);
  }

  /** n uniform integers in [lo, hi). */
  integers(lo: number, hi: number, n: number): Int32Array {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo) throw new LrqError(`Rng.integers: need integers lo < hi, got [${lo}, ${hi})`);
    const out = new Int32Array(n);
    const span = hi - lo;
    for (let i = 0; i < n; i++) out[i] = lo + Math.floor(this.random() * span);
    return out;
  }

  /** A random permutation of 0…n−1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = p[i]!; p[i] = p[j]!; p[j] = t;
    }
    return p;
  }

  /** The generator state (JSON-serializable). */
  state(): RngState {
    return { kind: 'xoshiro128**', s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0] };
  }

  /** Restore a state from state(). */
  setState(st: RngState | { s: readonly number[] }): void {
    const s = st?.s;
    if (!Array.isArray(s) || s.length !== 4 || s.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new LrqError('Rng.setState: expected { s: [4 uint32] }');
    }
    [this.s0, this.s1, this.s2, this.s3] = [s[0]! | 0, s[1]! | 0, s[2]! | 0, s[3]! | 0];
  }
}

/** out[i] = 1 when byte i of a xorshift32 stream from `seed` is < t (four bytes per state), i.e. Bernoulli(t/256). */
export function bernoulliFill(n: number, seed: number, t: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1; // xorshift32 needs a non-zero state
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x & 0xff) < t ? 1 : 0;
    if (i + 1 < n) out[i + 1] = ((x >>> 8) & 0xff) < t ? 1 : 0;
    if (i + 2 < n) out[i + 2] = ((x >>> 16) & 0xff) < t ? 1 : 0;
    if (i + 3 < n) out[i + 3] = x >>> 24 < t ? 1 : 0;
  }
  return out;
}
