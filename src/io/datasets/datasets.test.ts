// Tests of the CIFAR-style binary reader (any [C, H, W]), the image-folder reader (1 or 3 channels, resize +
// centre crop), normalization (float32 arithmetic of torchvision ToTensor + Normalize, one value per
// channel) and openDataset's choice of reader, including the one-line errors for malformed input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { LrqError } from '../../engine/errors.js';
import { readCifarBinary, readImageFolder, normalizationFromMetadata, resolveNormalization, fitNormalization, defaultNormalization, ImageDataset, DEFAULT_NORMALIZATION, IDENTITY_NORMALIZATION, batches } from './index.js';
import { defaultPreprocess } from './imageFolder.js';
import { encodePng, luma601, readImage, resizeShorterCrop, type RgbImage } from '../images.js';
import { openDataset } from '../../method/data.js';
import pngjs from 'pngjs';

// the staged data sits beside the checkout (../shared/data); a git worktree elsewhere names it in LRQ_DATA
const DATA = process.env['LRQ_DATA'] ?? new URL('../../../../shared/data', import.meta.url).pathname;
const CIFAR_TEST = join(DATA, 'cifar10/cifar10-test-yoongikim-jpeg-q75.bin');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'lrq-ds-'));
}

test('CIFAR reader: record layout, labels and ImageNet normalization of the staged test set', () => {
  const ds = readCifarBinary(CIFAR_TEST);
  assert.equal(ds.size, 10000);
  assert.deepEqual(ds.imageShape, [3, 32, 32]);
  const raw = readFileSync(CIFAR_TEST);
  // class-major order: 1,000 images per class
  assert.equal(ds.label(0), 0);
  assert.equal(ds.label(999), 0);
  assert.equal(ds.label(1000), 1);
  assert.equal(ds.label(9999), 9);
  const { x, y } = ds.batch(1000, 1003);
  assert.deepEqual(x.shape, [3, 3, 32, 32]);
  assert.deepEqual([...y], [1, 1, 1]);
  // record 1001, green plane, row 5, col 7 → byte 1 + 1024 + 5·32 + 7 of that record
  const p = raw[1001 * 3073 + 1 + 1024 + 5 * 32 + 7]!;
  const want = (p / 255 - 0.456) / 0.224;
  assert.ok(Math.abs(x.data[1 * 3072 + 1024 + 5 * 32 + 7]! - want) < 1e-6);
});

test('CIFAR reader: wrong file size, empty and missing files are one-line LrqErrors', () => {
  const d = tmp();
  try {
    writeFileSync(join(d, 'bad.bin'), new Uint8Array(3073 * 2 + 5));
    assert.throws(() => readCifarBinary(join(d, 'bad.bin')), (e: Error) => e instanceof LrqError && /6151 bytes, not a multiple of the 3073-byte record/.test(e.message));
    writeFileSync(join(d, 'empty.bin'), new Uint8Array(0));
    assert.throws(() => readCifarBinary(join(d, 'empty.bin')), /is empty/);
    assert.throws(() => readCifarBinary(join(d, 'nope.bin')), /does not exist/);
    const rec = new Uint8Array(3073);
    rec[0] = 12;
    writeFileSync(join(d, 'label.bin'), rec);
    assert.throws(() => readCifarBinary(join(d, 'label.bin')), /label 12, outside \[0, 10\)/);
    // CIFAR-100 layout: coarse + fine label bytes, fine label used
    const r100 = new Uint8Array(3074);
    r100[0] = 3;
    r100[1] = 77;
    r100[2] = 255;
    writeFileSync(join(d, 'c100.bin'), r100);
    const c = readCifarBinary(join(d, 'c100.bin'), { labelBytes: 2, normalization: IDENTITY_NORMALIZATION });
    assert.equal(c.label(0), 77);
    assert.equal(c.batch(0, 1).x.data[0], 1);
  } finally {
    rmSync(d, { recursive: true });
  }
});

function solid(w: number, h: number, f: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(x, y, c);
  return { width: w, height: h, data };
}

test('image folder: sorted classes, PNG pixels exact in CHW order, JPEG decoded, size checks and resize', () => {
  const d = tmp();
  try {
    mkdirSync(join(d, 'zebra'));
    mkdirSync(join(d, 'ant'));
    const img = solid(4, 3, (x, y, c) => (x * 50 + y * 20 + c * 7) % 256);
    writeFileSync(join(d, 'zebra', 'a.png'), encodePng(img));
    const rgba = new Uint8Array(4 * 3 * 4);
    for (let i = 0; i < 12; i++) rgba.set([200, 100, 50, 255], 4 * i);
    writeFileSync(join(d, 'ant', 'b.jpg'), jpeg.encode({ width: 4, height: 3, data: rgba }, 95).data);
    writeFileSync(join(d, 'ant', 'notes.txt'), 'ignored');
    const ds = readImageFolder(d, { size: [3, 4], normalization: IDENTITY_NORMALIZATION });
    assert.deepEqual(ds.classNames, ['ant', 'zebra']);
    assert.deepEqual([...ds.labels], [0, 1]);
    const { x } = ds.batch(0, 2);
    // PNG is lossless: x[1, c, y, x] = pixel/255 exactly
    for (let c = 0; c < 3; c++) for (let yy = 0; yy < 3; yy++) for (let xx = 0; xx < 4; xx++) {
      assert.equal(x.data[36 + c * 12 + yy * 4 + xx], Math.fround(img.data[(yy * 4 + xx) * 3 + c]! / 255));
    }
    // JPEG of a flat colour decodes close to it
    assert.ok(Math.abs(x.data[0]! * 255 - 200) < 4 && Math.abs(x.data[12]! * 255 - 100) < 4 && Math.abs(x.data[24]! * 255 - 50) < 4);
    assert.throws(() => readImageFolder(d, { size: [8, 8] }), (e: Error) => e instanceof LrqError && /is 4×3, the model needs 8×8/.test(e.message));
    const big = readImageFolder(d, { size: [6, 8], resize: 'nearest', normalization: IDENTITY_NORMALIZATION });
    // nearest ×2: dst (y, x) takes src (⌊y/2⌋, ⌊x/2⌋)
    const bx = big.batch(1, 2).x;
    assert.equal(bx.data[2 * 48 + 5 * 8 + 7], Math.fround(img.data[(2 * 4 + 3) * 3 + 2]! / 255));
    mkdirSync(join(d, 'empty'));
    assert.throws(() => readImageFolder(d, { size: [3, 4] }), /class folder 'empty' holds no/);
  } finally {
    rmSync(d, { recursive: true });
  }
  assert.throws(() => readImageFolder('/nonexistent/lrq', { size: [3, 4] }), /does not exist/);
  const e = tmp();
  assert.throws(() => readImageFolder(e, { size: [3, 4] }), /has no class subfolders/);
  rmSync(e, { recursive: true });
});

test('normalization from metadata, validation and batching', () => {
  assert.deepEqual(normalizationFromMetadata({ normalize_mean: '0.485,0.456,0.406', normalize_std: '0.229,0.224,0.225' }), DEFAULT_NORMALIZATION);
  assert.deepEqual(normalizationFromMetadata({ mean: '[0.5, 0.5, 0.5]', std: '[0.25,0.25,0.25]' }), { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  assert.equal(normalizationFromMetadata({ other: 'x' }), null);
  assert.deepEqual(resolveNormalization({ other: 'x' }), DEFAULT_NORMALIZATION);
  assert.deepEqual(resolveNormalization({ mean: '0,0,0', std: '1,1,1' }), IDENTITY_NORMALIZATION);
  assert.equal(resolveNormalization({ mean: '0,0,0', std: '1,1,1' }, DEFAULT_NORMALIZATION), DEFAULT_NORMALIZATION);
  assert.throws(() => normalizationFromMetadata({ mean: '1,2,3', std: '1,0,1' }), /std must be positive/);
  assert.throws(() => normalizationFromMetadata({ mean: '1,a', std: '1' }), /cannot parse/);
  const ds = readCifarBinary(CIFAR_TEST, { limit: 25 });
  const sizes = [...batches(ds, 10)].map((b) => [b.start, b.y.length]);
  assert.deepEqual(sizes, [[0, 10], [10, 10], [20, 5]]);
  assert.throws(() => ds.batch(20, 26), /out of range/);
});

test('CIFAR-style binary of another geometry: [1, 28, 28] and [3, 6, 8] records, sizes refused in one line', () => {
  const d = tmp();
  try {
    // 3 grey 28×28 records: label, then 784 pixels with pixel k of record i = (i·7 + k) mod 256
    const rec = 785, buf = new Uint8Array(3 * rec);
    for (let i = 0; i < 3; i++) {
      buf[i * rec] = [4, 9, 0][i]!;
      for (let k = 0; k < 784; k++) buf[i * rec + 1 + k] = (i * 7 + k) % 256;
    }
    writeFileSync(join(d, 'grey.bin'), buf);
    const ds = readCifarBinary(join(d, 'grey.bin'), { shape: [1, 28, 28], normalization: { mean: [0.5], std: [0.25] } });
    assert.deepEqual(ds.imageShape, [1, 28, 28]);
    assert.deepEqual([...ds.labels], [4, 9, 0]);
    const { x } = ds.batch(1, 2);
    assert.deepEqual(x.shape, [1, 1, 28, 28]);
    assert.equal(x.data[300], Math.fround(Math.fround(Math.fround(((7 + 300) % 256) / 255) - 0.5) / 0.25));
    // openDataset: a .bin file read as records of the model's [C, H, W]
    const o = openDataset(join(d, 'grey.bin'), { normalization: { mean: [0.5], std: [0.25] }, size: [28, 28], channels: 1 });
    assert.deepEqual([...o.pixels], [...ds.pixels]);
    assert.throws(() => openDataset(join(d, 'grey.bin'), { normalization: DEFAULT_NORMALIZATION, size: [32, 32] }),
      (e: Error) => e instanceof LrqError && /has 2355 bytes, not a multiple of the 3073-byte record \(1 label byte \+ 3×32×32 = 3072 pixels\)$/.test(e.message));
    writeFileSync(join(d, 'short.bin'), buf.subarray(0, 2 * rec + 100));
    assert.throws(() => readCifarBinary(join(d, 'short.bin'), { shape: [1, 28, 28] }), /has 1670 bytes, not a multiple of the 785-byte record \(1 label byte \+ 1×28×28 = 784 pixels\)/);
    // non-square RGB: [3, 6, 8] = 144 pixels, channel-major like CIFAR
    const r = new Uint8Array(2 * 145);
    r[0] = 1;
    r[145] = 2;
    r[1 + 48 + 8 * 2 + 5] = 222; // record 0, green plane, row 2, col 5
    writeFileSync(join(d, 'rgb.bin'), r);
    const c = readCifarBinary(join(d, 'rgb.bin'), { shape: [3, 6, 8], normalization: IDENTITY_NORMALIZATION });
    assert.equal(c.size, 2);
    assert.equal(c.batch(0, 1).x.data[48 + 8 * 2 + 5], Math.fround(222 / 255));
    // a CIFAR-10 file given to a model of another shape says so
    writeFileSync(join(d, 'c10.bin'), new Uint8Array(3073 * 2));
    assert.throws(() => openDataset(join(d, 'c10.bin'), { normalization: { mean: [0.5], std: [0.5] }, size: [28, 28] }), /it would fit 3×32×32 CIFAR records, but the model needs another input shape/);
    assert.throws(() => readCifarBinary(join(d, 'c10.bin'), { shape: [0, 28, 28] }), /must be three positive integers/);
  } finally {
    rmSync(d, { recursive: true });
  }
});

/** A greyscale PNG file (colour type 0) of the given values. */
function greyPng(w: number, h: number, f: (x: number, y: number) => number): Buffer {
  const png = new pngjs.PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = f(x, y), o = (y * w + x) * 4;
    png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
    png.data[o + 3] = 255;
  }
  return pngjs.PNG.sync.write(png, { colorType: 0 });
}

test('image folder at the model\'s channel count: RGB → grey by PIL luma, grey → RGB by replication', () => {
  const d = tmp();
  try {
    mkdirSync(join(d, 'a'));
    mkdirSync(join(d, 'b'));
    // known colours: red, green, blue, white, (200, 100, 50) → PIL convert('L') 76, 150, 29, 255, 124
    const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [200, 100, 50], [10, 20, 250]];
    const rgb = solid(3, 2, (x, y, c) => colours[y * 3 + x]![c]!);
    writeFileSync(join(d, 'a', 'rgb.png'), encodePng(rgb));
    writeFileSync(join(d, 'b', 'grey.png'), greyPng(3, 2, (x, y) => 40 * x + 100 * y + 3));
    assert.equal(readFileSync(join(d, 'b', 'grey.png'))[25], 0); // IHDR colour type 0: a real greyscale file
    const g = readImageFolder(d, { size: [2, 3], channels: 1, normalization: { mean: [0], std: [1] } });
    assert.deepEqual(g.imageShape, [1, 2, 3]);
    assert.deepEqual([...g.pixels.subarray(0, 6)], [76, 150, 29, 255, 124, 43]);
    assert.deepEqual([...g.pixels.subarray(6, 12)], [3, 43, 83, 103, 143, 183]); // grey stays itself
    assert.deepEqual([...g.pixels.subarray(0, 6)], colours.map(([r, gg, b]) => luma601(r!, gg!, b!)));
    const c = readImageFolder(d, { size: [2, 3], normalization: IDENTITY_NORMALIZATION });
    assert.deepEqual(c.imageShape, [3, 2, 3]);
    for (let ch = 0; ch < 3; ch++) assert.deepEqual([...c.pixels.subarray(18 + ch * 6, 24 + ch * 6)], [3, 43, 83, 103, 143, 183]);
    assert.deepEqual([...c.pixels.subarray(0, 6)], colours.map((p) => p[0]));
    // 1-channel normalization: (p/255 − 0.286)/0.353 in float32
    const n = readImageFolder(d, { size: [2, 3], channels: 1, normalization: { mean: [0.286], std: [0.353] } });
    assert.equal(n.batch(0, 1).x.data[0], Math.fround(Math.fround(Math.fround(76 / 255) - Math.fround(0.286)) / Math.fround(0.353)));
    // openDataset passes the model's channels; a 3-value normalization for a grey model is refused naming the channel count
    assert.deepEqual(openDataset(d, { normalization: { mean: [0.5], std: [0.5] }, size: [2, 3], channels: 1 }).imageShape, [1, 2, 3]);
    assert.throws(() => openDataset(d, { normalization: DEFAULT_NORMALIZATION, size: [2, 3], channels: 1 }), (e: Error) => e instanceof LrqError && /the model has 1 input channel;/.test(e.message));
    assert.throws(() => readImageFolder(d, { size: [2, 3], channels: 2 }), /the model has 2 input channels; images decode to 1 \(grey\) or 3 \(RGB\)/);
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('image folder for large inputs: Resize(⌊s/0.875⌋) + CenterCrop(s) by default (256/224 for 224² models)', () => {
  assert.deepEqual(defaultPreprocess([224, 224]), { shorter: 256, interpolation: 'antialias' });
  assert.deepEqual(defaultPreprocess([96, 96]), { shorter: 109, interpolation: 'antialias' });
  assert.equal(defaultPreprocess([32, 32]), 'none');
  assert.equal(defaultPreprocess([28, 28]), 'none');
  const d = tmp();
  try {
    mkdirSync(join(d, 'k'));
    const img = solid(150, 120, (x, y, c) => (x * 3 + y * 5 + c * 70) % 256);
    writeFileSync(join(d, 'k', 'a.png'), encodePng(img));
    const ds = readImageFolder(d, { size: [96, 96], normalization: IDENTITY_NORMALIZATION });
    const want = resizeShorterCrop(readImage(join(d, 'k', 'a.png')), 109, 96, 96);
    const got = ds.batch(0, 1).x.data;
    for (const k of [0, 4321, 96 * 96 - 1]) assert.equal(got[k], Math.fround(want.data[k * 3]! / 255)); // red plane
    assert.deepEqual([...ds.pixels.subarray(0, 96)], Array.from({ length: 96 }, (_, i) => want.data[i * 3]));
    // explicit options: another shorter side, or none (sizes must match)
    const s = readImageFolder(d, { size: [96, 96], resize: { shorter: 96, interpolation: 'bilinear' }, normalization: IDENTITY_NORMALIZATION });
    assert.deepEqual([...s.pixels.subarray(0, 96)], Array.from({ length: 96 }, (_, i) => resizeShorterCrop(img, 96, 96, 96, 'bilinear').data[i * 3]));
    assert.throws(() => readImageFolder(d, { size: [96, 96], resize: 'none' }), /is 150×120, the model needs 96×96/);
    assert.throws(() => readImageFolder(d, { size: [96, 96], resize: { shorter: 50 } }), /resize shorter side 50 must be an integer of at least/);
    // an image of the input size is used as it is
    assert.equal(readImageFolder(d, { size: [120, 150], normalization: IDENTITY_NORMALIZATION }).pixels[5], img.data[15]);
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('normalization: one value per channel, a single value broadcast, errors name the model\'s channel count', () => {
  assert.equal(fitNormalization(DEFAULT_NORMALIZATION, 3), DEFAULT_NORMALIZATION);
  assert.deepEqual(fitNormalization({ mean: [0.5], std: [0.25] }, 3), { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  assert.deepEqual(fitNormalization({ mean: [0.286], std: [0.353] }, 1), { mean: [0.286], std: [0.353] });
  assert.deepEqual(fitNormalization({ mean: [0.1, 0.2, 0.3], std: [0.5] }, 3), { mean: [0.1, 0.2, 0.3], std: [0.5, 0.5, 0.5] });
  assert.throws(() => fitNormalization(DEFAULT_NORMALIZATION, 1, '--mean/--std'), (e: Error) => e instanceof LrqError && e.message === '--mean/--std: the model has 1 input channel; give one mean and one std, got mean [0.485, 0.456, 0.406] std [0.229, 0.224, 0.225]');
  assert.throws(() => fitNormalization({ mean: [0.1, 0.2], std: [1, 1] }, 3), /the model has 3 input channels; give 3 means and stds \(or one of each\)/);
  assert.throws(() => fitNormalization({ mean: [0.5], std: [0] }, 1), /std must be positive/);
  // defaults: ImageNet for RGB, none for other channel counts; metadata with one value broadcast
  assert.equal(defaultNormalization(3), DEFAULT_NORMALIZATION);
  assert.deepEqual(defaultNormalization(1), { mean: [0], std: [1] });
  assert.deepEqual(resolveNormalization({}, null, 1), { mean: [0], std: [1] });
  assert.deepEqual(resolveNormalization({ normalize_mean: '0.2860', normalize_std: '0.3530' }, null, 1), { mean: [0.286], std: [0.353] });
  assert.deepEqual(resolveNormalization({ normalize_mean: '0.5', normalize_std: '0.5' }, null, 3), { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.throws(() => resolveNormalization({}, { mean: [1, 2], std: [1, 2] }, 1), /^LrqError: --mean\/--std: the model has 1 input channel/);
  // a 1-channel dataset with its default (pixel/255) and the float32 arithmetic with one mean/std
  const px = Uint8Array.of(0, 51, 128, 255);
  const ds = new ImageDataset(px, Int32Array.of(0), [1, 2, 2], 10);
  assert.deepEqual(ds.normalization, { mean: [0], std: [1] });
  const g = new ImageDataset(px, Int32Array.of(0), [1, 2, 2], 10, { mean: [0.286], std: [0.353] });
  const want = [...px].map((p) => Math.fround(Math.fround(Math.fround(p / 255) - Math.fround(0.286)) / Math.fround(0.353)));
  assert.deepEqual([...g.batch(0, 1).x.data], want);
  assert.ok(Math.abs(g.batch(0, 1).x.data[3]! - (1 - 0.286) / 0.353) < 1e-6);
  assert.throws(() => new ImageDataset(px, Int32Array.of(0), [1, 2, 2], 10, DEFAULT_NORMALIZATION), /the model has 1 input channel/);
});
