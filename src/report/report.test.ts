// Report tests: PNG grid pixels, run-dir round trips, and the rendered report in headless Chromium
// (no console errors; the synthetic-image grid and the SVG curves actually paint non-blank pixels).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { synthGrid } from './png.js';
import { writeReport } from './report.js';
import { readExportSpec, readRunDir, writeExportSpec, writeRunJson, writeSynth, type EvalMetrics, type LayerRecord } from './run_dir.js';
import { niceTicks, smooth } from './svg.js';
import { LrqError } from '../engine/errors.js';

const CHROMIUM = '/usr/bin/chromium';
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Deterministic fake synthetic images: class c is a hue-rotated diagonal gradient with a bright square. */
function fakeImages(n: number, classes: number): { images: Float32Array; labels: number[] } {
  const images = new Float32Array(n * 3 * 32 * 32);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels.push(c);
    for (let ch = 0; ch < 3; ch++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          let v = 0.5 + 0.45 * Math.sin((x + y) / 9 + c * 0.7 + ch * 2.1 + i * 0.3);
          if (x > 10 && x < 20 && y > 10 && y < 20) v = ch === c % 3 ? 0.95 : 0.1;
          images[((i * 3 + ch) * 32 + y) * 32 + x] = (v - MEAN[ch]!) / STD[ch]!;
        }
      }
    }
  }
  return { images, labels };
}

function metrics(acc: number[], seed: number): EvalMetrics {
  const confusion = acc.map((a, i) => {
    const row = new Array(10).fill(0);
    row[i] = Math.round(a * 10);
    let rest = 1000 - row[i];
    for (let j = 1; rest > 0; j++) { const k = (i + j * (seed + 1)) % 10; if (k === i) continue; const v = Math.min(rest, Math.ceil(rest / 2)); row[k] += v; rest -= v; }
    return row;
  });
  const perClass = confusion.map((r, i) => r[i] / 10);
  return { top1: perClass.reduce((a, b) => a + b, 0) / 10, top5: 98.5 - seed, perClass, confusion };
}

function fakeRun(dir: string): void {
  writeRunJson(dir, 'config.json', { model: 'resnet20.onnx', method: 'lrq', wbits: 4, abits: 4, epochs: 4, itersPerEpoch: 50, batchSize: 64, lkaPositions: ['after_block1', 'after_block2'] });
  const lines: string[] = [];
  for (let e = 0; e < 4; e++) {
    for (let it = 0; it < 50; it++) {
      const t = e * 50 + it;
      lines.push(JSON.stringify({ type: 'iter', epoch: e, iter: it, lossG: 2.5 * Math.exp(-t / 60) + 0.3 + 0.1 * Math.sin(t), lossS: 1.8 * Math.exp(-t / 90) + 0.2 + 0.05 * Math.cos(t * 1.3), lossBNS: 0.8 * Math.exp(-t / 40) }));
    }
    lines.push(JSON.stringify({ type: 'epoch', epoch: e, top1: 40 + 10 * e + e * e, top5: 80 + 4 * e, seconds: 61.5 + e }));
  }
  writeFileSync(join(dir, 'log.jsonl'), lines.join('\n') + '\n');
  writeRunJson(dir, 'eval.json', {
    dataset: 'CIFAR-10 test (JPEG q75)', images: 10000,
    fp: metrics([88, 90, 72, 62, 80, 73, 86, 84, 89, 86], 0),
    quant: metrics([80, 86, 60, 50, 72, 66, 81, 79, 85, 80], 1),
  });
  const layers: LayerRecord[] = [
    { name: 'stem', kind: 'conv', wbits: 4, weightRange: [-0.81, 0.77], mse: 2.1e-4, params: 432 },
    { name: 'stem_relu', kind: 'act', abits: 4, actRange: [0, 3.2], mse: 1.3e-2 },
    { name: 'fc', kind: 'linear', wbits: 4, weightRange: [-0.5, 0.61], mse: 3.2e-4, params: 650 },
  ];
  writeRunJson(dir, 'layers.json', layers);
  writeRunJson(dir, 'summary.json', { name: 'r20-w4a4', method: 'lrq', model: 'resnet20_cifar10_akamaster.onnx', wbits: 4, abits: 4, startedAt: '2026-01-01T10:00:00Z', finishedAt: '2026-01-01T10:04:10Z', seconds: 250, epochs: 4, itersPerEpoch: 50, backend: 'onednn', threads: 2, notes: ['fast preset'] });
  const { images, labels } = fakeImages(80, 10);
  writeSynth(dir, { images, shape: [80, 3, 32, 32], labels, mean: MEAN, std: STD });
}

test('synthGrid: one row per class, de-normalized pixels, white gaps', () => {
  const { images, labels } = fakeImages(12, 3);
  const png = PNG.sync.read(synthGrid(images, [12, 3, 32, 32], labels, MEAN, STD, 2, { scale: 1, gap: 2 }));
  assert.equal(png.width, 2 * 32 + 3 * 2);
  assert.equal(png.height, 3 * 32 + 4 * 2);
  // Pixel (x=5, y=7) of image 0 (class 0, row 0, column 0) → grid (2+5, 2+7).
  for (let ch = 0; ch < 3; ch++) {
    const want = Math.round(Math.min(1, Math.max(0, images[((0 * 3 + ch) * 32 + 7) * 32 + 5]! * STD[ch]! + MEAN[ch]!)) * 255);
    assert.equal(png.data[((2 + 7) * png.width + (2 + 5)) * 4 + ch], want);
  }
  // Row 1 column 1 holds the second image of class 1 = image index 4.
  const y = 2 + 32 + 2 + 15, x = 2 + 32 + 2 + 15;
  assert.equal(png.data[(y * png.width + x) * 4 + 1], Math.round(Math.min(1, Math.max(0, images[((4 * 3 + 1) * 32 + 15) * 32 + 15]! * STD[1]! + MEAN[1]!)) * 255));
  assert.deepEqual([...png.data.subarray(0, 4)], [255, 255, 255, 255]);
  assert.throws(() => synthGrid(images, [12, 3, 32, 31], labels, MEAN, STD, 2), LrqError);
});

test('synthGrid with 1 channel (28×28 grey, one mean/std): grey pixels R = G = B, de-normalized; report embeds it', () => {
  const n = 6, H = 28, W = 28, M = [0.286], S = [0.353];
  const images = new Float32Array(n * H * W);
  for (let i = 0; i < images.length; i++) images[i] = Math.sin(i * 0.37) * 1.6; // some values clamp at 0 or 1
  const labels = [0, 1, 2, 0, 1, 2];
  const png = PNG.sync.read(synthGrid(images, [n, 1, H, W], labels, M, S, 2, { scale: 2, gap: 2 }));
  assert.equal(png.width, 2 * 56 + 3 * 2);
  assert.equal(png.height, 3 * 56 + 4 * 2);
  let clamped = 0;
  // image 4 = class 1's second image: row 1, column 1; source pixel (x=9, y=20) → grid (2+56+2 + 2·9, 2+56+2 + 2·20)
  for (const [img, row, col] of [[0, 0, 0], [4, 1, 1], [5, 2, 1]] as const) {
    for (let y = 0; y < H; y += 3) for (let x = 0; x < W; x += 5) {
      const v = images[(img * H + y) * W + x]! * S[0]! + M[0]!;
      if (v <= 0 || v >= 1) clamped++;
      const want = Math.round(Math.min(1, Math.max(0, v)) * 255);
      const o = ((2 + row * 58 + 2 * y + 1) * png.width + (2 + col * 58 + 2 * x + 1)) * 4;
      assert.deepEqual([...png.data.subarray(o, o + 4)], [want, want, want, 255], `image ${img} (${x}, ${y})`);
    }
  }
  assert.ok(clamped > 0);
  // 3 values for 1 channel are refused; 1 value for 3 channels serves every channel
  assert.throws(() => synthGrid(images, [n, 1, H, W], labels, MEAN, STD, 2), (e: Error) => e instanceof LrqError && /1-channel images need 1 mean\/std value \(or one\)/.test(e.message));
  const rgb = fakeImages(3, 3);
  const a = synthGrid(rgb.images, [3, 3, 32, 32], rgb.labels, [0.5], [0.25], 1, { scale: 1 });
  const b = synthGrid(rgb.images, [3, 3, 32, 32], rgb.labels, [0.5, 0.5, 0.5], [0.25, 0.25, 0.25], 1, { scale: 1 });
  assert.ok(a.equals(b));
  // the report of a run whose synthetic images are grey renders the grid (quantize used to die here)
  const dir = mkdtempSync(join(tmpdir(), 'lrq-report-grey-'));
  try {
    writeSynth(dir, { images, shape: [n, 1, H, W], labels, mean: M, std: S });
    const html = readFileSync(writeReport(dir), 'utf8');
    assert.match(html, /data:image\/png;base64,/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('niceTicks and smoothing', () => {
  assert.deepEqual(niceTicks(0, 100), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(0.13, 0.61, 5), [0.2, 0.3, 0.4, 0.5, 0.6]);
  const s = smooth([[0, 1], [1, 1], [2, 1]]);
  assert.ok(s.every(([, y]) => Math.abs(y - 1) < 1e-12)); // bias correction: a constant stays constant
});

test('export spec round-trips through the run directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-run-'));
  try {
    const m = join(dir, 'm.onnx');
    writeFileSync(m, 'placeholder: readExportSpec only checks that the source model exists');
    writeExportSpec(dir, m, {
      initializers: new Map([['a', Float32Array.of(1.5, -2)], ['b', Float32Array.of(3)]]),
      weights: new Map([['w', { bits: 4, lo: Float32Array.of(-1, -2), hi: Float32Array.of(1, 2) }], ['v', { bits: 5 }]]),
      activations: new Map([['r', { bits: 4, lo: 0, hi: 2.5 }]]),
      metadata: { k: 'v' },
    });
    const { model, spec } = readExportSpec(dir);
    assert.equal(model, m);
    assert.deepEqual([...spec.initializers!.get('a')!], [1.5, -2]);
    assert.deepEqual([...spec.initializers!.get('b')!], [3]);
    assert.deepEqual([...spec.weights.get('w')!.hi!], [1, 2]);
    assert.equal(spec.weights.get('v')!.lo, undefined);
    assert.deepEqual(spec.activations.get('r'), { bits: 4, lo: 0, hi: 2.5 });
    // another format version, or a source model that is gone → one-line errors
    const specPath = join(dir, 'export_spec.json');
    const raw = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(specPath, JSON.stringify({ ...raw, version: 99 }));
    assert.throws(() => readExportSpec(dir), /format version 99, this lrq reads version 1/);
    writeFileSync(specPath, JSON.stringify({ ...raw, model: join(dir, 'gone.onnx') }));
    assert.throws(() => readExportSpec(dir), /source model '.*gone\.onnx' no longer exists/);
    writeFileSync(join(dir, 'eval.json'), '{ broken');
    assert.throws(() => readRunDir(dir), (e: unknown) => e instanceof LrqError && /eval\.json: not valid JSON/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report of an empty run directory renders with notes instead of failing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-run-'));
  try {
    const html = readFileSync(writeReport(dir), 'utf8');
    assert.match(html, /No eval\.json/);
    assert.match(html, /No log\.jsonl records/);
    assert.throws(() => writeReport(join(dir, 'nope')), LrqError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Per-channel pixel standard deviation of a PNG (0 for a blank region). */
function pixelStd(buf: Buffer): number {
  const p = PNG.sync.read(buf);
  let s = 0, s2 = 0, n = 0;
  for (let i = 0; i < p.data.length; i += 4) for (let c = 0; c < 3; c++) { const v = p.data[i + c]!; s += v; s2 += v * v; n++; }
  return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
}

test('report renders in headless Chromium: no console errors, image grid and curves painted', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} not installed` }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-run-'));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  try {
    fakeRun(dir);
    const out = writeReport(dir);
    const html = readFileSync(out, 'utf8');
    assert.doesNotMatch(html, /(src|href)="(https?:|\/\/)/, 'report must be self-contained');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(`file://${out}`);
    assert.deepEqual(errors, []);
    const grid = page.locator('#synth-grid');
    const box = await grid.boundingBox();
    assert.ok(box && box.width > 500 && box.height > 500, `grid box ${JSON.stringify(box)}`);
    assert.ok(await grid.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'grid image did not decode');
    assert.ok(pixelStd(await grid.screenshot()) > 20, 'synthetic image grid looks blank');
    const charts = page.locator('#curves svg');
    assert.equal(await charts.count(), 2);
    for (let i = 0; i < 2; i++) {
      const shot = await charts.nth(i).screenshot();
      assert.ok(pixelStd(shot) > 10, `curve chart ${i} looks blank`);
    }
    assert.equal(await page.locator('#confusion table tr').count(), 11);
    assert.equal(await page.locator('#layers tbody tr').count(), 3);
    assert.match((await page.locator('#accuracy .card.accent .value').textContent()) ?? '', /^\d+\.\d\d%$/);
    if (process.env['LRQ_REPORT_SHOT']) await page.screenshot({ path: process.env['LRQ_REPORT_SHOT'], fullPage: true });
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report lists each exported file with its form, onnxruntime latency against FP32 and the file to deploy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-rep-ex-'));
  try {
    writeRunJson(dir, 'summary.json', {
      name: 'r', method: 'lrq', model: 'm.onnx', wbits: 8, abits: 8, scheme: 'deploy',
      exports: [{ file: 'model.int8.onnx', form: 'int8', purpose: 'speed', bytes: 330000, top1: 80.5, ms1: 0.3, ms64: 9.8, fp32Ms1: 0.45, fp32Ms64: 19.6, floatLayers: [], kernels: { QLinearConv: 19 } }],
      deploy: { file: 'model.int8.onnx', why: '2.00× faster than FP32 at batch 64' },
    });
    const html = readFileSync(writeReport(dir), 'utf8');
    assert.match(html, /model\.int8\.onnx <b>\(deploy\)<\/b>/);
    assert.match(html, /2\.00×/);
    assert.match(html, /80\.50%/);
    assert.match(html, /all integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
