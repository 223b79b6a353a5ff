// Opening a user's dataset path for evaluation or real-data training: an image folder, an IDX (MNIST)
// images file or a CIFAR-style binary file, read at the model's channel count and input size and
// normalized like its input. Rule: the path decides the format; errors name the path.

import { existsSync, statSync } from 'node:fs';
import { LrqError } from '../engine/errors.js';
import { type ImageDataset, type Normalization, readCifarBinary, readImageFolder } from '../io/datasets/index.js';
import { isIdxImagesPath, isIdxLabelsPath, readIdx } from '../io/datasets/idx.js';
import type { ShorterCrop } from '../io/datasets/imageFolder.js';

/** What openDataset needs to know about the model and the run. */
export interface OpenDatasetOptions {
  normalization: Normalization;
  /** The model's input [height, width]. */
  size: [number, number];
  /** The model's input channels (default: the normalization's length, 3 for a 3-value one). */
  channels?: number;
  numClasses?: number;
  limit?: number;
  /** Image folders: the resize before the model-size crop (default: defaultPreprocess of the size). */
  resize?: ShorterCrop | 'none';
}

/**
 * Open `path`: a directory → image folder (dir/<class>/<image>); `*idx3-ubyte[.gz]` → IDX with its labels
 * file beside it; any other file (`.bin`) → CIFAR-style binary records of the model's [C, H, W].
 */
export function openDataset(path: string, opts: OpenDatasetOptions): ImageDataset {
  if (!existsSync(path)) throw new LrqError(`dataset '${path}' does not exist`);
  const channels = opts.channels ?? opts.normalization.mean.length;
  const { normalization, size, numClasses, limit } = opts;
  if (statSync(path).isDirectory()) return readImageFolder(path, { size, channels, normalization, resize: opts.resize });
  if (isIdxImagesPath(path) || isIdxLabelsPath(path)) return readIdx(path, { size, channels, normalization, numClasses, limit });
  return readCifarBinary(path, { shape: [channels, size[0], size[1]], normalization, numClasses, limit });
}
