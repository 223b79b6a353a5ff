// PNG encoding of synthetic images: de-normalize (x·std + mean, clamped to [0, 1]) and lay out a
// class-by-column grid; 1-channel images become grey pixels (R = G = B). Rule: pure function of its
// inputs (no file I/O), so tests can check pixels.

import { PNG } from 'pngjs';
import { LrqError } from '../engine/errors.js';

export interface GridOptions {
  /** Integer upscale factor of each tile (nearest neighbour), default: enough for ≥ 64 px tiles. */
  scale?: number;
  /** Gap between tiles in pixels (after scaling), default 2. */
  gap?: number;
}

/**
 * Grid PNG of synthetic images: one row per class (ascending label), up to `perClass` images per row;
 * pixel = clamp(x·std_c + mean_c, 0, 1)·255. images is NCHW float32 (C = 1 or 3) in the normalized space.
 */
export function synthGrid(images: Float32Array, shape: readonly number[], labels: ArrayLike<number>, mean: readonly number[], std: readonly number[], perClass: number, opts: GridOptions = {}): Buffer {
  const [N, C, H, W] = shape as [number, number, number, number];
  if (shape.length !== 4 || N * C * H * W !== images.length) throw new LrqError(`synthGrid: shape [${shape.join(', ')}] does not match ${images.length} values`);
  if (C !== 1 && C !== 3) throw new LrqError(`synthGrid: ${C} channels (need 1 or 3)`);
  if (labels.length !== N) throw new LrqError(`synthGrid: ${labels.length} labels for ${N} images`);
  // one mean/std per channel; a single value serves every channel
  if ((mean.length !== C && mean.length !== 1) || (std.length !== C && std.length !== 1)) throw new LrqError(`synthGrid: ${C}-channel images need ${C} mean/std value${C === 1 ? '' : 's'} (or one), got mean [${mean.join(', ')}] std [${std.join(', ')}]`);
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const rows = classes.map((c) => Array.from({ length: N }, (_, i) => i).filter((i) => labels[i] === c).slice(0, perClass));
  const cols = Math.max(1, ...rows.map((r) => r.length));
  const scale = opts.scale ?? Math.max(1, Math.ceil(64 / Math.max(H, W)));
  const gap = opts.gap ?? 2;
  const tw = W * scale, th = H * scale;
  const width = cols * tw + (cols + 1) * gap;
  const height = rows.length * th + (rows.length + 1) * gap;
  const png = new PNG({ width, height });
  png.data.fill(255); // white gaps, opaque
  rows.forEach((row, r) => {
    row.forEach((img, k) => {
      const x0 = gap + k * (tw + gap), y0 = gap + r * (th + gap);
      for (let y = 0; y < th; y++) {
        for (let x = 0; x < tw; x++) {
          const sy = Math.floor(y / scale), sx = Math.floor(x / scale);
          const o = ((y0 + y) * width + (x0 + x)) * 4;
          for (let ch = 0; ch < 3; ch++) {
            const c = C === 1 ? 0 : ch;
            const v = images[((img * C + c) * H + sy) * W + sx]! * std[std.length === 1 ? 0 : c]! + mean[mean.length === 1 ? 0 : c]!;
            png.data[o + ch] = Math.round(Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * 255);
          }
          png.data[o + 3] = 255;
        }
      }
    });
  });
  return PNG.sync.write(png);
}

/** Row labels of a grid from synthGrid: the ascending distinct labels (one row each). */
export function gridRows(labels: ArrayLike<number>): number[] {
  return [...new Set(Array.from(labels))].sort((a, b) => a - b);
}
