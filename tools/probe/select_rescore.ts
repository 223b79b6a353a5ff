// Probe: how the data-free selection scores rank a finished run's epoch students against real top-1.
// Re-scores every <run>/epochs/student-eNNN.safetensors with the shipped selection code (src/method/
// select.ts) on a pair-mixed set from the run's final generator, and prints one JSON line per epoch:
// the epoch's real top-1 from log.jsonl beside KL at T = 4, KL at T = 1 and top-1 disagreement. Not a
// test; a measurement (the README's --select figures). A different set seed draws another set.
// `node --import tsx tools/probe/select_rescore.ts <runDir> [images=4000] [setSeed=run seed]`
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/engine/random.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { readJsonl } from '../../src/io/jsonl.js';
import { Generator } from '../../src/models/generator.js';
import { prepareQat, setCalibration } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import type { QuantizeConfig } from '../../src/method/config.js';
import { describeTeacher } from '../../src/method/quantize.js';
import { selectionSet, scoreModel, SELECT_SEED_OFFSET } from '../../src/method/select.js';

const [dir, imagesArg, seedArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: select_rescore.ts <runDir> [images] [setSeed]');
const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as QuantizeConfig;
const teacher = loadOnnx(cfg.model);
const info = describeTeacher(teacher, cfg);
const student = loadOnnx(cfg.model);
prepareQat(student, makeQConfig({ weightBits: cfg.wbits, actBits: cfg.abits, rangeMode: cfg.rangeMode, firstLastBits: cfg.firstLast8bit ? 8 : 'same' }));
setCalibration(student, false);
const generator = new Generator({
  numClasses: info.numClasses, latentDim: cfg.latentDim, imgSize: info.size[0], channels: info.channels,
  lkaPositions: cfg.lkaPositions, lkaForm: cfg.lkaForm, lkaResidual: cfg.lkaResidual, rng: new Rng(0),
});
generator.loadStateDict(readSafetensors(join(dir, 'generator.safetensors')).tensors);
const top1 = new Map<number, unknown>();
for (const r of readJsonl(join(dir, 'log.jsonl'))) if (r['type'] === 'epoch') top1.set(r['epoch'] as number, r['top1']);
const seed = (seedArg ? Number(seedArg) : cfg.seed) + SELECT_SEED_OFFSET;
const set = selectionSet(teacher, { generator, numClasses: info.numClasses, latentDim: cfg.latentDim }, Number(imagesArg ?? 4000), seed);
for (const f of readdirSync(join(dir, 'epochs')).sort()) {
  const epoch = Number(/e(\d+)/.exec(f)![1]) - 1;
  student.loadStateDict(readSafetensors(join(dir, 'epochs', f)).tensors);
  const s = scoreModel(student, set, 4);
  console.log(JSON.stringify({ epoch, top1: top1.get(epoch), kl4: +s.kl.toFixed(5), kl1: +s.kl1.toFixed(5), disagree: s.disagree }));
}
