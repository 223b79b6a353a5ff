// Real-data mode helpers: gather a shuffled batch from a dataset and apply the standard CIFAR
// augmentation (4-pixel zero-padded random crop + horizontal flip) with the run's seeded Rng.

import { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import type { ImageDataset, Batch } from '../io/datasets/index.js';

/** The samples at `idx` as one normalized batch. */
export function gatherBatch(ds: ImageDataset, idx: readonly number[]): Batch {
  const parts = idx.map((i) => ds.batch(i, i + 1));
  const per = parts[0]!.x.size;
  const x = new Float32Array(per * idx.length);
  const y = new Int32Array(idx.length);
  parts.forEach((b, k) => {
    x.set(b.x.data, k * per);
    y[k] = b.y[0]!;
  });
  return { x: new Tensor(x, [idx.length, ...parts[0]!.x.shape.slice(1)]), y };
}

/** Random crop with `pad` zero padding (0 = the mean in normalized space) and a random horizontal flip per image. */
export function augmentBatch(x: Tensor, rng: Rng, pad = 4): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float32Array(x.size);
  const src = x.data;
  const offs = rng.integers(0, 2 * pad + 1, 2 * n);
  const flips = rng.integers(0, 2, n);
  for (let i = 0; i < n; i++) {
    const dy = offs[2 * i]! - pad, dx = offs[2 * i + 1]! - pad, flip = flips[i] === 1;
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * h * w;
      for (let r = 0; r < h; r++) {
        const sr = r + dy;
        if (sr < 0 || sr >= h) continue;
        for (let q = 0; q < w; q++) {
          const qq = flip ? w - 1 - q : q;
          const sc = qq + dx;
          if (sc < 0 || sc >= w) continue;
          out[base + r * w + q] = src[base + sr * w + sc]!;
        }
      }
    }
  }
  return new Tensor(out, x.shape);
}
