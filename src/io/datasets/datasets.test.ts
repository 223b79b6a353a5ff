// Tests of the CIFAR binary reader, the image-folder reader and normalization (float32 arithmetic of
// torchvision ToTensor + Normalize), including the one-line errors for malformed input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { LrqError } from '../../engine/errors.js';
import { readCifarBinary, readImageFolder, normalizationFromMetadata, resolveNormalization, DEFAULT_NORMALIZATION, IDENTITY_NORMALIZATION, batches } from './index.js';
import { encodePng, type RgbImage } from '../images.js';

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
