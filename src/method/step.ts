// One iteration of the training loop (spec §3.5) in its two halves — the generator step and the student
// step — shared by the loop (train.ts) and the step benchmark (bench/engine), so both run the same code.
// Rule: the only randomness is the Rng passed in, drawn in a fixed order (z, then y); losses are checked
// for NaN/Inf before any update, so a failing step leaves the weights as they were.

import { Tensor, noGrad } from '../engine/tensor.js';
import { LrqError, NonFiniteError } from '../engine/errors.js';
import * as ops from '../engine/ops/index.js';
import type { Rng } from '../engine/random.js';
import { Adam } from '../nn/optim/adam.js';
import { SGD } from '../nn/optim/sgd.js';
import type { BatchNorm2d, Linear } from '../nn/layers/index.js';
import type { GraphModule } from '../io/onnx/index.js';
import type { Generator } from '../models/generator.js';
import { bnsLoss } from './losses/bns.js';
import { amaLoss } from './losses/ama.js';
import { dkdLoss } from './losses/dkd.js';
import { kdLoss } from './losses/kd.js';
import type { QuantizeConfig } from './config.js';
import { mixPairs } from './mix.js';
import { argmaxRows } from './evaluate.js';

/** Everything a step reads: the config, the three networks and their optimizers. */
export interface StepParts {
  cfg: QuantizeConfig;
  teacher: GraphModule;
  student: GraphModule;
  /** The generator and its optimizer (null in real-data mode). */
  generator: Generator | null;
  optG: Adam | null;
  optS: SGD;
  /** The teacher's last Gemm/MatMul (AMA's class centres), when found. */
  classifier: Linear | null;
  /** The teacher's BatchNorm layers (BNS loss). */
  bns: BatchNorm2d[];
  numClasses: number;
}

/** Build StepParts: freeze the teacher, Nesterov SGD for the student, Adam for the generator (spec §1.6). */
export function stepParts(cfg: QuantizeConfig, teacher: GraphModule, student: GraphModule, generator: Generator | null, numClasses: number): StepParts {
  for (const prm of teacher.parameters()) prm.requiresGrad = false;
  const optS = new SGD(student.parameters(), { lr: cfg.lrS, momentum: cfg.momentum, nesterov: true, weightDecay: cfg.weightDecay });
  const optG = generator ? new Adam(generator.parameters(), { lr: cfg.lrG, betas: cfg.adamBetas, eps: 1e-8 }) : null;
  const classifier = teacher.classifierPath ? (teacher.getSubmodule(teacher.classifierPath) as Linear) : null;
  if (cfg.ama && !classifier) throw new LrqError(`${cfg.model}: AMA needs the classifier's last Gemm/MatMul with a constant weight; none found (use --no-ama)`);
  return { cfg, teacher, student, generator, optG, optS, classifier, bns: teacher.bnLayers(), numClasses };
}

/** Throw NonFiniteError when a loss is NaN or ±Inf (the loop adds where, and that the checkpoint is intact). */
function assertFinite(values: Record<string, number>): void {
  for (const [k, v] of Object.entries(values)) if (!Number.isFinite(v)) throw new NonFiniteError(`${k} became ${v}`);
}

/**
 * Throw NonFiniteError naming the first parameter (full path, e.g. layer1.0.conv1.weight) whose gradient
 * holds NaN/Inf: a finite loss can still overflow in backward.
 */
export function assertFiniteGrads(what: string, params: Iterable<[string, Tensor]>): void {
  for (const [name, p] of params) {
    const d = p.grad?.data;
    if (!d) continue;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) throw new NonFiniteError(`${what} gradient of ${name} became ${d[i]}`);
    }
  }
}

/**
 * Generator step: x = G(z, y) with z ~ N(0, I), y ~ U{0..C−1}; L_G = CE(T(x), y) (AMA-CE with --ama) +
 * λ·BNS(T); one Adam update. Returns the detached images, their labels and the teacher's detached logits.
 */
export function generatorStep(p: StepParts, rng: Rng, losses: Record<string, number>): { x: Tensor; y: Int32Array; t: Tensor } {
  const { cfg, teacher, generator, optG, classifier, bns } = p;
  if (!generator || !optG) throw new Error('generatorStep: no generator (real-data mode)');
  const z = rng.normal([cfg.batchSize, cfg.latentDim]);
  const y = rng.integers(0, p.numClasses, cfg.batchSize);
  for (const bn of bns) bn.captureStats = true;
  const x = generator.forward(z, y);
  const out = teacher.forward(x, { returnFeature: true });
  for (const bn of bns) bn.captureStats = false;
  const ce = cfg.ama
    ? amaLoss(out.logits, out.feature, classifier!.weight, classifier!.bias ?? null, y, { variant: cfg.amaVariant, margin: cfg.amaMargin, scale: cfg.amaScale, sign: cfg.amaSign })
    : ops.crossEntropy(out.logits, y);
  const bn = bnsLoss(bns);
  const lossG = ops.add(ce, ops.mul(bn, cfg.bnsWeight));
  losses['lossG'] = lossG.item();
  losses['ce'] = ce.item();
  losses['bns'] = bn.item();
  assertFinite({ 'generator loss': losses['lossG']! });
  generator.zeroGrad();
  lossG.backward();
  assertFiniteGrads('generator', generator.namedParameters());
  optG.step();
  return { x: x.detach(), y, t: out.logits.detach() };
}

/**
 * --mix-student p: the first round(p·B) rows of x become pair mixes λ·x_i + (1 − λ)·x_{i+1} (mixPairs),
 * the teacher is run on the batch again and each mixed row takes the teacher's top class as its label, so
 * CE and DKD distil the teacher's view of the space between two generated images; other rows keep y.
 */
export function mixStudentBatch(p: StepParts, x: Tensor, y: Int32Array, rng: Rng): { x: Tensor; y: Int32Array; t: Tensor } {
  const rows = Math.round(p.cfg.mixStudent * x.shape[0]!);
  const xm = mixPairs(x, rng, rows);
  const t = noGrad(() => p.teacher.forward(xm));
  const top = argmaxRows(t.data, rows, t.shape[1]!);
  const ym = Int32Array.from(y);
  ym.set(top); // rows < `rows` take the teacher's class
  return { x: xm, y: ym, t };
}

/** L_S = w_ce·CE(S(x), y) + ramp·DKD(S(x), t) (or classic KD) on the student as it is (a taped graph). */
export function studentLoss(p: StepParts, x: Tensor, y: Int32Array, t: Tensor, ramp: number): { loss: Tensor; ce: Tensor; kd: Tensor } {
  const { cfg, student } = p;
  const s = student.forward(x);
  const ce = ops.crossEntropy(s, y);
  const kd = cfg.distill === 'dkd'
    ? ops.mul(dkdLoss(s, t, y, { alpha: cfg.dkdAlpha, beta: cfg.dkdBeta, temperature: cfg.dkdTemperature }), ramp)
    : kdLoss(s, t, { temperature: cfg.kdTemperature, alpha: cfg.kdAlpha, reduction: cfg.kdReduction });
  return { loss: ops.add(ops.mul(ce, cfg.ceWeight), kd), ce, kd };
}

/**
 * Student step on fixed images: L_S = w_ce·CE(S(x), y) + ramp·DKD(S(x), t) (or classic KD); one SGD update
 * when `update`, else the loss alone (no graph; the generator-only warm-up still reports it).
 */
export function studentStep(p: StepParts, x: Tensor, y: Int32Array, t: Tensor, ramp: number, update: boolean, losses: Record<string, number>): void {
  const { student, optS } = p;
  if (update) {
    const { loss, kd } = studentLoss(p, x, y, t, ramp);
    losses['lossS'] = loss.item();
    losses['kd'] = kd.item();
    assertFinite({ 'student loss': losses['lossS']! });
    student.zeroGrad();
    loss.backward();
    assertFiniteGrads('student', student.namedParameters());
    optS.step();
  } else {
    const { loss } = noGrad(() => studentLoss(p, x, y, t, ramp));
    losses['lossS'] = loss.item();
  }
}
