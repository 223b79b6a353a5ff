// quantize(): the whole job behind `lrq quantize` and the library API — load the teacher, build the
// fake-quantized student and the generator, train (or resume), evaluate FP vs quantized, save the
// student, export ONNX, write the report. Rule: every output is written atomically into the run
// directory, and a run directory holding someone else's checkpoint is never silently overwritten.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LrqError } from '../engine/errors.js';
import { backend } from '../engine/backend.js';
import { Rng } from '../engine/random.js';
import { loadOnnx, type GraphModule } from '../io/onnx/index.js';
import { resolveNormalization, type Normalization, type ImageDataset } from '../io/datasets/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { writeSafetensors } from '../io/safetensors.js';
import { Generator } from '../models/generator.js';
import { prepareQat } from '../quant/prepare.js';
import { writeRunJson, writeSynth } from '../report/run_dir.js';
import { evalFile, layerRecords, sampleSynth } from './artifacts.js';
import { type ExportedForm, exportRun } from './export_run.js';
import { makeQConfig } from '../quant/qconfig.js';
import type { Linear } from '../nn/layers/index.js';
import { type QuantizeConfig, DEFAULT_PRESET, resolveConfig } from './config.js';
import { acquireRunLock, removeIfEmpty, type LockInfo } from './run_lock.js';
import { Interrupt, InterruptedError, yieldToSignals } from './interrupt.js';
import { fileSha256, resumeConfig, type SavedConfig } from './resume.js';
import { checkpointPath } from './checkpoint.js';
import { openDataset } from './data.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { Progress } from './progress.js';
import { train } from './train.js';
import { reconRun } from './recon/run.js';
import { selectFrom, selectSnapshot, selectionSet, SELECT_SEED_OFFSET, type SnapshotScore } from './select.js';
import { JsonlLog } from '../io/jsonl.js';
import { percent } from '../io/percent.js';

export interface QuantizeSummary {
  runDir: string;
  method: string;
  wbits: number;
  abits: number;
  fpTop1: number | null;
  quantTop1: number | null;
  quantTop5: number | null;
  bestTop1: number | null;
  bestEpoch: number | null;
  /** 0-based epoch of the kept student under --select synth-kl (null: the final one). */
  selectedEpoch: number | null;
  drop: number | null;
  trainSeconds: number;
  wallSeconds: number;
  backend: string;
  threads: number;
  exported: string[];
  /** onnxruntime top-1 (percent) of the main export (model.int8.onnx in the deploy scheme, else model.qdq.onnx) on the eval set. */
  ortTop1: number | null;
  /** Quantization scheme of the run. */
  scheme: string;
  /** Each exported file: form, size, onnxruntime top-1 and latency against FP32. */
  exports: ExportedForm[];
  /** The file to deploy and why. */
  deploy: { file: string; why: string } | null;
  name: string;
  model: string;
  epochs: number;
  itersPerEpoch: number;
  seconds: number;
  startedAt: string;
  finishedAt: string;
}

export type QuantizeOptions = Partial<QuantizeConfig> & { model: string; out: string; preset?: 'paper' | 'fast' };

/** Model facts the run needs: input size and channels, class count, normalization. */
export function describeTeacher(teacher: GraphModule, cfg: Pick<QuantizeConfig, 'mean' | 'std' | 'model'>): { channels: number; size: [number, number]; numClasses: number; normalization: Normalization } {
  const s = teacher.inputShape;
  if (s.length !== 4 || s[1] === null || s[2] === null || s[3] === null) {
    throw new LrqError(`${cfg.model}: expected an NCHW image input with static C, H, W; got [${s.map((d) => d ?? '?').join(', ')}]`);
  }
  if (!teacher.classifierPath) throw new LrqError(`${cfg.model}: no classifier (final Gemm/MatMul with a constant weight) found`);
  const fc = teacher.getSubmodule(teacher.classifierPath) as Linear;
  const numClasses = fc.weight.shape[0]!;
  const channels = s[1];
  const normalization = resolveNormalization(teacher.metadata, cfg.mean && cfg.std ? { mean: cfg.mean, std: cfg.std } : null, channels); // one mean/std per input channel
  return { channels, size: [s[2], s[3]], numClasses, normalization };
}

/**
 * --select synth-kl: score every saved epoch-end student by mean KL(teacher ‖ student) on a fixed set from
 * the final generator (real-data mode: the calibration images) and leave the lowest loaded; logged.
 */
function selectStudent(cfg: QuantizeConfig, teacher: GraphModule, student: GraphModule, generator: Generator | null, calibSet: ImageDataset | null, numClasses: number, runDir: string, progress: Progress): { scores: SnapshotScore[]; best: SnapshotScore } {
  const source = generator ? { generator, numClasses, latentDim: cfg.latentDim } : { real: calibSet! };
  const set = selectionSet(teacher, source, cfg.selectImages, cfg.seed + SELECT_SEED_OFFSET);
  const first = selectFrom(cfg);
  const epochs = Array.from({ length: cfg.epochs - first }, (_, i) => first + i);
  const { scores, best } = selectSnapshot(student, runDir, epochs, set, cfg.selectTemperature);
  const last = scores[scores.length - 1]!;
  new JsonlLog(join(runDir, 'log.jsonl')).write({ type: 'select', images: set.n, source: generator ? 'generator-mixed' : 'calib-data', temperature: cfg.selectTemperature, epoch: best.epoch, kl: best.kl, scores });
  const what = generator ? 'pair-mixed generated' : 'calibration';
  progress.message(`selected the student of epoch ${best.epoch + 1}: KL(teacher‖student) at T=${cfg.selectTemperature} ${best.kl.toFixed(5)} on ${set.n} ${what} images (final epoch ${last.epoch + 1}: ${last.kl.toFixed(5)})`);
  return { scores, best };
}

/** Run the whole quantization job described by `opts` (see QuantizeConfig) and return its summary. */
export async function quantize(opts: QuantizeOptions): Promise<QuantizeSummary> {
  const runDir = resolve(opts.out);
  if (!opts.resume) resolveConfig(opts); // bad options are reported before the run directory is touched (a resume's: against its config.json)
  const created = !existsSync(runDir);
  mkdirSync(runDir, { recursive: true });
  const lock = acquireRunLock(runDir); // one process per run directory, taken before anything in it is read
  const interrupt = new Interrupt((m) => process.stderr.write(`\nlrq: ${m}\n`)).install();
  try {
    return await quantizeLocked(opts, runDir, interrupt, lock.tookOver);
  } finally {
    interrupt.uninstall();
    lock.release();
    if (created) removeIfEmpty(runDir); // a run that failed before writing anything leaves nothing behind
  }
}

async function quantizeLocked(opts: QuantizeOptions, runDir: string, interrupt: Interrupt, tookOver: LockInfo | null): Promise<QuantizeSummary> {
  const wall0 = Date.now();
  let cfg: QuantizeConfig;
  const cfgPath = join(runDir, 'config.json');
  if (opts.resume) {
    if (!existsSync(cfgPath)) throw new LrqError(`${runDir}: --resume given but the directory holds no run (config.json missing)`);
    const saved = JSON.parse(readFileSync(cfgPath, 'utf8')) as SavedConfig;
    cfg = resumeConfig(runDir, saved, opts);
  } else {
    cfg = resolveConfig(opts);
    if (existsSync(checkpointPath(runDir))) throw new LrqError(`${runDir} already holds a run with a checkpoint; pass --resume to continue it or choose another --out`);
  }
  const progress = new Progress(process.stderr, cfg.progress);
  if (tookOver) progress.message(`lrq: took over the lock of process ${tookOver.pid} (started ${tookOver.startedAt}), which is no longer running`);
  /** Stop between phases when a signal came (the loop itself checks after every iteration). */
  const checkInterrupt = async (phase: string) => {
    await yieldToSignals();
    if (!interrupt.requested) return;
    const ck = existsSync(checkpointPath(runDir));
    throw new InterruptedError(ck
      ? `stopped by ${interrupt.requested} ${phase}; the last checkpoint in ${runDir} is intact — resume with: lrq quantize --model ${cfg.model} --out ${cfg.out} --resume`
      : `stopped by ${interrupt.requested} ${phase}, before the first checkpoint; nothing to resume — run the same command again`, interrupt.requested);
  };

  // Read and check every input before the run directory is touched: a bad --model or --eval-data leaves nothing behind.
  const teacher = loadOnnx(cfg.model);
  const info = describeTeacher(teacher, cfg);
  // --eval-limit takes images spread over the whole file (test sets are often stored class by class).
  const evalSet = cfg.evalData ? openDataset(cfg.evalData, { normalization: info.normalization, size: info.size, channels: info.channels, numClasses: info.numClasses }).spread(cfg.evalLimit) : null;
  const calibSet: ImageDataset | null = cfg.calibData ? openDataset(cfg.calibData, { normalization: info.normalization, size: info.size, channels: info.channels, numClasses: info.numClasses }) : null;
  if (!cfg.resume) writeFileAtomic(cfgPath, JSON.stringify({ ...cfg, resume: false, preset: opts.preset ?? DEFAULT_PRESET, modelSha256: fileSha256(cfg.model) }, null, 2) + '\n');
  progress.message(`lrq: ${cfg.method}${calibSet ? ' (real-data mode)' : ''} W${cfg.wbits}A${cfg.abits}, ${cfg.epochs}×${cfg.itersPerEpoch} iterations at batch ${cfg.batchSize}, backend ${backend().name} (${backend().threads()} threads) → ${runDir}`);

  let fpEval: EvalResult | null = null;
  if (evalSet) {
    fpEval = progress.evaluation(() => evaluate(teacher, evalSet, {})); // its time prices the per-epoch evaluations in the first ETA
    progress.message(`full-precision top-1 ${(fpEval.top1 * 100).toFixed(2)}% on ${fpEval.n} images`);
  }

  const student = loadOnnx(cfg.model);
  // the normalization is known here (metadata, --mean/--std or the default): the deploy scheme fixes the input quantizer to its pixel range
  prepareQat(student, makeQConfig({ weightBits: cfg.wbits, actBits: cfg.abits, rangeMode: cfg.rangeMode, firstLastBits: cfg.firstLast8bit ? 8 : 'same', scheme: cfg.scheme ?? 'paper', normalization: info.normalization }));
  const generator = calibSet ? null : new Generator({
    numClasses: info.numClasses, latentDim: cfg.latentDim, imgSize: info.size[0], channels: info.channels,
    lkaPositions: cfg.lkaPositions, lkaForm: cfg.lkaForm, lkaResidual: cfg.lkaResidual, rng: new Rng(cfg.seed + 7919),
  });

  await checkInterrupt('before training');
  const parts = { cfg, teacher, student, generator, calibSet, evalSet, runDir, numClasses: info.numClasses, progress, interrupt };
  const res = cfg.method === 'lrq-recon' ? await reconRun(parts) : await train(parts);
  await checkInterrupt('after training');
  const selection = cfg.select === 'synth-kl' ? selectStudent(cfg, teacher, student, generator, calibSet, info.numClasses, runDir, progress) : null;
  // The loop's last evaluation is of the final epoch's student; another selected epoch is evaluated anew.
  const lastEval = selection && selection.best.epoch !== cfg.epochs - 1 ? null : res.finalEval;

  // Final weights and evaluation (the final or data-free-selected student, never the best epoch on the test set: that would flatter it).
  writeSafetensors(join(runDir, 'student.safetensors'), student.stateDict(), { lrq: 'student', wbits: String(cfg.wbits), abits: String(cfg.abits) });
  if (generator) writeSafetensors(join(runDir, 'generator.safetensors'), generator.stateDict(), { lrq: 'generator' });
  const qEval = evalSet ? (lastEval ?? evaluate(student, evalSet, {})) : null;
  writeRunJson(runDir, 'layers.json', layerRecords(student));
  if (fpEval && qEval) writeRunJson(runDir, 'eval.json', evalFile(cfg.evalData ?? '', fpEval, qEval, evalSet?.classNames ? [...evalSet.classNames] : undefined));
  if (generator) writeSynth(runDir, sampleSynth(generator, info.numClasses, 8, cfg.latentDim, cfg.seed + 1, info.normalization));

  await checkInterrupt('before the export');
  const exported: string[] = [];
  let ortTop1: number | null = null;
  let exports: ExportedForm[] = [];
  let deploy: QuantizeSummary['deploy'] = null;
  if (cfg.export) {
    const ex = await exportRun(runDir, { teacherPath: cfg.model, student, normalization: info.normalization, cfg, evalSet });
    exported.push(...ex.files);
    ortTop1 = ex.ortTop1;
    exports = ex.forms;
    deploy = ex.deploy;
    for (const f of ex.forms) {
      const speed = f.ms64 !== null && f.fp32Ms64 !== null ? `, ${f.ms64} ms vs FP32 ${f.fp32Ms64} ms at batch 64 (${(f.fp32Ms64 / f.ms64).toFixed(2)}×)` : '';
      progress.message(`exported ${f.file} [${f.form}, for ${f.purpose}]: ${(f.bytes / 1024).toFixed(0)} KiB${speed}${f.top1 !== null ? `, onnxruntime top-1 ${f.top1.toFixed(2)}%` : ''}`);
      if (f.floatLayers?.length) progress.message(`  onnxruntime still runs ${f.floatLayers.length} layer(s) in float: ${f.floatLayers.slice(0, 8).join(', ')}${f.floatLayers.length > 8 ? ', …' : ''}`);
    }
    if (deploy) progress.message(`deploy: ${deploy.file} — ${deploy.why}`);
  }
  const summary: QuantizeSummary = {
    runDir, method: cfg.method, wbits: cfg.wbits, abits: cfg.abits,
    fpTop1: percent(fpEval?.top1),
    quantTop1: percent(qEval?.top1),
    quantTop5: percent(qEval?.top5),
    bestTop1: percent(res.bestTop1),
    bestEpoch: res.bestEpoch,
    selectedEpoch: selection ? selection.best.epoch : null,
    drop: fpEval && qEval ? percent(fpEval.top1 - qEval.top1) : null,
    trainSeconds: res.seconds,
    wallSeconds: (Date.now() - wall0) / 1000,
    backend: backend().name,
    threads: backend().threads(),
    exported,
    ortTop1,
    scheme: cfg.scheme ?? 'paper',
    exports,
    deploy,
    // fields of the report's SummaryFile
    name: basename(runDir), model: cfg.model, epochs: cfg.epochs, itersPerEpoch: cfg.itersPerEpoch,
    seconds: (Date.now() - wall0) / 1000, startedAt: new Date(wall0).toISOString(), finishedAt: new Date().toISOString(),
  };
  writeRunJson(runDir, 'summary.json', summary);
  if (cfg.report) {
    const { writeReport } = await import('../report/index.js');
    await writeReport(runDir);
  }
  return summary;
}
