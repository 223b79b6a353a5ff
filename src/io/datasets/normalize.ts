// Per-channel input normalization x = (pixel/255 − mean_c)/std_c, and where its constants come from.
// Rule: arithmetic matches torchvision ToTensor + Normalize in float32, so accuracies match PyTorch exactly;
// one mean/std per model input channel (1 for grey), a single value broadcast to every channel.

import { LrqError } from '../../engine/errors.js';

/** Per-channel mean and std on the [0, 1] pixel scale. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** ImageNet statistics — the normalization the staged akamaster CIFAR-10 models were trained with. */
export const DEFAULT_NORMALIZATION: Normalization = Object.freeze({
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
}) as Normalization;

/** No normalization: x = pixel/255. */
export const IDENTITY_NORMALIZATION: Normalization = Object.freeze({ mean: [0, 0, 0], std: [1, 1, 1] }) as Normalization;

/** The default for a model without metadata: ImageNet's for 3 channels, none (x = pixel/255) otherwise. */
export function defaultNormalization(channels: number): Normalization {
  if (channels === 3) return DEFAULT_NORMALIZATION;
  return { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) };
}

/** Parse "0.5,0.5,0.5" or "[0.5, 0.5, 0.5]" into numbers. */
export function parseTriple(s: string, what: string): number[] {
  const parts = s.replace(/[[\]\s]/g, '').split(',').filter((p) => p !== '');
  const v = parts.map(Number);
  if (v.length === 0 || v.some((x) => !Number.isFinite(x))) throw new LrqError(`${what}: cannot parse '${s}' as a list of numbers`);
  return v;
}

/**
 * Normalization stored in ONNX metadata_props (or safetensors __metadata__): keys normalize_mean /
 * normalize_std (also mean / std), comma-separated or JSON lists; null when absent.
 */
export function normalizationFromMetadata(meta: Record<string, string>): Normalization | null {
  const mean = meta['normalize_mean'] ?? meta['mean'];
  const std = meta['normalize_std'] ?? meta['std'];
  if (mean === undefined || std === undefined) return null;
  const n = { mean: parseTriple(mean, 'metadata mean'), std: parseTriple(std, 'metadata std') };
  return fitNormalization(n, Math.max(n.mean.length, n.std.length), 'model metadata normalization');
}

const chans = (c: number) => `${c} input channel${c === 1 ? '' : 's'}`;

/** Validate mean/std lengths against the channel count and that std > 0. */
export function checkNormalization(n: Normalization, channels: number): void {
  if (n.mean.length !== channels || n.std.length !== channels) {
    throw new LrqError(`normalization: the model has ${chans(channels)}, so it needs ${channels} mean${channels === 1 ? '' : 's'} and std${channels === 1 ? '' : 's'}; got mean [${n.mean.join(', ')}] std [${n.std.join(', ')}]`);
  }
  if (n.std.some((s) => !(s > 0))) throw new LrqError(`normalization std must be positive, got [${n.std.join(', ')}]`);
}

/**
 * Fit mean/std to `channels`: lists of that length pass unchanged (same object), a single value is
 * broadcast to every channel, anything else is a one-line error naming the model's channel count.
 */
export function fitNormalization(n: Normalization, channels: number, what = 'normalization'): Normalization {
  if (n.mean.length === channels && n.std.length === channels) {
    checkNormalization(n, channels);
    return n;
  }
  const fit = (v: number[]) => (v.length === 1 ? new Array<number>(channels).fill(v[0]!) : v);
  if ((n.mean.length !== 1 && n.mean.length !== channels) || (n.std.length !== 1 && n.std.length !== channels)) {
    throw new LrqError(`${what}: the model has ${chans(channels)}; give ${channels === 1 ? 'one mean and one std' : `${channels} means and stds (or one of each)`}, got mean [${n.mean.join(', ')}] std [${n.std.join(', ')}]`);
  }
  const out = { mean: fit(n.mean), std: fit(n.std) };
  checkNormalization(out, channels);
  return out;
}

/** Lookup tables lut[c][p] = f32(f32(f32(p/255) − mean_c)/std_c) for every 8-bit pixel value p. */
export function normalizationTables(n: Normalization): Float32Array[] {
  return n.mean.map((m, c) => {
    const t = new Float32Array(256);
    const mf = Math.fround(m), sf = Math.fround(n.std[c]!);
    for (let p = 0; p < 256; p++) t[p] = Math.fround(Math.fround(Math.fround(p / 255) - mf) / sf);
    return t;
  });
}

/**
 * The normalized pixel range [min_c f(0, c), max_c f(255, c)] with f the lookup tables' float32 arithmetic
 * (normalizationTables): every value a normalized 8-bit image can hold, known without data
 * (no normalization: [0, 1]).
 */
export function normalizedPixelRange(n: Normalization): [number, number] {
  const t = normalizationTables(n);
  return [Math.min(...t.map((c) => c[0]!)), Math.max(...t.map((c) => c[255]!))];
}

/**
 * The normalization to feed a model: an explicit choice, else the model's metadata, else the default
 * (defaultNormalization); with `channels`, fitted to the model's channel count (fitNormalization).
 */
export function resolveNormalization(meta: Record<string, string>, override?: Normalization | null, channels?: number): Normalization {
  const n = override ?? normalizationFromMetadata(meta) ?? (channels === undefined ? DEFAULT_NORMALIZATION : defaultNormalization(channels));
  return channels === undefined ? n : fitNormalization(n, channels, override ? '--mean/--std' : 'normalization');
}
