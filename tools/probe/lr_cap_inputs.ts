// Probe for issue 19: which images should the curvature cap measure on? From a run's checkpoint (student,
// generator), λ̂ of the student loss on (a) the generator's batch, (b) the same batch mixed in pairs
// (mixPairs: less confident teacher outputs), (c) real train5k images — real λ is what the test accuracy
// feels. Usage: node --import tsx tools/probe/lr_cap_inputs.ts <runDir> [ramp]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { prepareQat, setCalibration } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { Generator } from '../../src/models/generator.js';
import { loadCheckpoint, unprefixed } from '../../src/method/checkpoint.js';
import { resolveConfig, type QuantizeConfig } from '../../src/method/config.js';
import { mixStudentBatch, stepParts } from '../../src/method/step.js';
import { openDataset } from '../../src/method/data.js';
import { probeStudentLrCap } from '../../src/method/lr_probe.js';

const [runDir, rampArg] = process.argv.slice(2);
const saved = JSON.parse(readFileSync(join(runDir!, 'config.json'), 'utf8')) as QuantizeConfig;
const cfg = resolveConfig({ ...saved, resume: false, progress: false } as never);
const teacher = loadOnnx(cfg.model), student = loadOnnx(cfg.model);
prepareQat(student, makeQConfig({ weightBits: cfg.wbits, actBits: cfg.abits, rangeMode: cfg.rangeMode, scheme: cfg.scheme }));
const g = new Generator({ numClasses: 10, latentDim: cfg.latentDim, imgSize: 32, channels: 3, lkaPositions: cfg.lkaPositions, lkaForm: cfg.lkaForm, lkaResidual: cfg.lkaResidual, rng: new Rng(1) });
const ck = loadCheckpoint(runDir!)!;
student.loadStateDict(unprefixed('S.', ck.tensors));
g.loadStateDict(unprefixed('G.', ck.tensors));
setCalibration(student, false);
teacher.eval(); student.eval(); g.train();
const parts = stepParts(cfg, teacher, student, g, 10);
const rng = new Rng(99), B = cfg.batchSize, ramp = Number(rampArg ?? 1);
const z = rng.normal([B, cfg.latentDim]), y = rng.integers(0, 10, B);
const xg = noGrad(() => g.forward(z, y));
const norm = cfg.mean ? { mean: cfg.mean, std: cfg.std! } : undefined;
const real = openDataset('/work/shared/data/cifar10/cifar10-train5k-yoongikim-jpeg-q75.bin', { normalization: norm as never, size: [32, 32], numClasses: 10 }).spread(B).batch(0, B);
const mixed = mixStudentBatch({ ...parts, cfg: { ...cfg, mixStudent: 1 } }, xg, y, new Rng(5)); // labels: the teacher's top class
const cases: [string, typeof xg, Int32Array][] = [['generated', xg, y], ['generated, pair-mixed', mixed.x, mixed.y], ['real train5k', real.x, real.y]];
for (const [name, x, yy] of cases) {
  const t = noGrad(() => teacher.forward(x));
  const t0 = Date.now();
  const { lambda, cap } = probeStudentLrCap(parts, x, yy, t, ramp, cfg.seed, 0);
  console.log(`${name}: λ̂ ${lambda.toExponential(3)} → cap ${cap.toExponential(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
