// Image files ↔ RGB pixels: PNG (pngjs) and JPEG (jpeg-js) decoding, PNG encoding, resizing, and the
// HWC → CHW layout change. Rule: pixels are 8-bit RGB in row-major HWC order; alpha is dropped.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { extname } from 'node:path';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { LrqError } from '../engine/errors.js';

/** An 8-bit RGB image, pixels row-major HWC (data.length = height·width·3). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** File extensions decodeImageFile understands. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Drop the alpha channel of RGBA pixels. */
function rgbaToRgb(rgba: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[3 * i] = rgba[4 * i]!;
    out[3 * i + 1] = rgba[4 * i + 1]!;
    out[3 * i + 2] = rgba[4 * i + 2]!;
  }
  return out;
}

/** Decode PNG or JPEG bytes (format sniffed from the magic number) into RGB; `name` is for errors. */
export function decodeImage(bytes: Uint8Array, name: string): RgbImage {
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
  try {
    if (isPng) {
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: rgbaToRgb(png.data, png.width * png.height) };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      return { width: img.width, height: img.height, data: rgbaToRgb(img.data, img.width * img.height) };
    }
  } catch (e) {
    throw new LrqError(`image '${name}' could not be decoded (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
  }
  throw new LrqError(`image '${name}' is neither PNG nor JPEG`);
}

/** Read and decode an image file. */
export function readImage(path: string): RgbImage {
  if (!existsSync(path)) throw new LrqError(`image '${path}' does not exist`);
  return decodeImage(readFileSync(path), path);
}

/** Encode RGB pixels as PNG bytes. */
export function encodePng(img: RgbImage): Buffer {
  const png = new pngjs.PNG({ width: img.width, height: img.height });
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    png.data[4 * i] = img.data[3 * i]!;
    png.data[4 * i + 1] = img.data[3 * i + 1]!;
    png.data[4 * i + 2] = img.data[3 * i + 2]!;
    png.data[4 * i + 3] = 255;
  }
  return pngjs.PNG.sync.write(png);
}

/** Write RGB pixels to a .png file. */
export function writePng(path: string, img: RgbImage): void {
  if (extname(path).toLowerCase() !== '.png') throw new LrqError(`writePng: '${path}' must end in .png`);
  writeFileSync(path, encodePng(img));
}

/** Resampling used when an image's size differs from the model input. */
export type ResizeMode = 'none' | 'nearest' | 'bilinear';

/**
 * Resize to (h, w). nearest: src = ⌊dst·in/out⌋; bilinear: half-pixel centers, src = (dst+½)·in/out − ½,
 * clamped at the borders (torch.nn.functional.interpolate, align_corners=False, no antialias).
 */
export function resizeImage(img: RgbImage, h: number, w: number, mode: Exclude<ResizeMode, 'none'>): RgbImage {
  if (img.height === h && img.width === w) return img;
  const out = new Uint8Array(h * w * 3);
  const sy = img.height / h, sx = img.width / w;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let v: number;
        if (mode === 'nearest') {
          const iy = Math.min(Math.floor(y * sy), img.height - 1), ix = Math.min(Math.floor(x * sx), img.width - 1);
          v = img.data[(iy * img.width + ix) * 3 + c]!;
        } else {
          const fy = Math.max((y + 0.5) * sy - 0.5, 0), fx = Math.max((x + 0.5) * sx - 0.5, 0);
          const y0 = Math.min(Math.floor(fy), img.height - 1), x0 = Math.min(Math.floor(fx), img.width - 1);
          const y1 = Math.min(y0 + 1, img.height - 1), x1 = Math.min(x0 + 1, img.width - 1);
          const ly = fy - y0, lx = fx - x0;
          const p = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 3 + c]!;
          v = (1 - ly) * ((1 - lx) * p(y0, x0) + lx * p(y0, x1)) + ly * ((1 - lx) * p(y1, x0) + lx * p(y1, x1));
          v = Math.min(255, Math.max(0, Math.round(v)));
        }
        out[(y * w + x) * 3 + c] = v;
      }
    }
  }
  return { width: w, height: h, data: out };
}

/** HWC RGB pixels → CHW planes (red plane, then green, then blue), written into `out` at `offset`. */
export function hwcToChw(img: RgbImage, out: Uint8Array, offset = 0): void {
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    out[offset + i] = img.data[3 * i]!;
    out[offset + n + i] = img.data[3 * i + 1]!;
    out[offset + 2 * n + i] = img.data[3 * i + 2]!;
  }
}

/** CHW planes → HWC RGB image (for writing dataset or synthetic images). */
export function chwToImage(chw: ArrayLike<number>, h: number, w: number): RgbImage {
  const n = h * w;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) data[3 * i + c] = chw[c * n + i]!;
  return { width: w, height: h, data };
}
