// Tests of the IDX (MNIST / Fashion-MNIST) reader: hand-built files plain and gzip, the labels file found
// beside the images, headers that lie refused in one line, grey → RGB replication, and the real
// Fashion-MNIST test set (skipped where the Debian package dataset-fashion-mnist is not installed).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { LrqError } from '../../engine/errors.js';
import { idxLabelsPath, isIdxImagesPath, readIdx } from './idx.js';
import { IDENTITY_NORMALIZATION } from './normalize.js';
import { openDataset } from '../../method/data.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';

/** IDX bytes: magic 0x0000 08 <rank>, big-endian dims, then the payload. */
function idx(dims: number[], payload: Uint8Array, type = 0x08): Buffer {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b[2] = type;
  b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([b, Buffer.from(payload)]);
}

/** 3 images of 2×4, pixel (i, y, x) = 40·i + 10·y + x; labels 7, 0, 3. */
const PIX = Uint8Array.from({ length: 24 }, (_, k) => 40 * Math.floor(k / 8) + 10 * Math.floor((k % 8) / 4) + (k % 4));
const LBL = Uint8Array.of(7, 0, 3);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'lrq-idx-'));
}

const oneLine = (re: RegExp) => (e: unknown) => e instanceof LrqError && !e.message.includes('\n') && re.test(e.message);

test('IDX reader: hand-built file, plain and gzip, labels found beside it, exact pixels', () => {
  const d = tmp();
  try {
    writeFileSync(join(d, 'train-images-idx3-ubyte'), idx([3, 2, 4], PIX));
    writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([3], LBL));
    writeFileSync(join(d, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([3, 2, 4], PIX)));
    writeFileSync(join(d, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([3], LBL)));
    assert.equal(idxLabelsPath(join(d, 'train-images-idx3-ubyte')), join(d, 'train-labels-idx1-ubyte'));
    assert.equal(idxLabelsPath(join(d, 't10k-images-idx3-ubyte.gz')), join(d, 't10k-labels-idx1-ubyte.gz'));
    assert.ok(isIdxImagesPath('x/t10k-images-idx3-ubyte.gz') && isIdxImagesPath('images.idx3-ubyte') && !isIdxImagesPath('test_batch.bin'));
    for (const name of ['train-images-idx3-ubyte', 't10k-images-idx3-ubyte.gz']) {
      const ds = readIdx(join(d, name), { normalization: { mean: [0], std: [1] } });
      assert.equal(ds.size, 3);
      assert.deepEqual(ds.imageShape, [1, 2, 4]);
      assert.deepEqual([...ds.labels], [7, 0, 3]);
      assert.deepEqual([...ds.pixels], [...PIX]);
      const { x } = ds.batch(2, 3);
      assert.deepEqual(x.shape, [1, 1, 2, 4]);
      assert.equal(x.data[5], Math.fround(Math.fround(91 / 255))); // image 2, row 1, col 1: 80 + 10 + 1
    }
    // a labels file compressed differently from the images file is found too
    rmSync(join(d, 'train-labels-idx1-ubyte'));
    writeFileSync(join(d, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], LBL)));
    assert.equal(readIdx(join(d, 'train-images-idx3-ubyte')).size, 3);
    // grey → 3 channels: the plane replicated (torchvision Grayscale(3) / PIL convert('RGB'))
    const rgb = readIdx(join(d, 't10k-images-idx3-ubyte.gz'), { channels: 3, normalization: IDENTITY_NORMALIZATION });
    assert.deepEqual(rgb.imageShape, [3, 2, 4]);
    for (let c = 0; c < 3; c++) assert.deepEqual([...rgb.pixels.subarray(24 + c * 8, 24 + (c + 1) * 8)], [...PIX.subarray(8, 16)]);
    // limit, and openDataset choosing the reader from the name with the model's channels and size
    assert.equal(readIdx(join(d, 'train-images-idx3-ubyte'), { limit: 2 }).size, 2);
    const o = openDataset(join(d, 't10k-images-idx3-ubyte.gz'), { normalization: { mean: [0.5], std: [0.25] }, size: [2, 4], channels: 1 });
    assert.equal(o.batch(0, 1).x.data[0], Math.fround(Math.fround(Math.fround(0 / 255) - 0.5) / 0.25));
    assert.throws(() => openDataset(join(d, 't10k-images-idx3-ubyte.gz'), { normalization: { mean: [0.5], std: [0.25] }, size: [28, 28], channels: 1 }), oneLine(/holds 2×4 images, the model needs 28×28/));
    assert.throws(() => openDataset(join(d, 't10k-labels-idx1-ubyte.gz'), { normalization: { mean: [0.5], std: [0.25] }, size: [2, 4] }), oneLine(/is an IDX labels file; give the images file/));
    assert.throws(() => readIdx(join(d, 'train-images-idx3-ubyte'), { channels: 4 }), oneLine(/the model has 4 input channels/));
    // the folder of IDX files itself: pointed at the images file
    assert.throws(() => openDataset(d, { normalization: { mean: [0.5], std: [0.5] }, size: [2, 4], channels: 1 }), oneLine(/holds IDX files, not class subfolders; give one images file, e.g. .*t10k-images-idx3-ubyte.gz/));
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('IDX reader: headers that lie, wrong magic, truncation, labels out of range, corrupt gzip → one-line errors', () => {
  const d = tmp();
  const img = join(d, 'x-images-idx3-ubyte'), lbl = join(d, 'x-labels-idx1-ubyte');
  const expectErr = (images: Uint8Array, labels: Uint8Array, re: RegExp, opts = {}) => {
    writeFileSync(img, images);
    writeFileSync(lbl, labels);
    assert.throws(() => readIdx(img, opts), oneLine(re), re.source);
  };
  try {
    const good = idx([3], LBL);
    expectErr(idx([3, 2, 4], PIX.subarray(0, 20)), good, /x-images-idx3-ubyte' holds 20 bytes after its 16-byte header, but the header dims 3×2×4 mean 24/);
    expectErr(idx([3, 2, 4], Buffer.concat([PIX, Buffer.alloc(3)])), good, /holds 27 bytes .* mean 24/);
    // a count that lies by orders of magnitude is refused from the header, before allocation
    expectErr(idx([4294967295, 65535, 65535], PIX), good, /header dims 4294967295×65535×65535 need 18446181123756261391 bytes, over lrq's 1073741824-byte limit/);
    expectErr(idx([1000000, 28, 28], PIX), good, /holds 24 bytes .* mean 784000000/);
    expectErr(idx([0, 2, 4], new Uint8Array()), good, /hold a zero/);
    expectErr(idx([3, 8], PIX), good, /magic 0x00000802, expected 0x00000803: 2 dimensions, images need 3/);
    expectErr(idx([3, 2, 4], PIX, 0x0d), good, /magic 0x00000d03, expected 0x00000803: element type 0x0d \(float32\) is not unsigned byte/);
    expectErr(Buffer.concat([Buffer.from([0x12, 0x34]), idx([3, 2, 4], PIX).subarray(2)]), good, /magic 0x12340803.*not an IDX file/);
    expectErr(idx([3, 2, 4], PIX).subarray(0, 10), good, /holds 10 bytes, shorter than its 16-byte header/);
    expectErr(new Uint8Array(), good, /is empty/);
    expectErr(idx([3, 2, 4], PIX), idx([4], Uint8Array.of(1, 2, 3, 4)), /x-labels-idx1-ubyte' holds 4 labels for the 3 images/);
    expectErr(idx([3, 2, 4], PIX), idx([3], Uint8Array.of(1, 12, 3)), /label 12 at index 1, outside \[0, 10\)/);
    expectErr(idx([3, 2, 4], PIX), idx([3], Uint8Array.of(1, 2)), /holds 2 bytes after its 8-byte header, but the header dims 3 mean 3/);
    expectErr(idx([3, 2, 4], PIX), idx([3, 2, 4], PIX), /x-labels-idx1-ubyte' has magic 0x00000803, expected 0x00000801/);
    writeFileSync(lbl, idx([3], Uint8Array.of(1, 12, 3)));
    assert.equal(readIdx(img, { numClasses: 30 }).label(1), 12); // the class count is the caller's
    // gzip: a header that lies against the trailer's length, a truncated stream, flipped bytes
    const gz = gzipSync(idx([3, 2, 4], PIX));
    expectErr(gzipSync(idx([5, 2, 4], PIX)), good, /header dims 5×2×4 mean 56 bytes, but the gzip stream says it holds 40/);
    expectErr(gz.subarray(0, gz.length - 6), good, /gzip stream says it holds|corrupt gzip/);
    expectErr(gz.subarray(0, 12), good, /gzip|shorter than/);
    const flipped = Buffer.from(gz);
    flipped[gz.length - 8] ^= 0xff; // the CRC
    expectErr(flipped, good, /corrupt gzip \(.*check/);
    const noisy = Buffer.from(gz);
    for (let i = 10; i < gz.length - 8; i += 3) noisy[i] ^= 0x5a;
    expectErr(noisy, good, /IDX images file .* (gzip|magic|header)/);
    // missing labels file
    rmSync(lbl);
    writeFileSync(img, idx([3, 2, 4], PIX));
    assert.throws(() => readIdx(img), oneLine(/IDX labels file for .* not found \(looked for 'x-labels-idx1-ubyte' and 'x-labels-idx1-ubyte.gz' beside it\)/));
    assert.throws(() => readIdx(join(d, 'nope-images-idx3-ubyte')), oneLine(/does not exist/));
  } finally {
    rmSync(d, { recursive: true });
  }
});

const haveFmnist = existsSync(join(FMNIST, 't10k-images-idx3-ubyte.gz')) && existsSync(join(FMNIST, 't10k-labels-idx1-ubyte.gz'));

test('IDX reader: the real Fashion-MNIST test set (10,000 images, 1,000 per class, first image checksum)', { skip: !haveFmnist && `${FMNIST} not found (Debian package dataset-fashion-mnist)` }, () => {
  const path = join(FMNIST, 't10k-images-idx3-ubyte.gz');
  const ds = readIdx(path, { normalization: { mean: [0.286], std: [0.353] } });
  assert.equal(ds.size, 10000);
  assert.deepEqual(ds.imageShape, [1, 28, 28]);
  const hist = new Array<number>(10).fill(0);
  for (let i = 0; i < ds.size; i++) hist[ds.label(i)]!++;
  assert.deepEqual(hist, new Array(10).fill(1000));
  assert.deepEqual([...ds.labels.subarray(0, 10)], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]); // ankle boot, pullover, trouser, …
  // checksums of image 0 computed independently with numpy: Σ p = 33456, Σ (k+1)·p_k = 16008570
  const first = ds.pixels.subarray(0, 784);
  assert.equal(first.reduce((a, b) => a + b, 0), 33456);
  assert.equal(first.reduce((a, b, k) => a + (k + 1) * b, 0), 16008570);
  // the same bytes as the decompressed file after its 16-byte header; normalization (p/255 − 0.286)/0.353 in float32
  const raw = gunzipSync(readFileSync(path));
  assert.deepEqual(ds.pixels.subarray(784 * 9999), raw.subarray(16 + 784 * 9999));
  const { x } = ds.batch(0, 1);
  const k = first.findIndex((p) => p > 200);
  assert.equal(x.data[k], Math.fround(Math.fround(Math.fround(first[k]! / 255) - Math.fround(0.286)) / Math.fround(0.353)));
  assert.equal(x.data[0], Math.fround(Math.fround(-Math.fround(0.286)) / Math.fround(0.353)));
});
