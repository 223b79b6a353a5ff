// Tests of the pixel conversions in images.ts against values printed by Pillow 12.3: convert('L') luma,
// Image.resize(BILINEAR) (antialiased), and torchvision's Resize(shorter) + CenterCrop offsets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LrqError } from '../engine/errors.js';
import { type RgbImage, centerCropOffset, cropImage, hwcToPlanes, luma601, resizeAntialiased, resizeShorterCrop } from './images.js';

/** The 9×7 test image: pixel (x, y, c) = (37x + 11y + 50c) mod 256. */
function pattern(w = 9, h = 7): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = (37 * x + 11 * y + 50 * c) % 256;
  return { width: w, height: h, data };
}

test('grey ↔ RGB: ITU-R 601 luma with PIL convert(\'L\') integer rounding; grey pixels unchanged', () => {
  // PIL: Image.new('RGB') of red, green, blue → convert('L') = 76, 150, 29; white 255, black 0
  assert.deepEqual([luma601(255, 0, 0), luma601(0, 255, 0), luma601(0, 0, 255), luma601(255, 255, 255), luma601(0, 0, 0)], [76, 150, 29, 255, 0]);
  for (let v = 0; v < 256; v++) assert.equal(luma601(v, v, v), v);
  // 0.299·200 + 0.587·100 + 0.114·50 = 124.2 → 124 ; 0.299·10 + 0.587·20 + 0.114·250 = 43.23 → 43
  assert.equal(luma601(200, 100, 50), 124);
  assert.equal(luma601(10, 20, 250), 43);
  // the first 20 pixels of pattern().convert('L') as PIL prints them
  const img = pattern();
  const grey = new Uint8Array(63);
  hwcToPlanes(img, 1, grey);
  assert.deepEqual([...grey.subarray(0, 20)], [41, 78, 115, 152, 189, 197, 83, 44, 81, 52, 89, 126, 163, 171, 208, 94, 55, 92, 63, 100]);
  // 3 channels: R, G, B planes
  const rgb = new Uint8Array(189);
  hwcToPlanes(img, 3, rgb);
  assert.deepEqual([rgb[10], rgb[63 + 10], rgb[126 + 10]], [...img.data.subarray(30, 33)]);
  assert.throws(() => hwcToPlanes(img, 2, rgb), LrqError);
});

test('resizeAntialiased equals PIL Image.resize(BILINEAR) (down 9×7 → 4×3 and up to 13×10)', () => {
  const down = resizeAntialiased(pattern(), 3, 4);
  assert.deepEqual([...down.data], [40, 90, 140, 115, 164, 172, 181, 140, 70, 70, 68, 118, 64, 114, 164, 139, 182, 170, 185, 86, 74, 79, 92, 142, 88, 138, 188, 163, 186, 116, 160, 84, 92, 66, 116, 166]);
  const up = resizeAntialiased(pattern(), 10, 13);
  assert.equal(up.data.reduce((a, b) => a + b, 0), 47816);
  assert.equal(up.data.reduce((a, b, k) => a + (k + 1) * b, 0), 9631503);
  const same = pattern();
  assert.equal(resizeAntialiased(same, 7, 9), same); // already the size: untouched
});

test('Resize(shorter) + CenterCrop: torchvision sizes and offsets (Python round halves to even), PIL pixels', () => {
  assert.deepEqual(centerCropOffset(256, 341, 224, 224), [16, 58]); // (341 − 224)/2 = 58.5 → 58
  assert.deepEqual(centerCropOffset(256, 343, 224, 224), [16, 60]); // 59.5 → 60
  assert.deepEqual(centerCropOffset(5, 6, 4, 4), [0, 1]); // 0.5 → 0
  // 9×7 → shorter side 5: 6×5 (⌊5·9/7⌋ = 6), crop 4×4 at top 0, left 1 — the values PIL + torchvision's formulas give
  const c = resizeShorterCrop(pattern(), 5, 4, 4);
  assert.equal(c.width, 4);
  assert.equal(c.height, 4);
  assert.deepEqual([...c.data], [70, 120, 170, 123, 173, 194, 181, 202, 81, 149, 57, 78, 83, 133, 183, 136, 186, 151, 194, 136, 38, 162, 54, 91, 99, 149, 199, 152, 202, 167, 205, 89, 54, 152, 57, 107, 115, 165, 202, 168, 218, 120, 197, 105, 70, 52, 73, 123]);
  // portrait: the width is the shorter side
  const p = resizeShorterCrop(pattern(7, 9), 5, 4, 4, 'nearest');
  assert.deepEqual([p.width, p.height], [4, 4]);
  assert.throws(() => resizeShorterCrop(pattern(), 3, 4, 4), (e: Error) => e instanceof LrqError && /smaller than the 4×4 crop/.test(e.message));
  assert.throws(() => cropImage(pattern(), 5, 0, 4, 4), /does not fit an image of 9×7/);
});

test('an image header claiming more than 50 MP is refused before decoding (PNG IHDR and JPEG SOF)', async () => {
  const { decodeImage, encodePng } = await import('./images.js');
  const png = Buffer.from(encodePng({ width: 2, height: 2, data: new Uint8Array(12) }));
  png.writeUInt32BE(20000, 16);
  png.writeUInt32BE(20000, 20);
  assert.throws(() => decodeImage(png, 'big.png'), (e: unknown) => e instanceof LrqError && /header claims 20000×20000 pixels/.test(e.message));
  // a minimal JPEG prefix: SOI, SOF0 with height 30000 and width 30000
  const jpg = Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x75, 0x30, 0x75, 0x30, 0x03, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
  assert.throws(() => decodeImage(jpg, 'big.jpg'), (e: unknown) => e instanceof LrqError && /header claims 30000×30000 pixels/.test(e.message));
});
