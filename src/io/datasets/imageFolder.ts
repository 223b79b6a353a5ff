// torchvision-style ImageFolder: one subfolder per class (classes sorted by name), PNG/JPEG files inside.
// Rule: every image must have the model's input size unless a resize mode is asked for; empty class
// folders and missing directories are one-line errors.

import { readdirSync, existsSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { LrqError } from '../../engine/errors.js';
import { IMAGE_EXTENSIONS, type ResizeMode, hwcToChw, readImage, resizeImage } from '../images.js';
import { ImageDataset } from './dataset.js';
import type { Normalization } from './normalize.js';

/** Options of readImageFolder. */
export interface ImageFolderOptions {
  /** Required [height, width] of every image (e.g. the model's input size). */
  size: [number, number];
  /** What to do with an image of another size: 'none' (default) is an error. */
  resize?: ResizeMode;
  normalization?: Normalization;
  /** Read at most this many images per class (sorted by file name). */
  limitPerClass?: number;
}

/** Read dir/<class>/<image> into an ImageDataset; labels are the sorted class folder indices. */
export function readImageFolder(dir: string, opts: ImageFolderOptions): ImageDataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LrqError(`image folder '${dir}' does not exist or is not a directory`);
  const classes = readdirSync(dir).filter((d) => !d.startsWith('.') && statSync(join(dir, d)).isDirectory()).sort();
  if (classes.length === 0) throw new LrqError(`image folder '${dir}' has no class subfolders (expected ${dir}/<class>/<image>.png|jpg)`);
  const [h, w] = opts.size;
  const mode = opts.resize ?? 'none';
  const files: [string, number][] = [];
  classes.forEach((c, label) => {
    let imgs = readdirSync(join(dir, c)).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()) && !statSync(join(dir, c, f)).isDirectory()).sort(); // a directory named x.png is not an image
    if (imgs.length === 0) throw new LrqError(`image folder '${dir}': class folder '${c}' holds no .png/.jpg/.jpeg images`);
    if (opts.limitPerClass !== undefined) imgs = imgs.slice(0, opts.limitPerClass);
    for (const f of imgs) files.push([join(dir, c, f), label]);
  });
  const per = 3 * h * w;
  const pixels = new Uint8Array(files.length * per);
  const labels = new Int32Array(files.length);
  files.forEach(([path, label], i) => {
    let img = readImage(path);
    if (img.height !== h || img.width !== w) {
      if (mode === 'none') {
        throw new LrqError(`image '${path}' is ${img.width}×${img.height}, the model needs ${w}×${h} (use a resize mode: nearest or bilinear)`);
      }
      img = resizeImage(img, h, w, mode);
    }
    hwcToChw(img, pixels, i * per);
    labels[i] = label;
  });
  return new ImageDataset(pixels, labels, [3, h, w], classes.length, opts.normalization, classes);
}
