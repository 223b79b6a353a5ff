// Data-free choice of which epoch's student to keep (`--select synth-kl`): the students after each of the
// last K epochs are saved under <run>/epochs/, and at the end each is scored by its mean KL(teacher ‖
// student) on one fixed set of pair-mixed images from the final generator; the lowest wins. Rule: no real
// test image is read (real-data mode scores on its own calibration images), the set comes from its own
// seeded stream (the run's Rng is untouched), and every candidate sees the same images, so the scores
// compare like with like.

import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { type Tensor, noGrad } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import { Rng } from '../engine/random.js';
import type { GraphModule } from '../io/onnx/index.js';
import type { ImageDataset } from '../io/datasets/index.js';
import { readSafetensors } from '../io/safetensors.js';
import type { Generator } from '../models/generator.js';
import type { QuantizeConfig } from './config.js';
import { mixPairs } from './mix.js';
import { argmaxRows } from './evaluate.js';

/** Where the student of (0-based) `epoch` is kept: <run>/epochs/student-e<epoch+1>.safetensors. */
export function snapshotPath(runDir: string, epoch: number): string {
  return join(runDir, 'epochs', `student-e${String(epoch + 1).padStart(3, '0')}.safetensors`);
}

/** First candidate epoch (0-based): the last `selectEpochs`, and none before the student trains. */
export function selectFrom(cfg: Pick<QuantizeConfig, 'epochs' | 'warmupEpochs' | 'selectEpochs'>): number {
  return Math.max(cfg.warmupEpochs, cfg.epochs - cfg.selectEpochs);
}

/** Images and the teacher's logits on them, batch by batch. */
export interface SelectionSet {
  images: Tensor[];
  teacherLogits: Float32Array[];
  n: number;
}

const BATCH = 250;

/** The selection set's stream is Rng(seed + this): apart from the run's Rng(seed) and the generator's init. */
export const SELECT_SEED_OFFSET = 104729;

/**
 * The scoring set: n generated images x = G(z, y) (generator in eval mode; z ~ N(0, I), y ~ U{0..C−1} from
 * Rng(seed)) mixed in pairs (mixPairs: generated images are ones the teacher is sure of and the student
 * already agrees with — ≈ 0.3% top-1 disagreement after training — so their KL barely tells epochs apart;
 * between two classes the teacher's soft output has more to say), or, without a generator, n real images
 * spread over `real` (used as they are); with the teacher's logits T(x) for each.
 */
export function selectionSet(teacher: GraphModule, source: { generator: Generator; numClasses: number; latentDim: number } | { real: ImageDataset }, n: number, seed: number): SelectionSet {
  const set: SelectionSet = { images: [], teacherLogits: [], n: 0 };
  const rng = new Rng(seed);
  const gen = 'generator' in source ? source : null;
  const real = 'real' in source ? source.real.spread(Math.min(n, source.real.size)) : null;
  const total = real ? real.size : n;
  const wasG = gen?.generator.training ?? false;
  const wasT = teacher.training;
  teacher.eval();
  gen?.generator.eval();
  try {
    noGrad(() => {
      for (let s = 0; s < total; s += BATCH) {
        const b = Math.min(BATCH, total - s);
        const x = real
          ? real.batch(s, s + b).x
          : mixPairs(gen!.generator.forward(rng.normal([b, gen!.latentDim]), rng.integers(0, gen!.numClasses, b)), rng);
        set.images.push(x);
        set.teacherLogits.push(Float32Array.from(teacher.forward(x).data));
        set.n += b;
      }
    });
  } finally {
    gen?.generator.train(wasG);
    teacher.train(wasT);
  }
  return set;
}

/**
 * Σ_rows KL(softmax(t_r/T) ‖ softmax(s_r/T)) = Σ_r Σ_j p_t(j)·(log p_t(j) − log p_s(j)) at temperature T,
 * via log-sum-exp (no log of a probability), in float64: the engine's float32 klDiv(logSoftmax, softmax),
 * as kdLoss uses it, leaves ≈ 1e-8 of rounding on a student identical to the teacher, where this gives 0.
 */
export function klSum(t: ArrayLike<number>, s: ArrayLike<number>, rows: number, cols: number, temperature = 1): number {
  let total = 0;
  const a = new Float64Array(cols), c = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mt = -Infinity, ms = -Infinity;
    for (let j = 0; j < cols; j++) {
      a[j] = t[o + j]! / temperature;
      c[j] = s[o + j]! / temperature;
      mt = Math.max(mt, a[j]!);
      ms = Math.max(ms, c[j]!);
    }
    let zt = 0, zs = 0;
    for (let j = 0; j < cols; j++) { zt += Math.exp(a[j]! - mt); zs += Math.exp(c[j]! - ms); }
    const lzt = mt + Math.log(zt), lzs = ms + Math.log(zs);
    let kl = 0;
    for (let j = 0; j < cols; j++) {
      const lpt = a[j]! - lzt;
      kl += Math.exp(lpt) * (lpt - (c[j]! - lzs));
    }
    total += kl;
  }
  return total;
}

/** How a model matches the teacher on a selection set. */
export interface MatchScore {
  /** Mean KL(teacher ‖ model) at temperature T (the selection criterion). */
  kl: number;
  /** Mean KL at T = 1. */
  kl1: number;
  /** Fraction of images whose top-1 class differs from the teacher's. */
  disagree: number;
}

/** Mean KL(teacher ‖ model) at T and at 1, and top-1 disagreement, over the set (model run in eval mode). */
export function scoreModel(model: GraphModule, set: SelectionSet, temperature: number): MatchScore {
  const was = model.training;
  model.eval();
  let kl = 0, kl1 = 0, dis = 0;
  try {
    noGrad(() => {
      set.images.forEach((x, i) => {
        const s = model.forward(x);
        const t = set.teacherLogits[i]!;
        const rows = x.shape[0]!;
        if (s.size !== t.length) throw new LrqError(`select: the student outputs [${s.shape.join(', ')}], the teacher ${t.length / rows} classes per image`);
        const cols = t.length / rows;
        kl += klSum(t, s.data, rows, cols, temperature);
        kl1 += klSum(t, s.data, rows, cols, 1);
        const at = argmaxRows(t, rows, cols), as = argmaxRows(s.data, rows, cols);
        for (let r = 0; r < rows; r++) if (at[r] !== as[r]) dis++;
      });
    });
  } finally {
    model.train(was);
  }
  return { kl: kl / set.n, kl1: kl1 / set.n, disagree: dis / set.n };
}

/** One candidate's score. */
export interface SnapshotScore extends MatchScore {
  /** 0-based epoch whose end-of-epoch student was scored. */
  epoch: number;
}

/**
 * Score the saved students of `epochs` (those with a snapshot on disk) and leave the lowest-KL one loaded
 * in `student` (ties go to the later epoch). Returns every score and the winner.
 */
export function selectSnapshot(student: GraphModule, runDir: string, epochs: readonly number[], set: SelectionSet, temperature: number): { scores: SnapshotScore[]; best: SnapshotScore } {
  const scores: SnapshotScore[] = [];
  let best: { score: SnapshotScore; tensors: Map<string, Tensor> } | null = null;
  for (const epoch of epochs) {
    const p = snapshotPath(runDir, epoch);
    if (!existsSync(p)) continue;
    const tensors = readSafetensors(p).tensors;
    student.loadStateDict(tensors);
    const score = { epoch, ...scoreModel(student, set, temperature) };
    scores.push(score);
    if (!best || score.kl <= best.score.kl) best = { score, tensors }; // kept, so the winner is not read twice
  }
  if (!best) throw new LrqError(`${join(runDir, 'epochs')}: no student snapshots to select from (--select synth-kl saves one per candidate epoch)`);
  student.loadStateDict(best.tensors);
  return { scores, best: best.score };
}
