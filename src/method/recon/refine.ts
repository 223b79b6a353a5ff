// Genie/ZeroQ-style refinement of a fixed synthetic set against the frozen teacher: each batch of images
// (the generator's draws) is optimized directly in pixel space so that its own per-layer BN input
// statistics match the teacher's running statistics and the teacher still classifies it as its label.
// Rule: the teacher is never updated (its parameters are frozen here and restored after), and the images
// move only through Adam on L = BNS(T; x) + w·CE(T(x), y); every batch is refined independently, in order,
// so the result depends only on the images, labels and options.

import { Tensor } from '../../engine/tensor.js';
import { LrqError, NonFiniteError } from '../../engine/errors.js';
import * as ops from '../../engine/ops/index.js';
import type { GraphModule } from '../../io/onnx/index.js';
import { Parameter } from '../../nn/module.js';
import { Adam } from '../../nn/optim/adam.js';
import { bnsLoss } from '../losses/bns.js';

/** Options of refineImages(). */
export interface RefineOptions {
  /** Adam iterations per batch (0 = no refinement). */
  iters: number;
  /** Images optimized together (their batch statistics are what BNS matches). */
  batchSize: number;
  /** Adam learning rate on the (normalized) pixels, cosine-decayed to 0. */
  lr: number;
  /** Weight of the CE term (the label the image was drawn for). */
  ceWeight: number;
  /** Called after each batch with its final losses. */
  onBatch?: (batch: number, batches: number, bns: number, ce: number) => void | Promise<void>;
}

/** The row range [a, b) of a [N, …] tensor as a fresh tensor. */
function rows(x: Tensor, a: number, b: number): Float32Array {
  const per = x.size / x.shape[0]!;
  return (x.data as Float32Array).slice(a * per, b * per);
}

/**
 * Refine `images` [N, C, H, W] with labels y in place of a copy: per batch min_x BNS(T; x) + w·CE(T(x), y)
 * by Adam (lr cosine-decayed over `iters`); returns the refined images (same shape) and the mean final losses.
 */
export async function refineImages(teacher: GraphModule, images: Tensor, y: Int32Array, o: RefineOptions): Promise<{ images: Tensor; bns: number; ce: number }> {
  const n = images.shape[0]!;
  if (images.ndim !== 4 || y.length !== n) throw new LrqError(`refine: images [${images.shape.join(', ')}] need one label each, got ${y.length}`);
  if (!Number.isInteger(o.iters) || o.iters < 0) throw new LrqError(`refine: iterations ${o.iters} must be a non-negative integer`);
  const out = new Float32Array(images.data as Float32Array);
  if (o.iters === 0) return { images: new Tensor(out, images.shape), bns: NaN, ce: NaN };
  const bns = teacher.bnLayers();
  const frozen = teacher.parameters().map((p) => [p, p.requiresGrad] as const);
  for (const [p] of frozen) p.requiresGrad = false;
  teacher.eval();
  const per = images.size / n;
  const bs = Math.min(o.batchSize, n);
  const batches = Math.ceil(n / bs);
  let sumB = 0, sumC = 0;
  try {
    for (let k = 0; k < batches; k++) {
      const a = k * bs, b = Math.min(n, a + bs);
      const x = new Parameter(new Tensor(rows(images, a, b), [b - a, ...images.shape.slice(1)]));
      const yb = y.subarray(a, b);
      const opt = new Adam([x], { lr: o.lr, betas: [0.9, 0.999], eps: 1e-8 });
      let lb = NaN, lc = NaN;
      for (let t = 0; t < o.iters; t++) {
        for (const bn of bns) bn.captureStats = true;
        const logits = teacher.forward(x);
        for (const bn of bns) bn.captureStats = false;
        const lB = bnsLoss(bns);
        const lC = ops.crossEntropy(logits, yb);
        const loss = ops.add(lB, ops.mul(lC, o.ceWeight));
        lb = lB.item();
        lc = lC.item();
        if (!Number.isFinite(lb + lc)) throw new NonFiniteError(`image refinement loss became ${lb + o.ceWeight * lc} in batch ${k + 1}, iteration ${t + 1}`);
        x.grad = null;
        loss.backward();
        opt.paramGroups[0]!.lr = o.lr * 0.5 * (1 + Math.cos((Math.PI * t) / o.iters));
        opt.step();
      }
      out.set(x.data as Float32Array, a * per);
      sumB += lb * (b - a);
      sumC += lc * (b - a);
      await o.onBatch?.(k, batches, lb, lc);
    }
  } finally {
    for (const [p, f] of frozen) p.requiresGrad = f;
    for (const bn of bns) bn.lastStats = null;
  }
  return { images: new Tensor(out, images.shape), bns: sumB / n, ce: sumC / n };
}
