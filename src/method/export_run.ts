// End-of-run export: save the final student's ExportSpec into the run directory, write its ONNX forms
// (through `lrq export`'s handler, so both paths produce identical files), and measure each form in
// onnxruntime: top-1 on the eval set when one is given, latency at batch 1 and 64 against the FP32
// original. Rule: onnxruntime's numbers are reported as measured, never replaced by ours; the file to
// deploy is the fastest form that is not slower than FP32, else the smallest — and the summary says why.

import { basename, join } from 'node:path';
import type { GraphModule } from '../io/onnx/index.js';
import type { Dataset, Normalization } from '../io/datasets/index.js';
import { ortEvaluate, ortLatency } from '../io/onnx/ort.js';
import { writeExportSpec } from '../report/run_dir.js';
import { runExport } from '../cli/commands/export.js';
import type { QuantizeConfig } from './config.js';
import { buildExportSpec } from './artifacts.js';
import { pct } from '../io/percent.js';

export interface ExportRunOptions {
  teacherPath: string;
  student: GraphModule;
  normalization: Normalization;
  cfg: QuantizeConfig;
  /** Eval set to score the exported models on in onnxruntime (optional). */
  evalSet?: Dataset | null;
  /** Measure onnxruntime latency of each form against FP32 (default true). */
  latency?: boolean;
}

/** One exported file as measured in onnxruntime. */
export interface ExportedForm {
  file: string;
  form: string;
  /** What the form is for: 'speed' (integer kernels), 'size' (packed low-bit storage) or 'check' (float emulation). */
  purpose: 'speed' | 'size' | 'check';
  bytes: number;
  top1: number | null;
  /** Median onnxruntime latency (ms, 2 threads) at batch 1 and 64, and FP32's in the same invocation. */
  ms1: number | null;
  ms64: number | null;
  fp32Ms1: number | null;
  fp32Ms64: number | null;
  /** Conv/Gemm nodes onnxruntime still runs in float (deploy form), by name. */
  floatLayers?: string[];
  /** Integer kernels onnxruntime runs (deploy form): op type → count. */
  kernels?: Record<string, number>;
}

export interface ExportRunResult {
  files: string[];
  forms: ExportedForm[];
  /** The file to deploy and why. */
  deploy: { file: string; why: string } | null;
  /** onnxruntime top-1 (percent) of the main export (int8 for deploy runs, qdq otherwise), when an eval set was given. */
  ortTop1: number | null;
  qdqBytes: number;
  fp32Bytes: number;
}

const PURPOSE: Record<string, ExportedForm['purpose']> = { int8: 'speed', qdq: 'size', qdq8: 'size', 'fakequant-fp32': 'check', emulate: 'check' };

/** Write export_spec.* and the scheme's ONNX forms into runDir; score and time each in onnxruntime. */
export async function exportRun(runDir: string, o: ExportRunOptions): Promise<ExportRunResult> {
  const metadata: Record<string, string> = {
    normalize_mean: o.normalization.mean.join(','),
    normalize_std: o.normalization.std.join(','),
    'lrq.method': o.cfg.method,
    'lrq.wbits': String(o.cfg.wbits),
    'lrq.abits': String(o.cfg.abits),
    'lrq.scheme': o.cfg.scheme ?? 'paper',
  };
  writeExportSpec(runDir, o.teacherPath, buildExportSpec(o.student, metadata));
  const results = await runExport({ run: runDir, print: false });
  const main = results.find((r) => r.form === 'int8') ?? results.find((r) => r.form === 'qdq')!;
  const shape = o.student.inputShape.slice(1).map((d) => d ?? 1);
  const timed = o.latency !== false;
  const fp1 = timed ? (await ortLatency(o.teacherPath, shape, 1)).medianMs : null;
  const fp64 = timed ? (await ortLatency(o.teacherPath, shape, 64, { runs: 15 })).medianMs : null;
  const forms: ExportedForm[] = [];
  for (const r of results) {
    const top1 = o.evalSet ? pct((await ortEvaluate(r.path, o.evalSet, {})).top1) : null;
    forms.push({
      file: basename(r.path), form: r.form, purpose: PURPOSE[r.form] ?? 'check', bytes: r.fileBytes, top1,
      ms1: timed ? round2((await ortLatency(r.path, shape, 1)).medianMs) : null,
      ms64: timed ? round2((await ortLatency(r.path, shape, 64, { runs: 15 })).medianMs) : null,
      fp32Ms1: fp1 === null ? null : round2(fp1), fp32Ms64: fp64 === null ? null : round2(fp64),
      ...(r.fusion ? { floatLayers: r.fusion.floatLayers, kernels: Object.fromEntries(Object.entries(r.fusion.ops).filter(([op]) => op.startsWith('QLinear') || op === 'QGemm')) } : {}),
    });
  }
  return {
    files: results.map((r) => r.path), forms, deploy: chooseDeploy(forms),
    ortTop1: forms.find((f) => f.file === basename(main.path))?.top1 ?? null,
    qdqBytes: main.size.quantizedModelBytes, fp32Bytes: main.size.fp32Bytes,
  };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** The form to deploy: the fastest at batch 64 that beats FP32, else the smallest file (said so). */
export function chooseDeploy(forms: ExportedForm[]): { file: string; why: string } | null {
  if (forms.length === 0) return null;
  const fast = forms.filter((f) => f.ms64 !== null && f.fp32Ms64 !== null && f.ms64 < f.fp32Ms64).sort((a, b) => a.ms64! - b.ms64!);
  if (fast.length) {
    const f = fast[0]!;
    return { file: f.file, why: `${(f.fp32Ms64! / f.ms64!).toFixed(2)}× faster than FP32 at batch 64 in onnxruntime, ${(f.bytes / 1024).toFixed(0)} KiB` };
  }
  const small = [...forms].sort((a, b) => a.bytes - b.bytes)[0]!;
  const untimed = small.ms64 === null;
  return { file: small.file, why: untimed ? 'smallest file (latency not measured)' : 'smallest file; no form runs faster than FP32 in onnxruntime (quantize with --scheme deploy for one that does)' };
}

/** Default export file of a run directory. */
export function qdqPath(runDir: string): string {
  return join(runDir, 'model.qdq.onnx');
}
