// Labelled image datasets held as 8-bit CHW pixels and served as normalized NCHW float32 batches.
// Rule: pixels stay uint8 in memory (10,000 CIFAR images = 30 MB); normalization happens per batch, with
// one mean/std per channel (a single value is broadcast; the default follows the channel count).

import { Tensor } from '../../engine/tensor.js';
import { LrqError } from '../../engine/errors.js';
import { type Normalization, defaultNormalization, fitNormalization, normalizationTables } from './normalize.js';

/** One batch: inputs [n, c, h, w] and integer labels. */
export interface Batch {
  x: Tensor;
  y: Int32Array;
}

/** What evaluation and calibration need from a dataset. */
export interface Dataset {
  /** Number of samples. */
  readonly size: number;
  /** Number of classes (labels lie in [0, numClasses)). */
  readonly numClasses: number;
  /** [channels, height, width] of one sample. */
  readonly imageShape: readonly [number, number, number];
  /** Samples [start, end) as a batch. */
  batch(start: number, end: number): Batch;
  /** Label of sample i. */
  label(i: number): number;
}

/** A dataset of uint8 CHW images with labels, normalized on the fly. */
export class ImageDataset implements Dataset {
  readonly imageShape: readonly [number, number, number];
  readonly normalization: Normalization;
  private readonly tables: Float32Array[];

  constructor(
    /** All pixels, sample-major then CHW: pixels[(i·c + ch)·h·w + y·w + x]. */
    readonly pixels: Uint8Array,
    readonly labels: Int32Array,
    shape: readonly [number, number, number],
    readonly numClasses: number,
    /** Per-channel mean/std (default: defaultNormalization of the channel count). */
    normalization?: Normalization,
    /** Optional class names (image folders: the subfolder names). */
    readonly classNames?: readonly string[],
  ) {
    this.imageShape = shape;
    const per = shape[0] * shape[1] * shape[2];
    if (pixels.length !== labels.length * per) throw new LrqError(`dataset: ${pixels.length} pixels do not hold ${labels.length} images of [${shape.join(', ')}]`);
    this.normalization = fitNormalization(normalization ?? defaultNormalization(shape[0]), shape[0]);
    this.tables = normalizationTables(this.normalization);
  }

  get size(): number {
    return this.labels.length;
  }

  label(i: number): number {
    return this.labels[i]!;
  }

  /** Samples [start, end) as x [n, c, h, w] = (pixel/255 − mean)/std and labels. */
  batch(start: number, end: number): Batch {
    if (start < 0 || end > this.size || start >= end) throw new LrqError(`dataset: batch [${start}, ${end}) out of range for ${this.size} samples`);
    const [c, h, w] = this.imageShape;
    const plane = h * w, per = c * plane, n = end - start;
    const x = new Float32Array(n * per);
    for (let i = 0; i < n; i++) {
      const base = (start + i) * per;
      for (let ch = 0; ch < c; ch++) {
        const t = this.tables[ch]!;
        const o = i * per + ch * plane, s = base + ch * plane;
        for (let k = 0; k < plane; k++) x[o + k] = t[this.pixels[s + k]!]!;
      }
    }
    return { x: new Tensor(x, [n, c, h, w]), y: this.labels.slice(start, end) };
  }

  /** n samples spread evenly over the dataset (indices ⌊i·size/n⌋): a fair sample of class-sorted files. */
  spread(n: number): ImageDataset {
    if (!(n >= 1) || n >= this.size) return this;
    return this.subset(Array.from({ length: n }, (_, i) => Math.floor((i * this.size) / n)));
  }

  /** The first n samples (or a subset by index) as a new dataset sharing normalization. */
  subset(indices: readonly number[]): ImageDataset {
    const [c, h, w] = this.imageShape;
    const per = c * h * w;
    const px = new Uint8Array(indices.length * per);
    const lb = new Int32Array(indices.length);
    indices.forEach((j, i) => {
      if (j < 0 || j >= this.size) throw new LrqError(`dataset: index ${j} out of range for ${this.size} samples`);
      px.set(this.pixels.subarray(j * per, (j + 1) * per), i * per);
      lb[i] = this.labels[j]!;
    });
    return new ImageDataset(px, lb, this.imageShape, this.numClasses, this.normalization, this.classNames);
  }
}

/** Consecutive batches of at most batchSize samples covering the dataset in order. */
export function* batches(ds: Dataset, batchSize: number): Generator<Batch & { start: number }> {
  if (!(batchSize >= 1)) throw new LrqError(`batch size must be at least 1, got ${batchSize}`);
  for (let s = 0; s < ds.size; s += batchSize) yield { ...ds.batch(s, Math.min(ds.size, s + batchSize)), start: s };
}
