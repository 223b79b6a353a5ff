// The CIFAR binary layout: records of label byte(s) + C·H·W pixel bytes (CIFAR: 32×32 red plane, then
// green, then blue = 3,072 bytes; other geometries through `shape`). Rule: a file whose size is not a
// whole number of records is rejected, naming the size and the record it expected.

import { readFileSync, existsSync, statSync } from 'node:fs';
import { LrqError } from '../../engine/errors.js';
import { ImageDataset } from './dataset.js';
import type { Normalization } from './normalize.js';

/** Options of readCifarBinary. */
export interface CifarOptions {
  /** Per-channel normalization (default: ImageNet mean/std for 3 channels, as the staged akamaster models expect). */
  normalization?: Normalization;
  /** Label bytes per record: 1 (CIFAR-10) or 2 (CIFAR-100: coarse then fine; the fine label is used). */
  labelBytes?: 1 | 2;
  /** Number of classes (default 10 for 1 label byte, 100 for 2). */
  numClasses?: number;
  /** Read only the first `limit` records. */
  limit?: number;
  /** [channels, height, width] of one record's pixels, channel-major (default [3, 32, 32]). */
  shape?: readonly [number, number, number];
}

/** Read a CIFAR-10/100-style binary file into an ImageDataset of `shape` images (default [3, 32, 32]). */
export function readCifarBinary(path: string, opts: CifarOptions = {}): ImageDataset {
  const shape = opts.shape ?? [3, 32, 32];
  if (shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1 || d > 65536)) {
    throw new LrqError(`CIFAR file '${path}': image shape [${shape.join(', ')}] must be three positive integers [C, H, W]`);
  }
  if (!existsSync(path)) throw new LrqError(`CIFAR file '${path}' does not exist`);
  const st = statSync(path);
  if (st.isDirectory()) throw new LrqError(`CIFAR file '${path}' is a directory`);
  // a device or pipe (/dev/zero) would be read forever
  if (!st.isFile()) throw new LrqError(`CIFAR file '${path}' is not a regular file`);
  const lb = opts.labelBytes ?? 1;
  const pixelsPer = shape[0] * shape[1] * shape[2];
  const rec = lb + pixelsPer;
  const buf = readFileSync(path);
  if (buf.length === 0) throw new LrqError(`CIFAR file '${path}' is empty`);
  if (buf.length % rec !== 0) {
    const geometry = `${shape[0]}×${shape[1]}×${shape[2]} = ${pixelsPer} pixels`;
    const hint = pixelsPer !== 3072 && buf.length % (lb + 3072) === 0 ? '; it would fit 3×32×32 CIFAR records, but the model needs another input shape' : '';
    throw new LrqError(`CIFAR file '${path}' has ${buf.length} bytes, not a multiple of the ${rec}-byte record (${lb} label byte${lb > 1 ? 's' : ''} + ${geometry})${hint}`);
  }
  const numClasses = opts.numClasses ?? (lb === 1 ? 10 : 100);
  const n = Math.min(buf.length / rec, opts.limit ?? Infinity);
  const pixels = new Uint8Array(n * pixelsPer);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = buf[i * rec + lb - 1]!;
    if (label >= numClasses) throw new LrqError(`CIFAR file '${path}': record ${i} has label ${label}, outside [0, ${numClasses})`);
    labels[i] = label;
    pixels.set(buf.subarray(i * rec + lb, (i + 1) * rec), i * pixelsPer);
  }
  return new ImageDataset(pixels, labels, [shape[0], shape[1], shape[2]], numClasses, opts.normalization);
}
