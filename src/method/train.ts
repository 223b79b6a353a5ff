// The training loop (spec §1.6 / §3.5, online GDFQ style): per iteration a generator step (teacher CE or
// AMA-CE + λ·BNS, Adam), then a student step on the detached images (CE + DKD or KD, Nesterov SGD);
// generator-only warm-up, activation-range calibration epochs, multi-step LR, per-epoch evaluation,
// checkpoints every N iterations; with --ema-decay, an average of the student's weights is what is
// evaluated, kept as best and left in the student at the end. Real-data mode replaces the generator by
// shuffled real images. The two halves of an iteration (generator step, student step) live in step.ts.
// Rule: all randomness comes from one seeded Rng whose state is checkpointed, and every piece of state
// the next iteration reads is in the checkpoint — so a resumed run ends with the same weights.

import { join } from 'node:path';
import { Tensor, noGrad } from '../engine/tensor.js';
import { LrqError, NonFiniteError } from '../engine/errors.js';
import { Rng } from '../engine/random.js';
import type { GraphModule } from '../io/onnx/index.js';
import type { ImageDataset, Dataset } from '../io/datasets/index.js';
import { writeSafetensors } from '../io/safetensors.js';
import { JsonlLog } from '../io/jsonl.js';
import type { Generator } from '../models/generator.js';
import { WeightEma } from '../nn/optim/ema.js';
import { setCalibration } from '../quant/prepare.js';
import { dkdRamp } from './losses/dkd.js';
import { evaluate, type EvalResult } from './evaluate.js';
import type { QuantizeConfig } from './config.js';
import { Progress } from './progress.js';
import { type CheckpointState, CHECKPOINT_VERSION, flattenOptimizer, loadCheckpoint, prefixed, saveCheckpoint, unflattenOptimizer, unprefixed } from './checkpoint.js';
import { augmentBatch, gatherBatch } from './realdata.js';
import { cappedLr, probeStudentLrCap } from './lr_probe.js';
import { generatorStep, mixStudentBatch, stepParts, studentStep } from './step.js';
import { selectFrom, snapshotPath } from './select.js';
import { percent } from '../io/percent.js';
import { Interrupt, InterruptedError, yieldToSignals } from './interrupt.js';

export interface TrainParts {
  cfg: QuantizeConfig;
  teacher: GraphModule;
  student: GraphModule;
  /** The generator (null in real-data mode). */
  generator: Generator | null;
  /** Real images for real-data mode. */
  calibSet: ImageDataset | null;
  evalSet: Dataset | null;
  runDir: string;
  numClasses: number;
  progress: Progress;
  /** Ctrl-C / SIGTERM listener: when it has fired, the loop checkpoints after the current iteration and stops. */
  interrupt?: Interrupt;
}

export interface TrainResult {
  bestTop1: number | null;
  bestEpoch: number | null;
  finalEval: EvalResult | null;
  seconds: number;
}

/** Offset of the --mix-student streams (Rng(MIX_SEED + seed·1000003 + iteration)), apart from the epochs' shuffles. */
const MIX_SEED = 2 ** 40;

/** Learning-rate factor of the multi-step schedule: 0.1^(number of milestones s with epoch ≥ s). */
export function lrFactor(epoch: number, steps: readonly number[]): number {
  let f = 1;
  for (const s of steps) if (epoch >= s) f *= 0.1;
  return f;
}

/** Run (or resume) the training loop; writes checkpoints, log.jsonl, best and final student weights. */
export async function train(p: TrainParts): Promise<TrainResult> {
  const { cfg, teacher, student, generator, runDir } = p;
  const log = new JsonlLog(join(runDir, 'log.jsonl'));
  const rng = new Rng(cfg.seed);
  const parts = stepParts(cfg, teacher, student, generator, p.numClasses);
  const { optS, optG } = parts;
  const ema = cfg.emaDecay > 0 ? new WeightEma(student.namedParameters(), cfg.emaDecay) : null;
  /** Run fn with the weight average in the student when there is one (evaluations, saved students). */
  const averaged = <T>(fn: () => T): T => (ema ? ema.withAverage(fn) : fn());

  let start = { epoch: 0, iter: 0 };
  let bestTop1: number | null = null, bestEpoch: number | null = null;
  let elapsedBefore = 0;
  let sums: Record<string, number> = {};
  let count = 0;
  let lastCkpt = '(none yet)';
  /** This epoch's curvature cap on the student LR (null: not probed yet / off); checkpointed for a mid-epoch resume. */
  let lrCap: number | null = null;

  // Optimizer and EMA state: tensors go in the safetensors body, step counts, groups and the EMA's update
  // count in the JSON.
  let stateJson: Record<string, unknown> = {};
  const tensors = (): Map<string, Tensor> => {
    const fs = flattenOptimizer('optS.', optS.stateDict());
    const m = new Map<string, Tensor>([...prefixed('S.', student.stateDict()), ...fs.tensors]);
    stateJson = { optS: fs.json, lrCap };
    if (ema) {
      for (const [k, v] of prefixed('E.', ema.stateDict())) m.set(k, v);
      stateJson['emaCount'] = ema.count;
    }
    if (generator && optG) {
      const fg = flattenOptimizer('optG.', optG.stateDict());
      for (const [k, v] of prefixed('G.', generator.stateDict())) m.set(k, v);
      for (const [k, v] of fg.tensors) m.set(k, v);
      stateJson['optG'] = fg.json;
    }
    return m;
  };
  const t0 = Date.now();
  const checkpoint = (epoch: number, iter: number) => {
    const ts = tensors();
    const state: CheckpointState = {
      version: CHECKPOINT_VERSION, epoch, iter, rng: rng.state(), bestTop1, bestEpoch,
      logRecords: log.count(), elapsed: elapsedBefore + (Date.now() - t0) / 1000,
      extra: { sums, count, ...stateJson },
    };
    saveCheckpoint(runDir, ts, state);
    lastCkpt = `(after iteration ${epoch * cfg.itersPerEpoch + iter} of ${cfg.epochs * cfg.itersPerEpoch})`;
  };

  /**
   * At an iteration boundary: let pending signal handlers run; if one fired, write the checkpoint of
   * position (epoch, iter) — (e, itersPerEpoch) means the epoch's end work is pending — and stop.
   */
  const stopIfAsked = async (epoch: number, iter: number) => {
    await yieldToSignals();
    const sig = p.interrupt!.requested;
    if (!sig) return;
    checkpoint(epoch, iter);
    const done = epoch * cfg.itersPerEpoch + iter;
    throw new InterruptedError(`stopped by ${sig} after iteration ${done} of ${cfg.epochs * cfg.itersPerEpoch}; checkpoint written to ${runDir} — resume with: lrq quantize --model ${cfg.model} --out ${cfg.out} --resume`, sig);
  };

  if (cfg.resume) {
    const ck = loadCheckpoint(runDir);
    if (!ck) throw new LrqError(`${runDir}: --resume given but there is no checkpoint to resume from`);
    const st = ck.state;
    student.loadStateDict(unprefixed('S.', ck.tensors));
    optS.loadStateDict(unflattenOptimizer('optS.', ck.tensors, st.extra['optS']));
    if (ema) ema.loadStateDict(unprefixed('E.', ck.tensors), (st.extra['emaCount'] as number) ?? 0);
    if (generator && optG) {
      generator.loadStateDict(unprefixed('G.', ck.tensors));
      optG.loadStateDict(unflattenOptimizer('optG.', ck.tensors, st.extra['optG']));
    }
    rng.setState(st.rng as never);
    start = { epoch: st.epoch, iter: st.iter };
    bestTop1 = st.bestTop1;
    bestEpoch = st.bestEpoch;
    elapsedBefore = st.elapsed;
    sums = (st.extra['sums'] as Record<string, number>) ?? {};
    count = (st.extra['count'] as number) ?? 0;
    lrCap = (st.extra['lrCap'] as number | null | undefined) ?? null;
    log.truncate(st.logRecords);
    p.progress.message(`resuming ${runDir} at epoch ${st.epoch + 1}, iteration ${st.iter + 1}`);
  }

  let lastTop1: number | undefined = bestTop1 === null ? undefined : bestTop1 * 100;
  let finalEval: EvalResult | null = null;
  let perm: Int32Array | null = null;
  let globalIter = start.epoch * cfg.itersPerEpoch + start.iter;

  for (let epoch = start.epoch; epoch < cfg.epochs; epoch++) {
    const epochStart = Date.now();
    const f = lrFactor(epoch, cfg.lrSteps);
    const firstIter = epoch === start.epoch ? start.iter : 0;
    if (firstIter === 0) lrCap = null; // probed again on this epoch's first batch
    optS.setLr(cappedLr(cfg.lrS * f, lrCap));
    optG?.setLr(cfg.lrG * f);
    teacher.eval();
    student.eval(); // student BN uses the teacher's frozen running statistics (spec §1.3)
    generator?.train();
    setCalibration(student, epoch < cfg.calibEpochs);
    const trainStudent = epoch >= cfg.warmupEpochs;
    const ramp = dkdRamp(epoch, cfg.warmupEpochs, cfg.dkdWarmup);
    // The epoch's shuffle comes from its own seeded stream, so a mid-epoch resume sees the same order.
    if (p.calibSet) perm = new Rng(cfg.seed * 1000003 + epoch + 1).permutation(p.calibSet.size);
    if (firstIter === 0) { sums = {}; count = 0; }

    for (let it = firstIter; it < cfg.itersPerEpoch; it++) {
      try {
        iteration(epoch, it);
      } catch (e) {
        // A NaN/Inf loss, gradient or activation (observers throw it too): stop before the update.
        if (e instanceof NonFiniteError) throw new LrqError(`${e.message} at epoch ${epoch + 1}, iteration ${it + 1}; stopped before the update — last good checkpoint ${lastCkpt} in ${runDir} is intact (try a lower learning rate, then --resume)`);
        throw e;
      }
      globalIter++;
      if (globalIter % cfg.checkpointEvery === 0 && it + 1 < cfg.itersPerEpoch) checkpoint(epoch, it + 1);
      if (p.interrupt) await stopIfAsked(epoch, it + 1);
    }
    function iteration(epoch: number, it: number): void {
      const losses: Record<string, number> = {};
      let x: Tensor, y: Int32Array, t: Tensor;
      if (generator) {
        ({ x, y, t } = generatorStep(parts, rng, losses));
      } else {
        // --- real-data mode: a shuffled, augmented batch of real images; teacher logits as targets
        const ds = p.calibSet!;
        const n = cfg.batchSize;
        const base = (it * n) % ds.size;
        const idx = Array.from({ length: n }, (_, k) => perm![(base + k) % ds.size]!);
        const b = gatherBatch(ds, idx);
        x = augmentBatch(b.x, rng);
        y = b.y;
        t = noGrad(() => teacher.forward(x));
      }
      // --mix-student: its own stream per iteration (seeded by the iteration), so the run's Rng — and with it
      // the generator's trajectory — is the same with or without it, and a resumed run draws the same mixes.
      if (cfg.mixStudent > 0 && trainStudent) ({ x, y, t } = mixStudentBatch(parts, x, y, new Rng(MIX_SEED + cfg.seed * 1000003 + globalIter)));
      if (trainStudent && it === 0 && cfg.lrSCap === 'curvature') {
        const probe = probeStudentLrCap(parts, x, y, t, ramp, cfg.seed, epoch);
        lrCap = probe.cap;
        optS.setLr(cappedLr(cfg.lrS * f, lrCap));
        log.write({ type: 'lr-probe', epoch, lambda: probe.lambda, cap: probe.cap, lrS: optS.paramGroups[0]!.lr });
        if (probe.cap < cfg.lrS * f) p.progress.message(`epoch ${epoch + 1}: student loss curvature ${probe.lambda.toExponential(2)} — student LR ${(cfg.lrS * f).toExponential(2)} lowered to ${probe.cap.toExponential(2)} (half its stability limit)`);
      }
      // ranges move while calibrating; the student only updates after the generator warm-up
      studentStep(parts, x, y, t, ramp, trainStudent, losses);
      if (trainStudent) ema?.update();
      for (const [k, v] of Object.entries(losses)) sums[k] = (sums[k] ?? 0) + v;
      count++;
      if (it % 10 === 0 || it === cfg.itersPerEpoch - 1) log.write({ type: 'iter', epoch, iter: it, ...losses });
      p.progress.update({ epoch, epochs: cfg.epochs, iter: it, iters: cfg.itersPerEpoch, losses, lastTop1 });
    }

    // --- end of epoch: freeze ranges, evaluate, keep the best
    setCalibration(student, false);
    const means = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, count)]));
    let top1: number | undefined;
    const evalSet = p.evalSet;
    if (evalSet) {
      finalEval = p.progress.evaluation(() => averaged(() => evaluate(student, evalSet)));
      top1 = finalEval.top1;
      lastTop1 = top1 * 100;
      if (bestTop1 === null || top1 > bestTop1) {
        bestTop1 = top1;
        bestEpoch = epoch;
        averaged(() => writeSafetensors(join(runDir, 'student.best.safetensors'), student.stateDict(), { epoch: String(epoch), top1: String(top1) }));
      }
    }
    // --select synth-kl chooses among these at the end; written before the epoch's checkpoint, so a resumed
    // run has every snapshot of the epochs it skips.
    if (cfg.select !== 'final' && epoch >= selectFrom(cfg)) {
      averaged(() => writeSafetensors(snapshotPath(runDir, epoch), student.stateDict(), { epoch: String(epoch) }));
    }
    const seconds = (Date.now() - epochStart) / 1000;
    log.write({ type: 'epoch', epoch, ...means, top1: percent(top1), lrS: optS.paramGroups[0]!.lr, lrG: optG?.paramGroups[0]!.lr ?? null, seconds });
    p.progress.epochLine({ epoch, epochs: cfg.epochs, iter: cfg.itersPerEpoch - 1, iters: cfg.itersPerEpoch, losses: means, lastTop1 }, seconds);
    checkpoint(epoch + 1, 0);
    if (p.interrupt) await stopIfAsked(epoch + 1, 0);
  }
  ema?.apply(); // the average is the student from here on (saved, evaluated, exported)
  return { bestTop1, bestEpoch, finalEval, seconds: elapsedBefore + (Date.now() - t0) / 1000 };
}
