// Image files ↔ RGB pixels: PNG (pngjs) and JPEG (jpeg-js) decoding, PNG encoding, resizing (plain, and
// torchvision's Resize(shorter side) + CenterCrop), and the HWC → CHW change to 1 or 3 channels.
// Rule: pixels are 8-bit RGB in row-major HWC order (grey files decode with R = G = B); alpha is dropped.

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

/** Largest image decoded (pixels): a header that claims more is refused before any pixel buffer exists. */
export const MAX_IMAGE_PIXELS = 50_000_000;

/** Width and height of a JPEG from its first SOF marker (null when none is found). */
function jpegSize(b: Uint8Array): [number, number] | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const m = b[i + 1]!;
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return [(b[i + 7]! << 8) | b[i + 8]!, (b[i + 5]! << 8) | b[i + 6]!];
    i += 2 + len;
  }
  return null;
}

/** Decode PNG or JPEG bytes (format sniffed from the magic number) into RGB; `name` is for errors. */
export function decodeImage(bytes: Uint8Array, name: string): RgbImage {
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
  // sizes from the header first: pngjs and jpeg-js allocate what the header claims
  const size = isPng && bytes.length >= 24
    ? [new DataView(bytes.buffer, bytes.byteOffset + 16, 8).getUint32(0), new DataView(bytes.buffer, bytes.byteOffset + 16, 8).getUint32(4)]
    : isJpeg ? jpegSize(bytes) : null;
  if (size && size[0]! * size[1]! > MAX_IMAGE_PIXELS) throw new LrqError(`image '${name}': its header claims ${size[0]}×${size[1]} pixels, more than lrq decodes (${MAX_IMAGE_PIXELS / 1e6} MP)`);
  try {
    if (isPng) {
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: rgbaToRgb(png.data, png.width * png.height) };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
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

/**
 * PIL's `convert('L')`: ITU-R 601-2 luma L = 0.299 R + 0.587 G + 0.114 B in PIL's integer form
 * (R·19595 + G·38470 + B·7471 + 2^15) >> 16, so grey inputs match torchvision's Grayscale() on PIL images
 * bit for bit (grey pixels R = G = B = v give v back).
 */
export function luma601(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/** HWC RGB pixels → one grey plane by luma601 (PIL `convert('L')`), written into `out` at `offset`. */
export function hwcToGrey(img: RgbImage, out: Uint8Array, offset = 0): void {
  const n = img.width * img.height, d = img.data;
  for (let i = 0; i < n; i++) out[offset + i] = luma601(d[3 * i]!, d[3 * i + 1]!, d[3 * i + 2]!);
}

/** HWC RGB pixels → `channels` CHW planes: 3 = R, G, B planes; 1 = the luma601 grey plane. */
export function hwcToPlanes(img: RgbImage, channels: number, out: Uint8Array, offset = 0): void {
  if (channels === 3) hwcToChw(img, out, offset);
  else if (channels === 1) hwcToGrey(img, out, offset);
  else throw new LrqError(`images decode to 1 (grey) or 3 (RGB) channels, not ${channels}`);
}

/**
 * Resample to (h, w) like PIL's `Image.resize(…, BILINEAR)`, which torchvision's Resize uses on PIL images:
 * a triangle filter widened by the downscale factor (antialiased), applied horizontally then vertically
 * with 22-bit fixed-point weights and an 8-bit intermediate, as Pillow's Resample.c does.
 */
export function resizeAntialiased(img: RgbImage, h: number, w: number): RgbImage {
  if (img.height === h && img.width === w) return img;
  const PREC = 22;
  /** Per output index: first input index and fixed-point weights. */
  const coeffs = (inSize: number, outSize: number): { start: Int32Array; k: number[][] } => {
    const scale = inSize / outSize, fscale = Math.max(scale, 1), support = fscale; // bilinear support 1
    const start = new Int32Array(outSize), k: number[][] = [];
    for (let o = 0; o < outSize; o++) {
      const center = (o + 0.5) * scale;
      const xmin = Math.max(0, Math.trunc(center - support + 0.5));
      const xmax = Math.min(inSize, Math.trunc(center + support + 0.5));
      const ws: number[] = [];
      let sum = 0;
      for (let x = xmin; x < xmax; x++) {
        const t = Math.abs((x - center + 0.5) / fscale);
        const v = t < 1 ? 1 - t : 0;
        ws.push(v);
        sum += v;
      }
      start[o] = xmin;
      k.push(ws.map((v) => Math.trunc(0.5 + (sum !== 0 ? v / sum : 0) * (1 << PREC))));
    }
    return { start, k };
  };
  const clip8 = (v: number) => Math.min(255, Math.max(0, Math.floor(v / (1 << PREC))));
  const H = img.height, W = img.width;
  let src = img.data, sw = W;
  if (w !== W) {
    const { start, k } = coeffs(W, w);
    const tmp = new Uint8Array(H * w * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < w; x++) {
        const ks = k[x]!, x0 = start[x]!;
        for (let c = 0; c < 3; c++) {
          let acc = 1 << (PREC - 1);
          for (let j = 0; j < ks.length; j++) acc += src[(y * W + x0 + j) * 3 + c]! * ks[j]!;
          tmp[(y * w + x) * 3 + c] = clip8(acc);
        }
      }
    }
    src = tmp;
    sw = w;
  }
  if (h === H) return { width: w, height: h, data: src };
  const { start, k } = coeffs(H, h);
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    const ks = k[y]!, y0 = start[y]!;
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 1 << (PREC - 1);
        for (let j = 0; j < ks.length; j++) acc += src[((y0 + j) * sw + x) * 3 + c]! * ks[j]!;
        out[(y * w + x) * 3 + c] = clip8(acc);
      }
    }
  }
  return { width: w, height: h, data: out };
}

/** Python's round() (halves to even), as torchvision's CenterCrop uses for the crop offset. */
const roundHalfEven = (v: number): number => {
  const f = Math.floor(v), d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
};

/** The crop box [top, left] of torchvision's CenterCrop((h, w)) on an image of (H, W): round((H − h)/2), round((W − w)/2). */
export function centerCropOffset(H: number, W: number, h: number, w: number): [number, number] {
  return [roundHalfEven((H - h) / 2), roundHalfEven((W - w) / 2)];
}

/** Cut the (h, w) box at [top, left] out of an image (the box must lie inside it). */
export function cropImage(img: RgbImage, top: number, left: number, h: number, w: number): RgbImage {
  if (top < 0 || left < 0 || top + h > img.height || left + w > img.width) {
    throw new LrqError(`crop ${w}×${h} at (${left}, ${top}) does not fit an image of ${img.width}×${img.height}`);
  }
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((top + y) * img.width + left) * 3, ((top + y) * img.width + left + w) * 3), y * w * 3);
  return { width: w, height: h, data: out };
}

/** Interpolation of resizeShorterCrop: 'antialias' (PIL bilinear, the default), or the plain resizeImage modes. */
export type Interpolation = 'antialias' | 'bilinear' | 'nearest';

/**
 * torchvision's Resize(shorter) + CenterCrop((h, w)): scale so the shorter side is `shorter` (the longer
 * becomes ⌊shorter·long/short⌋, as torchvision computes it), then cut the centred (h, w) box.
 */
export function resizeShorterCrop(img: RgbImage, shorter: number, h: number, w: number, interpolation: Interpolation = 'antialias'): RgbImage {
  const { width: W, height: H } = img;
  const [nh, nw] = H <= W ? [shorter, Math.floor((shorter * W) / H)] : [Math.floor((shorter * H) / W), shorter];
  if (nh < h || nw < w) throw new LrqError(`resize to shorter side ${shorter} gives ${nw}×${nh}, smaller than the ${w}×${h} crop`);
  const r = interpolation === 'antialias' ? resizeAntialiased(img, nh, nw) : resizeImage(img, nh, nw, interpolation);
  const [top, left] = centerCropOffset(nh, nw, h, w);
  return cropImage(r, top, left, h, w);
}

/** CHW planes → HWC RGB image (for writing dataset or synthetic images). */
export function chwToImage(chw: ArrayLike<number>, h: number, w: number): RgbImage {
  const n = h * w;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) data[3 * i + c] = chw[c * n + i]!;
  return { width: w, height: h, data };
}
