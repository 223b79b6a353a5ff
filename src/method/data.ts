// Opening a user's dataset path for evaluation or real-data training: a CIFAR binary file or an image
// folder, normalized like the model's input. Rule: the path decides the format; errors name the path.

import { existsSync, statSync } from 'node:fs';
import { LrqError } from '../engine/errors.js';
import { type ImageDataset, type Normalization, readCifarBinary, readImageFolder } from '../io/datasets/index.js';

/** Open `path` as a CIFAR binary file (a file) or an image folder (a directory of class folders). */
export function openDataset(path: string, opts: { normalization: Normalization; size: [number, number]; numClasses?: number; limit?: number }): ImageDataset {
  if (!existsSync(path)) throw new LrqError(`dataset '${path}' does not exist`);
  if (statSync(path).isDirectory()) {
    return readImageFolder(path, { size: opts.size, normalization: opts.normalization });
  }
  if (opts.size[0] !== 32 || opts.size[1] !== 32) {
    throw new LrqError(`dataset '${path}': CIFAR binary files hold 32×32 images but the model expects ${opts.size[0]}×${opts.size[1]} (use an image folder)`);
  }
  return readCifarBinary(path, { normalization: opts.normalization, numClasses: opts.numClasses, limit: opts.limit });
}
