// `npm run bench:accuracy -- --preset fast --wbits 4 --abits 4 [--json] [--methods fp,naive,real,gdfq,lrq,recon,recon-real]
//  [--model m.onnx] [--eval-data test.bin] [--calib-data train5k.bin] [--mean M --std S] [--out runs/bench]
//  [--seed N] [--bns-weight W] [--lr-s LR] [--select final|synth-kl]`:
// the accuracy benchmark of the end-to-end issue, by default on the staged CIFAR-10 (JPEG q75) set; any
// classifier with its own data works too (e.g. the Fashion-MNIST teacher models/fmnist_vgg7bn.onnx with
// --eval-data t10k-images-idx3-ubyte.gz --calib-data train-images-idx3-ubyte.gz: 1-channel, its
// normalization read from the model's metadata, or --mean/--std, one value per input channel). For each
// method it runs the real pipeline (lrq's quantize(), same schedule and bits) and prints top-1 and wall minutes:
//   fp     the teacher itself;
//   naive  same bits, activation ranges (plain EMA) from the first 4 batches of an untrained GDFQ
//          generator, no training (data-free "quantize and hope"); naive-lrg: the same with the untrained
//          long-range generator;
//   real   real-data mode: the same loop on the 5,000 real training images instead of the generator;
//   gdfq   GDFQ generator, plain CE, KD (the baseline LRQ improves on);
//   lrq    long-range generator + AMA + DKD;
//   recon  lrq-recon: the long-range generator alone, then block reconstruction (AdaRound, LSQ, QDrop)
//          on a fixed set of its images (--epochs/--iters-per-epoch/--recon-iters/--recon-images/
//          --recon-drop/--recon-refine-iters/--recon-refine-lr/--first-last-8bit override its preset);
//          recon-real: the same on the train5k images.
// Results are appended to <out>/results.jsonl as each method finishes, so an interrupted benchmark keeps
// what it measured. With --json, one object per line: method, wbits, abits, top1, fp_top1, minutes.
// A method whose run stops (a NaN/Inf loss, say) is reported as a row with top1 null and its one-line
// error, the remaining methods still run, and the benchmark exits 1.

import { appendFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { backend } from '../../src/engine/backend.js';
import { LrqError } from '../../src/engine/errors.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { parseTriple } from '../../src/io/datasets/index.js';
import { openDataset } from '../../src/method/data.js';
import { evaluate } from '../../src/method/evaluate.js';
import { naiveCalibrate } from '../../src/method/naive.js';
import { describeTeacher, quantize } from '../../src/method/quantize.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}
const DATA = new URL('../../../shared/data/', import.meta.url).pathname;
const preset = arg('preset', 'fast') as 'fast' | 'paper';
const wbits = Number(arg('wbits', '4'));
const abits = Number(arg('abits', '4'));
const seed = Number(arg('seed', '0'));
const json = process.argv.includes('--json');
/** An optional numeric override of a preset value; undefined (flag absent) keeps the preset's. */
const optionalNumber = (name: string): number | undefined => (process.argv.includes(`--${name}`) ? Number(arg(name, '')) : undefined);
// The BNS weight (for the weight's ablation) and the student LR (for its sweep).
const bnsWeight = optionalNumber('bns-weight');
const lrS = optionalNumber('lr-s');
// Which student each run keeps (lrq's --select; the preset's when absent).
const select = process.argv.includes('--select') ? (arg('select', '') as 'final' | 'synth-kl') : undefined;
// recon / recon-real (lrq-recon): the generator budget and the reconstruction's, when not the preset's.
const reconOverrides = {
  epochs: optionalNumber('epochs'), itersPerEpoch: optionalNumber('iters-per-epoch'), reconIters: optionalNumber('recon-iters'),
  reconImages: optionalNumber('recon-images'), reconDrop: optionalNumber('recon-drop'), firstLast8bit: process.argv.includes('--first-last-8bit') || undefined,
  reconRefineIters: optionalNumber('recon-refine-iters'), reconRefineLr: optionalNumber('recon-refine-lr'),
};
const methods = arg('methods', 'fp,naive,naive-lrg,lrq,gdfq,real').split(',');
const model = arg('model', join(DATA, 'models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx'));
const evalData = arg('eval-data', join(DATA, 'cifar10/cifar10-test-yoongikim-jpeg-q75.bin'));
const calibData = arg('calib-data', join(DATA, 'cifar10/cifar10-train5k-yoongikim-jpeg-q75.bin'));
// --mean/--std (together): the input normalization when the model's metadata has none.
if (process.argv.includes('--mean') !== process.argv.includes('--std')) throw new LrqError('bench: --mean and --std go together');
const mean = process.argv.includes('--mean') ? parseTriple(arg('mean', ''), '--mean') : undefined;
const std = process.argv.includes('--std') ? parseTriple(arg('std', ''), '--std') : undefined;
const out = arg('out', join('runs', `bench-${preset}-w${wbits}a${abits}`));
mkdirSync(out, { recursive: true });

interface Row { method: string; wbits: number; abits: number; top1: number | null; error?: string; fp_top1: number; minutes: number; preset: string; backend: string; threads: number }
const rows: Row[] = [];
const teacher = loadOnnx(model);
const info = describeTeacher(teacher, { model, mean, std });
const testSet = openDataset(evalData, { normalization: info.normalization, size: info.size, channels: info.channels, numClasses: info.numClasses });
let fpTop1 = NaN;

/** Record one method's result; top1 null with `error` when its run stopped. */
function emit(method: string, top1: number | null, t0: number, error?: string): void {
  const row: Row = { method, wbits, abits, top1: top1 === null ? null : +top1.toFixed(2), error, fp_top1: +fpTop1.toFixed(2), minutes: +((Date.now() - t0) / 60000).toFixed(2), preset, backend: backend().name, threads: backend().threads() };
  rows.push(row);
  // JSON.stringify leaves out what is undefined: the overrides not given, and `error` of a finished run.
  appendFileSync(join(out, 'results.jsonl'), JSON.stringify({ ...row, bns_weight: bnsWeight, lr_s: lrS, select, at: new Date().toISOString() }) + '\n');
  if (json) process.stdout.write(JSON.stringify(row) + '\n');
  else if (row.top1 === null) process.stderr.write(`[bench] ${method}: stopped after ${row.minutes.toFixed(1)} min: ${error}\n`);
  else process.stderr.write(`[bench] ${method}: top-1 ${row.top1.toFixed(2)}% in ${row.minutes.toFixed(1)} min\n`);
}

{
  const t0 = Date.now();
  fpTop1 = evaluate(teacher, testSet).top1 * 100;
  if (methods.includes('fp')) emit('fp', fpTop1, t0);
}

// naive: GDFQ generator; naive-lrg: the long-range generator, whose untrained bare-LKA output is near flat.
for (const [name, longRange] of [['naive', false], ['naive-lrg', true]] as const) {
  if (!methods.includes(name)) continue;
  const t0 = Date.now();
  const student = naiveCalibrate(loadOnnx(model), { wbits, abits, longRange, seed, numClasses: info.numClasses, imgSize: info.size[0], channels: info.channels });
  emit(name, evaluate(student, testSet).top1 * 100, t0);
}

for (const method of ['lrq', 'gdfq', 'real', 'recon', 'recon-real'] as const) {
  if (!methods.includes(method)) continue;
  const t0 = Date.now();
  const dir = join(out, method);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  try {
    const s = await quantize({
      model, out: dir, preset, wbits, abits, seed, evalData, bnsWeight, lrS, select, mean, std,
      method: method === 'real' ? 'lrq' : method === 'recon' || method === 'recon-real' ? 'lrq-recon' : method,
      ...(method === 'real' || method === 'recon-real' ? { calibData } : {}),
      ...(method.startsWith('recon') ? reconOverrides : {}),
      progress: process.stderr.isTTY, report: true, export: true,
    });
    emit(method, s.quantTop1!, t0);
  } catch (e) {
    if (!(e instanceof LrqError)) throw e;
    emit(method, null, t0, e.message);
  }
}

if (!json) {
  const pad = (s: string, n: number) => s.padEnd(n);
  const what = process.argv.includes('--model') || process.argv.includes('--eval-data') ? `${basename(model)} on ${basename(evalData)}` : 'ResNet-20 CIFAR-10 (JPEG q75)';
  process.stdout.write(`\n${what}, W${wbits}A${abits}, preset ${preset}, ${backend().name} backend, ${backend().threads()} threads, normalization mean ${info.normalization.mean.join(',')} std ${info.normalization.std.join(',')}\n`);
  process.stdout.write(`${pad('method', 8)} ${pad('top-1 %', 9)} ${pad('drop', 7)} minutes\n`);
  for (const r of rows) {
    const [top1, drop] = r.top1 === null ? ['stopped', '—'] : [r.top1.toFixed(2), (r.fp_top1 - r.top1).toFixed(2)];
    process.stdout.write(`${pad(r.method, 8)} ${pad(top1, 9)} ${pad(drop, 7)} ${r.minutes.toFixed(1)}\n`);
  }
}
if (rows.some((r) => r.top1 === null)) process.exitCode = 1;
