// torchvision-style ImageFolder: one subfolder per class (classes sorted by name), PNG/JPEG files inside,
// decoded to the model's channel count (3: RGB, grey files replicated; 1: PIL's convert('L') luma).
// Rule: every image must have the model's input size unless a resize is asked for (or is the default:
// Resize(shorter) + CenterCrop for ImageNet-size inputs, see defaultPreprocess); empty class folders and
// missing directories are one-line errors.

import { readdirSync, existsSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { LrqError } from '../../engine/errors.js';
import { IMAGE_EXTENSIONS, type Interpolation, type ResizeMode, type RgbImage, hwcToPlanes, readImage, resizeImage, resizeShorterCrop } from '../images.js';
import { ImageDataset } from './dataset.js';
import type { Normalization } from './normalize.js';

/** Resize the shorter side to `shorter`, then cut the centred model-size box (torchvision Resize + CenterCrop). */
export interface ShorterCrop {
  shorter: number;
  /** Default 'antialias' (PIL's bilinear filter, as torchvision's Resize on PIL images). */
  interpolation?: Interpolation;
}

/** Options of readImageFolder. */
export interface ImageFolderOptions {
  /** Required [height, width] of every image (e.g. the model's input size). */
  size: [number, number];
  /** Channels to decode to: 3 (RGB, default) or 1 (grey by ITU-R 601 luma, as PIL convert('L')). */
  channels?: number;
  /**
   * What to do with an image of another size: 'none' is an error, 'nearest'/'bilinear' stretch it to
   * `size`, a ShorterCrop resizes the shorter side and centre-crops. Default: defaultPreprocess(size).
   */
  resize?: ResizeMode | ShorterCrop;
  normalization?: Normalization;
  /** Read at most this many images per class (sorted by file name). */
  limitPerClass?: number;
}

/** Smallest input side that gets ImageNet-style preprocessing by default. */
export const SHORTER_CROP_MIN_SIDE = 96;

/**
 * The default preprocessing for a model input of `size`: for inputs of at least 96 px a side, torchvision's
 * ImageNet evaluation convention Resize(⌊s/0.875⌋) + CenterCrop(s) — Resize(256) + CenterCrop(224) for 224²
 * models — with PIL-style antialiased bilinear; for smaller inputs (CIFAR, MNIST) 'none': sizes must match.
 * Images already of the input size are used as they are in every mode.
 */
export function defaultPreprocess(size: readonly [number, number]): ResizeMode | ShorterCrop {
  const s = Math.min(size[0], size[1]);
  return s >= SHORTER_CROP_MIN_SIDE ? { shorter: Math.floor(s / 0.875), interpolation: 'antialias' } : 'none';
}

/** One decoded image brought to (h, w) by `mode`. */
function fit(img: RgbImage, path: string, h: number, w: number, mode: ResizeMode | ShorterCrop): RgbImage {
  if (img.height === h && img.width === w) return img;
  if (mode === 'none') throw new LrqError(`image '${path}' is ${img.width}×${img.height}, the model needs ${w}×${h} (use a resize mode: nearest or bilinear)`);
  if (typeof mode === 'string') return resizeImage(img, h, w, mode);
  try {
    return resizeShorterCrop(img, mode.shorter, h, w, mode.interpolation);
  } catch (e) {
    if (e instanceof LrqError) throw new LrqError(`image '${path}': ${e.message}`);
    throw e;
  }
}

/** Read dir/<class>/<image> into an ImageDataset; labels are the sorted class folder indices. */
export function readImageFolder(dir: string, opts: ImageFolderOptions): ImageDataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LrqError(`image folder '${dir}' does not exist or is not a directory`);
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new LrqError(`image folder '${dir}': the model has ${channels} input channels; images decode to 1 (grey) or 3 (RGB)`);
  const classes = readdirSync(dir).filter((d) => !d.startsWith('.') && statSync(join(dir, d)).isDirectory()).sort();
  if (classes.length === 0) {
    const idx = readdirSync(dir).filter((f) => /images[-.]idx3-ubyte(\.gz)?$/i.test(f)).sort();
    if (idx.length) throw new LrqError(`'${dir}' holds IDX files, not class subfolders; give one images file, e.g. ${join(dir, idx[0]!)} (its labels file is found beside it)`);
    throw new LrqError(`image folder '${dir}' has no class subfolders (expected ${dir}/<class>/<image>.png|jpg)`);
  }
  const [h, w] = opts.size;
  const mode = opts.resize ?? defaultPreprocess(opts.size);
  if (typeof mode === 'object' && !(Number.isInteger(mode.shorter) && mode.shorter >= Math.min(h, w))) {
    throw new LrqError(`image folder '${dir}': resize shorter side ${mode.shorter} must be an integer of at least the ${w}×${h} crop's side`);
  }
  const files: [string, number][] = [];
  classes.forEach((c, label) => {
    let imgs = readdirSync(join(dir, c)).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()) && !statSync(join(dir, c, f)).isDirectory()).sort(); // a directory named x.png is not an image
    if (imgs.length === 0) throw new LrqError(`image folder '${dir}': class folder '${c}' holds no .png/.jpg/.jpeg images`);
    if (opts.limitPerClass !== undefined) imgs = imgs.slice(0, opts.limitPerClass);
    for (const f of imgs) files.push([join(dir, c, f), label]);
  });
  const per = channels * h * w;
  const pixels = new Uint8Array(files.length * per);
  const labels = new Int32Array(files.length);
  files.forEach(([path, label], i) => {
    hwcToPlanes(fit(readImage(path), path, h, w, mode), channels, pixels, i * per);
    labels[i] = label;
  });
  return new ImageDataset(pixels, labels, [channels, h, w], classes.length, opts.normalization, classes);
}
