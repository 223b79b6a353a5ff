// Per-channel input normalization x = (pixel/255 − mean_c)/std_c, and where its constants come from.
// Rule: arithmetic matches torchvision ToTensor + Normalize in float32, so accuracies match PyTorch exactly.

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
  checkNormalization(n, n.mean.length);
  return n;
}

/** Validate mean/std lengths against the channel count and that std > 0. */
export function checkNormalization(n: Normalization, channels: number): void {
  if (n.mean.length !== channels || n.std.length !== channels) {
    throw new LrqError(`normalization needs ${channels} means and stds, got mean [${n.mean.join(', ')}] std [${n.std.join(', ')}]`);
  }
  if (n.std.some((s) => !(s > 0))) throw new LrqError(`normalization std must be positive, got [${n.std.join(', ')}]`);
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

/** The normalization to feed a model: an explicit choice, else the model's metadata, else ImageNet's. */
export function resolveNormalization(meta: Record<string, string>, override?: Normalization | null): Normalization {
  return override ?? normalizationFromMetadata(meta) ?? DEFAULT_NORMALIZATION;
}
