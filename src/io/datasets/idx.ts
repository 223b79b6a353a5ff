// The IDX format of MNIST / Fashion-MNIST: `*-images-idx3-ubyte[.gz]` (magic 0x00000803, dims N, H, W,
// then N·H·W bytes) with its `*-labels-idx1-ubyte[.gz]` beside it (magic 0x00000801, dim N, N bytes).
// Rule: the header is checked against the file's real length (for gzip: against the trailer's size
// field, then the decompressed length) before anything of the header's size is allocated; every
// mismatch is a one-line LrqError naming the file.

import { readFileSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { LrqError } from '../../engine/errors.js';
import { ImageDataset } from './dataset.js';
import type { Normalization } from './normalize.js';

/** Options of readIdx. */
export interface IdxOptions {
  /** Per-channel normalization (default: none, x = pixel/255, for 1 channel). */
  normalization?: Normalization;
  /** Channels to produce: 1 (as stored) or 3 (the grey plane replicated, as torchvision Grayscale(3)). Default 1. */
  channels?: number;
  /** Required [height, width] (the model's input); a file of another size is an error. */
  size?: readonly [number, number];
  /** Number of classes: labels must lie in [0, numClasses) (default 10, as MNIST and Fashion-MNIST). */
  numClasses?: number;
  /** Read only the first `limit` images. */
  limit?: number;
  /** The labels file (default: found beside the images file by idxLabelsPath). */
  labelsPath?: string;
}

/** Largest decompressed IDX file read (1 GiB; EMNIST's largest split is 0.55 GB). */
export const MAX_IDX_BYTES = 2 ** 30;

const IMAGES_MAGIC = 0x803, LABELS_MAGIC = 0x801;
const TYPE_NAMES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

/** True when `path`'s file name is an IDX images file (`…images-idx3-ubyte`, `….idx3-ubyte`, optionally `.gz`). */
export function isIdxImagesPath(path: string): boolean {
  return /idx3-ubyte(\.gz)?$/i.test(basename(path));
}

/** True when `path`'s file name is an IDX labels file (`…idx1-ubyte[.gz]`). */
export function isIdxLabelsPath(path: string): boolean {
  return /idx1-ubyte(\.gz)?$/i.test(basename(path));
}

/**
 * The labels file beside an images file: `images-idx3` → `labels-idx1` in the name (also `images.idx3`),
 * trying the same compression first, then the other (`t10k-images-idx3-ubyte.gz` ↔ `t10k-labels-idx1-ubyte[.gz]`).
 */
export function idxLabelsPath(imagesPath: string): string {
  const name = basename(imagesPath);
  const m = /images([-.])idx3-ubyte(\.gz)?$/i.exec(name);
  if (!m) throw new LrqError(`IDX file '${imagesPath}': cannot name its labels file (expected a name like train-images-idx3-ubyte[.gz] beside train-labels-idx1-ubyte[.gz])`);
  const stem = name.slice(0, m.index) + `labels${m[1]}idx1-ubyte`;
  const tries = m[2] ? [`${stem}${m[2]}`, stem] : [stem, `${stem}.gz`];
  for (const t of tries) {
    const p = join(dirname(imagesPath), t);
    if (existsSync(p)) return p;
  }
  throw new LrqError(`IDX labels file for '${imagesPath}' not found (looked for ${tries.map((t) => `'${t}'`).join(' and ')} beside it)`);
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** The first bytes of a gzip stream (enough for a header), without inflating the rest. */
function gzipPrefix(path: string, what: string, raw: Buffer, n: number): Buffer {
  try {
    return gunzipSync(raw.subarray(0, Math.min(raw.length, 4096)), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, n);
  } catch (e) {
    throw new LrqError(`IDX ${what} file '${path}' is corrupt gzip (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Read, decompress if gzip and check one IDX file of `rank` unsigned-byte dimensions; returns dims and the payload. */
function readIdxFile(path: string, rank: 1 | 3, what: 'images' | 'labels'): { dims: number[]; data: Uint8Array } {
  if (!existsSync(path)) throw new LrqError(`IDX ${what} file '${path}' does not exist`);
  const st = statSync(path);
  if (!st.isFile()) throw new LrqError(`IDX ${what} file '${path}' is not a regular file`);
  if (st.size > MAX_IDX_BYTES) throw new LrqError(`IDX ${what} file '${path}' has ${st.size} bytes, over lrq's ${MAX_IDX_BYTES}-byte limit`);
  const raw = readFileSync(path);
  if (raw.length === 0) throw new LrqError(`IDX ${what} file '${path}' is empty`);
  const gz = isGzip(raw);
  const headerBytes = 4 + 4 * rank;
  const head = gz ? gzipPrefix(path, what, raw, headerBytes) : raw.subarray(0, headerBytes);
  const want = rank === 3 ? IMAGES_MAGIC : LABELS_MAGIC;
  if (head.length < 4) throw new LrqError(`IDX ${what} file '${path}' holds ${head.length} bytes${gz ? ' after decompression' : ''}, shorter than the 4-byte magic`);
  const magic = head.readUInt32BE(0);
  if (magic !== want) {
    const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
    const why = head[0] !== 0 || head[1] !== 0 ? 'not an IDX file'
      : head[2] !== 0x08 ? `element type 0x${head[2]!.toString(16).padStart(2, '0')} (${TYPE_NAMES[head[2]!] ?? 'unknown'}) is not unsigned byte`
      : `${head[3]} dimension${head[3] === 1 ? '' : 's'}, ${what} need ${rank}`;
    throw new LrqError(`IDX ${what} file '${path}' has magic ${hex(magic)}, expected ${hex(want)}: ${why}`);
  }
  if (head.length < headerBytes) throw new LrqError(`IDX ${what} file '${path}' holds ${head.length} bytes${gz ? ' after decompression' : ''}, shorter than its ${headerBytes}-byte header`);
  const dims = Array.from({ length: rank }, (_, i) => head.readUInt32BE(4 + 4 * i));
  if (dims.some((d) => d === 0)) throw new LrqError(`IDX ${what} file '${path}': header dims [${dims.join(', ')}] hold a zero (no ${what})`);
  // exact in BigInt: (2^32 − 1)^3 is far past 2^53
  const need = dims.reduce((a, b) => a * BigInt(b), 1n) + BigInt(headerBytes);
  const shape = dims.join('×');
  if (need > BigInt(MAX_IDX_BYTES)) throw new LrqError(`IDX ${what} file '${path}': header dims ${shape} need ${need} bytes, over lrq's ${MAX_IDX_BYTES}-byte limit`);
  const expected = Number(need);
  let buf: Buffer = raw;
  if (gz) {
    // the gzip trailer holds the decompressed length mod 2^32: a header that lies is refused before inflating
    const isize = raw.length >= 18 ? raw.readUInt32LE(raw.length - 4) : -1;
    if (isize !== expected % 2 ** 32) {
      throw new LrqError(`IDX ${what} file '${path}': header dims ${shape} mean ${expected} bytes, but the gzip stream ${isize < 0 ? 'is truncated' : `says it holds ${isize}`}`);
    }
    try {
      buf = gunzipSync(raw, { maxOutputLength: expected });
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0]!;
      if (e instanceof RangeError || /larger than|maxOutputLength/i.test(msg)) throw new LrqError(`IDX ${what} file '${path}' decompresses to more than the ${expected} bytes its header dims ${shape} mean`);
      throw new LrqError(`IDX ${what} file '${path}' is corrupt gzip (${msg})`);
    }
  }
  if (buf.length !== expected) {
    throw new LrqError(`IDX ${what} file '${path}' holds ${buf.length - headerBytes} bytes after its ${headerBytes}-byte header${gz ? ' (decompressed)' : ''}, but the header dims ${shape} mean ${expected - headerBytes}`);
  }
  return { dims, data: buf.subarray(headerBytes) };
}

/** Read an IDX images file and its labels into an ImageDataset of [channels, H, W] uint8 images. */
export function readIdx(path: string, opts: IdxOptions = {}): ImageDataset {
  const channels = opts.channels ?? 1;
  if (channels !== 1 && channels !== 3) throw new LrqError(`IDX file '${path}' holds grey images; the model has ${channels} input channels (lrq expands grey to 1 or 3)`);
  const numClasses = opts.numClasses ?? 10;
  if (isIdxLabelsPath(path)) throw new LrqError(`'${path}' is an IDX labels file; give the images file (…-images-idx3-ubyte[.gz]) and its labels are found beside it`);
  const img = readIdxFile(path, 3, 'images');
  const [count, h, w] = img.dims as [number, number, number];
  if (opts.size && (opts.size[0] !== h || opts.size[1] !== w)) {
    throw new LrqError(`IDX file '${path}' holds ${h}×${w} images, the model needs ${opts.size[0]}×${opts.size[1]}`);
  }
  const labelsPath = opts.labelsPath ?? idxLabelsPath(path);
  const lbl = readIdxFile(labelsPath, 1, 'labels');
  if (lbl.dims[0] !== count) throw new LrqError(`IDX labels file '${labelsPath}' holds ${lbl.dims[0]} labels for the ${count} images of '${path}'`);
  const n = Math.min(count, opts.limit ?? Infinity);
  const plane = h * w, per = channels * plane;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = lbl.data[i]!;
    if (l >= numClasses) throw new LrqError(`IDX labels file '${labelsPath}': label ${l} at index ${i}, outside [0, ${numClasses})`);
    labels[i] = l;
  }
  let pixels: Uint8Array;
  if (channels === 1) pixels = img.data.slice(0, n * plane);
  else {
    pixels = new Uint8Array(n * per);
    for (let i = 0; i < n; i++) {
      const src = img.data.subarray(i * plane, (i + 1) * plane);
      for (let c = 0; c < 3; c++) pixels.set(src, i * per + c * plane);
    }
  }
  return new ImageDataset(pixels, labels, [channels, h, w], numClasses, opts.normalization);
}
