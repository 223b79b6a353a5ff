// BRECQ-style block reconstruction of a prepared (fake-quantized) student against its FP teacher on a fixed
// set of images: block by block, the student's block fed the quantized student's output of the blocks before
// it learns AdaRound weight rounding and LSQ activation steps (QDrop optional) to match the teacher's output
// of the same block; then the hard-rounded weights and learned ranges are written back into the student
// (a fixed range, the deploy input's pixel range, is kept as it is).
// Rule: what is learned lives in the student's own quantizers, so after each block the student's ordinary
// forward (and the export) computes exactly the reconstructed function.

import { Tensor, noGrad } from '../../engine/tensor.js';
import { LrqError, NonFiniteError } from '../../engine/errors.js';
import * as ops from '../../engine/ops/index.js';
import { Rng } from '../../engine/random.js';
import { backend } from '../../engine/backend.js';
import type { GraphModule } from '../../io/onnx/index.js';
import { Adam } from '../../nn/optim/adam.js';
import { setCalibration } from '../../quant/prepare.js';
import { AdaRound, roundBeta } from './adaround.js';
import { LsqAct } from './lsq.js';
import { type Block, reconBlocks } from './blocks.js';
import { clipWeightsMse } from './weight_clip.js';

/** Options of reconstruct(). */
export interface ReconOptions {
  /** Adam iterations per block. */
  iters: number;
  batchSize: number;
  /** QDrop: probability of leaving an activation element unquantized (and taking the FP input) while learning; 0 = off (BRECQ). */
  drop: number;
  /**
   * Adam learning rates of the rounding logits V (default min(0.05, 20/iters): BRECQ's 1e-3 at its 20,000
   * iterations, and large enough at a few hundred for V to cross 0 — h(V) starts at the weight's fraction,
   * |V| ≤ 2.4) and of the LSQ steps (default 1e-4, cosine-decayed to 0).
   */
  lrRound?: number;
  lrStep?: number;
  /** λ of the rounding regularizer and the fraction of iterations before it starts. */
  roundWeight?: number;
  warmup?: number;
  seed: number;
  /** Clamp each weight row to its MSE-optimal clipped range before learning the rounding (weight_clip.ts); default on. */
  weightClip?: boolean;
  /** Reconstruct only the first k blocks (tests; default all). */
  blocks?: number;
  /** Called after each block (progress lines, logs); awaited, so it may also stop the run by throwing. */
  onBlock?: (r: BlockReport, index: number, total: number) => void | Promise<void>;
  /** Called every `every` iterations inside a block. */
  onIter?: (block: number, iter: number, loss: number) => void;
}

/** What one block's reconstruction did. */
export interface BlockReport {
  from: string;
  to: string;
  modules: string[];
  weights: number;
  acts: number;
  /** Reconstruction loss on a fixed subset with nearest rounding and MSE-initialized ranges (before) and hard learned (after). */
  before: number;
  after: number;
  /** Weights whose code re-derived by the layer's own quantizer differs from AdaRound's (0 expected). */
  mismatches: number;
  seconds: number;
}

/** Rows `idx` of a [N, …] array as a tensor (the backend's row gather: pooled output under oneDNN). */
function gather(data: Float32Array, shape: readonly number[], idx: ArrayLike<number>): Tensor {
  const per = data.length / shape[0]!;
  return new Tensor(backend().gatherRows(data, per, Int32Array.from(idx)), [idx.length, ...shape.slice(1)]);
}

/** f over all rows of x in chunks (no grad), outputs concatenated along axis 0. */
function mapRows(x: Tensor, chunk: number, f: (t: Tensor) => Tensor): Tensor {
  const n = x.shape[0]!;
  const parts: Tensor[] = [];
  noGrad(() => {
    for (let i = 0; i < n; i += chunk) {
      const idx = Array.from({ length: Math.min(chunk, n - i) }, (_, k) => i + k);
      parts.push(f(gather(x.data as Float32Array, x.shape, idx)));
    }
  });
  const per = parts[0]!.size / parts[0]!.shape[0]!;
  const out = new Float32Array(per * n);
  let off = 0;
  for (const p of parts) {
    out.set(p.data as Float32Array, off);
    off += p.size;
  }
  return new Tensor(out, [n, ...parts[0]!.shape.slice(1)]);
}

/** Reconstruction loss ‖out − target‖² summed over channels (axis 1), averaged over batch and positions. */
export function reconLoss(out: Tensor, target: Tensor): Tensor {
  const d = ops.sub(out, target);
  const channels = out.ndim > 1 ? out.shape[1]! : 1;
  return ops.mul(ops.sum(ops.mul(d, d)), channels / out.size);
}

/**
 * Reconstruct every block of `student` (prepared, eval mode) against `teacher` on `images` [N, C, H, W]:
 * per block min over V, Δ of ‖S_b(x_S) − T_b(x_T)‖² + λ·Σ(1 − |2h(V) − 1|^β), x_S the quantized student's
 * input to the block, then hard rounding written back. Returns one report per block.
 */
export async function reconstruct(teacher: GraphModule, student: GraphModule, images: Tensor, o: ReconOptions): Promise<BlockReport[]> {
  if (images.ndim !== 4 || images.shape[0]! < 1) throw new LrqError(`reconstruction: images must be a non-empty [N, C, H, W] batch, got [${images.shape.join(', ')}]`);
  if (!Number.isInteger(o.iters) || o.iters < 1) throw new LrqError(`reconstruction: iterations ${o.iters} must be a positive integer`);
  if (!(o.drop >= 0 && o.drop < 1)) throw new LrqError(`reconstruction: drop probability ${o.drop} must be in [0, 1)`);
  const lrRound = o.lrRound ?? Math.min(5e-2, 20 / o.iters), lrStep = o.lrStep ?? 1e-4, lambda = o.roundWeight ?? 0.01, warmup = o.warmup ?? 0.2;
  const rng = new Rng(o.seed);
  teacher.eval();
  student.eval();
  setCalibration(student, false);
  const frozen = [...teacher.parameters(), ...student.parameters()].map((p) => [p, p.requiresGrad] as const);
  for (const [p] of frozen) p.requiresGrad = false;
  const blocks = reconBlocks(student).slice(0, o.blocks ?? Infinity);
  const n = images.shape[0]!;
  const bs = Math.min(o.batchSize, n);
  const probe = Array.from({ length: Math.min(n, 256) }, (_, i) => i);
  let tIn = images, sIn = images;
  const reports: BlockReport[] = [];
  try {
    for (let b = 0; b < blocks.length; b++) {
      const blk: Block = blocks[b]!;
      const t0 = Date.now();
      const tOut = mapRows(tIn, 128, (x) => teacher.forwardRange(blk.from, x, blk.to));
      // a fixed range (the deploy input's pixel range) is not learned: it is the exact range of every real input
      const lsq = blk.acts.filter((a) => !a.rangeFixed).map((a) => new LsqAct(a, o.drop, rng));
      for (const l of lsq) l.attach();
      const run = (x: Tensor) => student.forwardRange(blk.from, x, blk.to);
      if (o.weightClip ?? true) for (const w of blk.weights) clipWeightsMse(w);
      // before: nearest rounding, LSQ steps initialized from the MSE-optimal range of this probe batch
      const probeIn = gather(sIn.data as Float32Array, sIn.shape, probe);
      const probeT = gather(tOut.data as Float32Array, tOut.shape, probe);
      const before = noGrad(() => reconLoss(run(probeIn), probeT).item());
      const ada = blk.weights.map((w) => new AdaRound(w));
      const layers = blk.weights as unknown as { quantizedWeight?: () => Tensor }[];
      ada.forEach((a, i) => (layers[i]!.quantizedWeight = () => a.weight()));
      const opt = new Adam([{ params: ada.map((a) => a.v), lr: lrRound }, { params: lsq.map((l) => l.step), lr: lrStep }], { lr: lrRound });
      try {
        for (let t = 0; t < o.iters; t++) {
          const idx = rng.integers(0, n, bs);
          let x = gather(sIn.data as Float32Array, sIn.shape, idx);
          if (o.drop > 0 && b > 0) {
            // QDrop on the block input: each element from the FP teacher's input with probability `drop`
            const xf = gather(tIn.data as Float32Array, tIn.shape, idx);
            const m = rng.bernoulliMask(x.size, o.drop, backend().bernoulliMask);
            x = new Tensor(backend().selectMask(m, xf.data, x.data), x.shape);
          }
          for (const l of lsq) l.dropping = o.drop > 0;
          const target = gather(tOut.data as Float32Array, tOut.shape, idx);
          const rec = reconLoss(run(x), target);
          const { on, beta } = roundBeta(t, o.iters, warmup);
          let loss = rec;
          if (on && ada.length) loss = ops.add(rec, ops.mul(ada.map((a) => a.roundLoss(beta)).reduce((p, q) => ops.add(p, q)), lambda));
          const lv = loss.item();
          if (!Number.isFinite(lv)) throw new NonFiniteError(`reconstruction loss of block ${b + 1} became ${lv} at iteration ${t + 1}`);
          opt.zeroGrad();
          loss.backward();
          opt.paramGroups[1]!.lr = lrStep * 0.5 * (1 + Math.cos((Math.PI * (t + 1)) / o.iters));
          opt.step();
          o.onIter?.(b, t, rec.item());
        }
      } finally {
        for (const l of lsq) l.dropping = false;
        for (const a of ada) a.soft = false;
      }
      const mismatches = ada.reduce((s, a) => s + a.writeBack(), 0);
      for (const l of layers) delete l.quantizedWeight;
      for (const l of lsq) l.detach();
      const after = noGrad(() => reconLoss(run(probeIn), probeT).item());
      sIn = mapRows(sIn, 128, run);
      tIn = tOut;
      const r: BlockReport = { from: blk.from, to: blk.to, modules: blk.modules, weights: blk.weights.length, acts: blk.acts.length, before, after, mismatches, seconds: (Date.now() - t0) / 1000 };
      reports.push(r);
      await o.onBlock?.(r, b, blocks.length);
    }
  } finally {
    for (const [p, f] of frozen) p.requiresGrad = f;
  }
  return reports;
}
