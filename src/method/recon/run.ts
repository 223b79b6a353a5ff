// Method lrq-recon: train LRQ's long-range generator against the frozen teacher (AMA-CE + λ·BNS, the
// generator half of step.ts) for epochs × itersPerEpoch iterations, draw a fixed calibration set from it,
// optionally refine those images against BNS + CE (refine.ts; real-data mode: a seeded subset of
// --calib-data instead), observe initial activation ranges on it, then
// reconstruct the student block by block (reconstruct.ts). Rule: the same TrainParts in and TrainResult
// out as train(), so the run around it (config, evaluation, artifacts, export, report) is unchanged.

import { join } from 'node:path';
import { Tensor, noGrad } from '../../engine/tensor.js';
import { LrqError, NonFiniteError } from '../../engine/errors.js';
import { Rng } from '../../engine/random.js';
import { JsonlLog } from '../../io/jsonl.js';
import type { GraphModule } from '../../io/onnx/index.js';
import type { Generator } from '../../models/generator.js';
import { setCalibration } from '../../quant/prepare.js';
import { evaluate } from '../evaluate.js';
import { InterruptedError, yieldToSignals } from '../interrupt.js';
import { gatherBatch } from '../realdata.js';
import { generatorStep, stepParts } from '../step.js';
import type { TrainParts, TrainResult } from '../train.js';
import { reconstruct } from './reconstruct.js';
import { refineImages } from './refine.js';

/** n images x = G(z, y), z ~ N(0, I), y ~ U{0..C−1}, in batches of `bs` (generator in train mode, as it was trained), with their labels y. */
export function drawSynthetic(generator: Generator, n: number, bs: number, latentDim: number, numClasses: number, rng: Rng): { x: Tensor; y: Int32Array } {
  const parts: Tensor[] = [];
  const y = new Int32Array(n);
  generator.train();
  noGrad(() => {
    for (let i = 0; i < n; i += bs) {
      const m = Math.min(bs, n - i);
      const z = rng.normal([m, latentDim]);
      const yb = rng.integers(0, numClasses, m);
      y.set(yb, i);
      parts.push(generator.forward(z, yb));
    }
  });
  const per = parts[0]!.size / parts[0]!.shape[0]!;
  const out = new Float32Array(per * n);
  parts.forEach((p, k) => out.set(p.data as Float32Array, k * bs * per));
  return { x: new Tensor(out, [n, ...parts[0]!.shape.slice(1)]), y };
}

/** Observe the student's activation ranges (its own observers, eval mode) on `images` in chunks of 128, then freeze them. */
export function observeRanges(student: GraphModule, images: Tensor): void {
  student.eval();
  setCalibration(student, true);
  noGrad(() => {
    const n = images.shape[0]!, per = images.size / n;
    for (let i = 0; i < n; i += 128) {
      const m = Math.min(128, n - i);
      student.forward(new Tensor((images.data as Float32Array).slice(i * per, (i + m) * per), [m, ...images.shape.slice(1)]));
    }
  });
  setCalibration(student, false);
}

/** Run lrq-recon on the parts of a quantize() run; returns what train() returns (no best epoch: one student). */
export async function reconRun(p: TrainParts): Promise<TrainResult> {
  const { cfg, teacher, student, generator, runDir, progress } = p;
  if (cfg.resume) throw new LrqError(`${runDir}: lrq-recon writes no checkpoints, so --resume cannot continue it; run it again`);
  const t0 = Date.now();
  const log = new JsonlLog(join(runDir, 'log.jsonl'));
  const rng = new Rng(cfg.seed);
  const stop = async (phase: string) => {
    await yieldToSignals();
    const sig = p.interrupt?.requested;
    if (sig) throw new InterruptedError(`stopped by ${sig} ${phase}; lrq-recon keeps no checkpoint — run the same command again`, sig);
  };

  // 1. the generator (data-free mode)
  let images: Tensor;
  if (generator) {
    const parts = stepParts(cfg, teacher, student, generator, p.numClasses);
    teacher.eval();
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const e0 = Date.now();
      const sums: Record<string, number> = {};
      for (let it = 0; it < cfg.itersPerEpoch; it++) {
        const losses: Record<string, number> = {};
        generator.train();
        try {
          generatorStep(parts, rng, losses);
        } catch (e) {
          if (e instanceof NonFiniteError) throw new LrqError(`${e.message} at generator epoch ${epoch + 1}, iteration ${it + 1} (try a lower --lr-g)`);
          throw e;
        }
        for (const [k, v] of Object.entries(losses)) sums[k] = (sums[k] ?? 0) + v;
        if (it % 10 === 0 || it === cfg.itersPerEpoch - 1) log.write({ type: 'iter', epoch, iter: it, ...losses });
        progress.update({ epoch, epochs: cfg.epochs, iter: it, iters: cfg.itersPerEpoch, losses });
        if (p.interrupt) await stop('while training the generator');
      }
      const means = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / cfg.itersPerEpoch]));
      const seconds = (Date.now() - e0) / 1000;
      log.write({ type: 'epoch', epoch, ...means, top1: null, lrG: cfg.lrG, seconds });
      progress.epochLine({ epoch, epochs: cfg.epochs, iter: cfg.itersPerEpoch - 1, iters: cfg.itersPerEpoch, losses: means }, seconds);
    }
    const drawn = drawSynthetic(generator, cfg.reconImages, cfg.batchSize, cfg.latentDim, p.numClasses, rng);
    images = drawn.x;
    progress.message(`drew ${cfg.reconImages} calibration images from the generator (${((Date.now() - t0) / 1000).toFixed(0)} s so far)`);
    if (cfg.reconRefineIters > 0) {
      const f0 = Date.now();
      const r = await refineImages(teacher, images, drawn.y, {
        iters: cfg.reconRefineIters, batchSize: 128, lr: cfg.reconRefineLr, ceWeight: 1,
        onBatch: async (k, n, bns, ce) => {
          log.write({ type: 'refine-batch', batch: k, bns, ce });
          progress.message(`refined images ${Math.min((k + 1) * 128, cfg.reconImages)}/${cfg.reconImages}: BNS ${bns.toFixed(4)}, CE ${ce.toFixed(4)} (${((Date.now() - f0) / 1000).toFixed(0)} s)`);
          if (p.interrupt) await stop('while refining the images');
        },
      });
      images = r.images;
    }
  } else {
    const ds = p.calibSet!;
    const n = Math.min(cfg.reconImages, ds.size);
    const perm = new Rng(cfg.seed * 1000003 + 1).permutation(ds.size);
    images = gatherBatch(ds, Array.from(perm.slice(0, n))).x;
    progress.message(`real-data mode: ${n} calibration images from ${cfg.calibData}`);
  }

  // 2. initial activation ranges (LSQ then re-initializes each from the MSE-optimal range of its block input)
  observeRanges(student, images);

  // 3. block reconstruction
  const r0 = Date.now();
  const reports = await reconstruct(teacher, student, images, {
    iters: cfg.reconIters, batchSize: cfg.reconBatch, drop: cfg.reconDrop, seed: cfg.seed + 1,
    onBlock: async (r, i, total) => {
      log.write({ type: 'recon-block', block: i, ...r });
      const left = ((Date.now() - r0) / 1000 / (i + 1)) * (total - i - 1);
      progress.message(`block ${i + 1}/${total} (${r.modules[0]} … ${r.modules[r.modules.length - 1]}): loss ${r.before.toFixed(4)} → ${r.after.toFixed(4)}, ${r.seconds.toFixed(1)} s${r.mismatches ? `, ${r.mismatches} weight codes moved on write-back` : ''}${i + 1 < total ? `, ≈ ${Math.round(left)} s left` : ''}`);
      if (p.interrupt) await stop(`after reconstruction block ${i + 1}`);
    },
  });
  const mismatches = reports.reduce((s, r) => s + r.mismatches, 0);
  if (mismatches) progress.message(`warning: ${mismatches} weight codes differ between AdaRound and the re-quantized latent weights`);

  const finalEval = p.evalSet ? progress.evaluation(() => evaluate(student, p.evalSet!)) : null;
  if (finalEval) progress.message(`reconstructed student: top-1 ${(finalEval.top1 * 100).toFixed(2)}% on ${finalEval.n} images`);
  log.write({ type: 'recon', images: images.shape[0], blocks: reports.length, seconds: (Date.now() - r0) / 1000, top1: finalEval ? finalEval.top1 * 100 : null });
  return { bestTop1: null, bestEpoch: null, finalEval, seconds: (Date.now() - t0) / 1000 };
}
