// The deploy scheme's network-input quantizer through every method: quantize() (a data-free lrq run and a
// real-data lrq-recon run) and naiveCalibrate leave it at the normalized pixel range of the model's
// normalization, LSQ does not re-learn it, and model.int8.onnx's input QuantizeLinear carries that grid.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOnnx } from '../io/onnx/index.js';
import { onnx } from '../io/onnx/proto.js';
import { DEFAULT_NORMALIZATION, normalizedPixelRange } from '../io/datasets/index.js';
import { intActivationQdq } from '../io/onnx_export/qparams.js';
import { ActFakeQuant } from '../quant/fake_quantize.js';
import type { LayerRecord } from '../report/run_dir.js';
import { naiveCalibrate } from './naive.js';
import { quantize, type QuantizeOptions } from './quantize.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx');
const TRAIN5K = join(ROOT, '../shared/data/cifar10/cifar10-train5k-yoongikim-jpeg-q75.bin');
const skip = !existsSync(MODEL) && 'shared data not found';
// the model has no normalization metadata: describeTeacher gives it the default (ImageNet's), as every run does
const PIXELS = normalizedPixelRange(DEFAULT_NORMALIZATION);

const tiny = (out: string, extra: Partial<QuantizeOptions>): QuantizeOptions => ({
  model: MODEL, out, preset: 'fast', scheme: 'deploy', wbits: 8, abits: 8, rangeMode: 'plain-ema',
  epochs: 1, itersPerEpoch: 2, batchSize: 8, warmupEpochs: 0, calibEpochs: 1, lrSteps: [], dkdWarmup: 1, lrSCap: 'off',
  seed: 3, progress: false, export: false, report: false, ...extra,
});

/** The run's input-quantizer row of layers.json (named by its edge, the graph input). */
function inputRow(runDir: string): LayerRecord {
  const rows = JSON.parse(readFileSync(join(runDir, 'layers.json'), 'utf8')) as LayerRecord[];
  const input = loadOnnx(MODEL).inputName;
  const row = rows.find((r) => r.kind === 'act' && r.name === input);
  assert.ok(row, `no activation row for the input '${input}'`);
  return row;
}

/** Scale and zero point of the QuantizeLinear that reads the graph input (directly or through the stem's channel Pad). */
function inputQuantizeLinear(file: string): { scale: number; zeroPoint: number } {
  const g = onnx.ModelProto.decode(readFileSync(file)).graph!;
  const input = g.input![0]!.name!;
  const fed = new Set([input, ...g.node!.filter((n) => n.opType === 'Pad' && n.input![0] === input).map((n) => n.output![0]!)]);
  const q = g.node!.filter((n) => n.opType === 'QuantizeLinear' && fed.has(n.input![0]!));
  assert.equal(q.length, 1, 'one QuantizeLinear on the input');
  const init = (name: string) => g.initializer!.find((t) => t.name === name)!;
  const s = init(q[0]!.input![1]!), z = init(q[0]!.input![2]!);
  const raw = s.rawData!;
  return { scale: new DataView(raw.buffer, raw.byteOffset, 4).getFloat32(0, true), zeroPoint: z.rawData![0]! };
}

test('data-free lrq run, deploy W8A8: the trained student keeps the pixel range on its input; model.int8.onnx quantizes the input on that grid', { skip }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'lrq-din-'));
  try {
    // the student observes its ranges on generator images during the whole (one-epoch) run
    await quantize(tiny(out, { export: true }));
    assert.deepEqual(inputRow(out).actRange, PIXELS);
    const want = intActivationQdq(PIXELS[0], PIXELS[1], 8, 'input');
    const got = inputQuantizeLinear(join(out, 'model.int8.onnx'));
    assert.deepEqual(got, { scale: want.scale, zeroPoint: want.zeroPoint });
    // and that grid spans the pixel range: level 0 and 255 dequantize to its ends (within half a step)
    assert.ok(Math.abs((0 - got.zeroPoint) * got.scale - PIXELS[0]) <= got.scale / 2 && Math.abs((255 - got.zeroPoint) * got.scale - PIXELS[1]) <= got.scale / 2, JSON.stringify(got));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('real-data lrq-recon run, deploy W4A4: ranges observed on real images and LSQ leave the input at the pixel range', { skip: (!existsSync(TRAIN5K) && 'real training subset not found') || skip }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'lrq-din-'));
  try {
    await quantize(tiny(out, { method: 'lrq-recon', wbits: 4, abits: 4, calibData: TRAIN5K, reconImages: 32, reconIters: 2, reconBatch: 8, reconRefineIters: 0 }));
    // (LSQ would re-initialize it from the MSE-optimal range of 32 real images, clipped well inside the pixel range)
    assert.deepEqual(inputRow(out).actRange, PIXELS);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('naiveCalibrate: a deploy student given the normalization has its input at the pixel range; without it, the generator images\' range', { skip }, () => {
  const o = { wbits: 8, abits: 8, scheme: 'deploy' as const, numClasses: 10, imgSize: 32, channels: 3 };
  const input = (g: ReturnType<typeof loadOnnx>) => {
    const path = g.edgeModules().find(([edge]) => edge === g.inputName)![1];
    return g.getSubmodule(path) as ActFakeQuant;
  };
  assert.deepEqual(input(naiveCalibrate(loadOnnx(MODEL), { ...o, normalization: DEFAULT_NORMALIZATION })).range(), PIXELS);
  const [lo, hi] = input(naiveCalibrate(loadOnnx(MODEL), o)).range();
  assert.ok(lo < PIXELS[0] - 1 && hi > PIXELS[1] + 1, `observed [${lo}, ${hi}] (untrained generator: ≈ [−5.4, 5.1])`);
});
