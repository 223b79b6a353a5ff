// Probe for lrq-recon's image source (issue 18): the stages of the method run separately with their images
// cached on disk, so reconstruction settings can be compared on the same synthetic set. Not a test.
//   gen <out.st> <iters> [images]            LRQ generator (AMA-CE + 3·BNS), then `images` draws + labels
//   refine <in.st> <out.st> <iters> <lr> <ce> pixel refinement against BNS + CE (src/method/recon/refine.ts)
//   real <out.st> [images]                    a seeded subset of train5k (the upper reference)
//   recon <in.st> <iters> <drop> <evalN> [bits|wbits,abits]   (default 4), paper scheme (SCHEME=deploy, FL8=1
//                                             for first/last at 8 bits); top-1 on evalN test images
import { Tensor } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { Generator } from '../../src/models/generator.js';
import { prepareQat } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { resolveConfig } from '../../src/method/config.js';
import { openDataset } from '../../src/method/data.js';
import { describeTeacher } from '../../src/method/quantize.js';
import { evaluate } from '../../src/method/evaluate.js';
import { gatherBatch } from '../../src/method/realdata.js';
import { generatorStep, stepParts } from '../../src/method/step.js';
import { drawSynthetic, observeRanges } from '../../src/method/recon/run.js';
import { refineImages } from '../../src/method/recon/refine.js';
import { reconstruct } from '../../src/method/recon/reconstruct.js';

const D = new URL('../../../shared/data/', import.meta.url).pathname;
const M = process.env['MODEL'] ?? `${D}models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx`;
const TEST = `${D}cifar10/cifar10-test-yoongikim-jpeg-q75.bin`;
const TRAIN = `${D}cifar10/cifar10-train5k-yoongikim-jpeg-q75.bin`;
const [stage, ...a] = process.argv.slice(2);
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(0);
const teacher = loadOnnx(M);
const info = describeTeacher(teacher, { model: M });
const dsOpts = { normalization: info.normalization, size: info.size, channels: info.channels, numClasses: info.numClasses };

function save(path: string, x: Tensor, y: Int32Array): void {
  writeSafetensors(path, { x, y: new Tensor(Float32Array.from(y), [y.length]) });
}
function load(path: string): { x: Tensor; y: Int32Array } {
  const f = readSafetensors(path);
  const x = f.tensors.get('x')!, y = f.tensors.get('y')!;
  return { x, y: Int32Array.from(y.data as Float32Array) };
}

if (stage === 'gen') {
  const [out, iters, images = '1024'] = a;
  const cfg = resolveConfig({ model: M, out: '/tmp/unused', preset: 'fast', method: 'lrq-recon', progress: false });
  const gen = new Generator({ numClasses: info.numClasses, latentDim: cfg.latentDim, imgSize: info.size[0], channels: info.channels, lkaPositions: cfg.lkaPositions, rng: new Rng(cfg.seed + 7919) });
  const student = loadOnnx(M);
  prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4 }));
  const parts = stepParts(cfg, teacher, student, gen, info.numClasses);
  teacher.eval();
  const rng = new Rng(cfg.seed);
  for (let it = 0; it < Number(iters); it++) {
    const l: Record<string, number> = {};
    gen.train();
    generatorStep(parts, rng, l);
    if (it % 50 === 0) console.log(`gen ${it} ${JSON.stringify(l)} ${secs()} s`);
  }
  const n = Number(images);
  const yRng = new Rng(cfg.seed + 5);
  const { x, y } = drawSynthetic(gen, n, cfg.batchSize, cfg.latentDim, info.numClasses, yRng);
  save(out!, x, y);
  console.log(`gen done ${secs()} s`);
} else if (stage === 'refine') {
  const [inp, out, iters, lr, ce] = a;
  const { x, y } = load(inp!);
  const r = await refineImages(teacher, x, y, { iters: Number(iters), batchSize: 128, lr: Number(lr), ceWeight: Number(ce), onBatch: (k, n, b, c) => console.log(`refine batch ${k + 1}/${n} bns ${b.toFixed(4)} ce ${c.toFixed(4)} ${secs()} s`) });
  save(out!, r.images, y);
  console.log(`refine done bns ${r.bns.toFixed(4)} ce ${r.ce.toFixed(4)} ${secs()} s`);
} else if (stage === 'real') {
  const [out, images = '1024'] = a;
  const ds = openDataset(TRAIN, dsOpts);
  const perm = new Rng(1000003 + 1).permutation(ds.size);
  const b = gatherBatch(ds, Array.from(perm.slice(0, Number(images))));
  save(out!, b.x, Int32Array.from(b.y));
} else if (stage === 'recon') {
  const [inp, iters, drop, evalN, bits = '4'] = a;
  const { x } = load(inp!);
  const student = loadOnnx(M);
  const [wb, ab] = bits.includes(',') ? bits.split(',').map(Number) as [number, number] : [Number(bits), Number(bits)];
  prepareQat(student, makeQConfig({ weightBits: wb, actBits: ab, rangeMode: 'plain-ema', firstLastBits: process.env['FL8'] === '1' ? 8 : 'same', scheme: (process.env['SCHEME'] as 'paper' | 'deploy') ?? 'paper' }));
  observeRanges(student, x);
  await reconstruct(teacher, student, x, {
    iters: Number(iters), batchSize: 32, drop: Number(drop), seed: 1, weightClip: process.env['WCLIP'] !== '0', blocks: process.env['BLOCKS'] ? Number(process.env['BLOCKS']) : undefined,
    onBlock: (r, i, n) => console.log(`block ${i + 1}/${n} ${r.before.toFixed(4)} → ${r.after.toFixed(4)} ${r.seconds.toFixed(0)} s`),
  });
  const ev = openDataset(TEST, dsOpts).spread(Number(evalN));
  const fp = evaluate(teacher, ev), q = evaluate(student, ev);
  console.log(`RESULT ${inp} iters ${iters} drop ${drop} W${wb}A${ab}${process.env['FL8'] === '1' ? ' (first/last 8-bit)' : ''}: FP ${(fp.top1 * 100).toFixed(2)} quant ${(q.top1 * 100).toFixed(2)} on ${q.n} (${secs()} s)`);
} else {
  console.error('stages: gen | refine | real | recon');
  process.exit(2);
}
